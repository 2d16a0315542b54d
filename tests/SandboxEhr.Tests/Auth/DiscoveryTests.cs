using System.Net;
using System.Text.Json;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Auth;

/// <summary>Discovery documents, only read: the tests share one sandbox.</summary>
public sealed class DiscoveryTests(SharedSandbox sandbox) : IClassFixture<SharedSandbox>
{
    private readonly SandboxApp app = sandbox.App;

    [Fact]
    public async Task Smart_configuration_at_the_fhir_base_advertises_the_endpoints_and_the_capabilities_the_sandbox_has()
    {
        var config = await GetJsonAsync("/fhir/.well-known/smart-configuration");

        Assert.Equal(SandboxApp.TestBase, config.GetProperty("issuer").GetString());
        Assert.Equal($"{SandboxApp.TestBase}/auth/authorize", config.GetProperty("authorization_endpoint").GetString());
        Assert.Equal($"{SandboxApp.TestBase}/auth/token", config.GetProperty("token_endpoint").GetString());
        Assert.Equal($"{SandboxApp.TestBase}/auth/register", config.GetProperty("registration_endpoint").GetString());
        Assert.Equal($"{SandboxApp.TestBase}/.well-known/jwks.json", config.GetProperty("jwks_uri").GetString());
        Assert.Equal(["S256"], Strings(config, "code_challenge_methods_supported"));
        Assert.Equal(["RS384", "ES384"], Strings(config, "token_endpoint_auth_signing_alg_values_supported"));
        Assert.Contains("private_key_jwt", Strings(config, "token_endpoint_auth_methods_supported"));
        Assert.Contains("client_credentials", Strings(config, "grant_types_supported"));
        var capabilities = Strings(config, "capabilities");
        foreach (var capability in new[] { "launch-ehr", "launch-standalone", "client-confidential-asymmetric", "sso-openid-connect", "context-ehr-patient", "context-passthrough-banner", "context-passthrough-style", "permission-v2", "permission-v1", "permission-offline" })
        {
            Assert.Contains(capability, capabilities);
        }

        Assert.DoesNotContain("smart-app-state", capabilities);
    }

    [Fact]
    public async Task Openid_configuration_and_jwks_are_at_the_issuer_and_the_jwks_holds_no_private_key()
    {
        var config = await GetJsonAsync("/.well-known/openid-configuration");
        var jwks = await GetJsonAsync("/.well-known/jwks.json");

        Assert.Equal(SandboxApp.TestBase, config.GetProperty("issuer").GetString());
        Assert.Contains("form_post", Strings(config, "response_modes_supported"));
        Assert.Equal($"{SandboxApp.TestBase}/auth/end-session", config.GetProperty("end_session_endpoint").GetString());
        var key = Assert.Single(jwks.GetProperty("keys").EnumerateArray());
        Assert.Equal("RSA", key.GetProperty("kty").GetString());
        Assert.False(key.TryGetProperty("d", out _));
        Assert.False(key.TryGetProperty("p", out _));
    }

    [Fact]
    public async Task Discovery_can_be_read_from_a_browser_app_on_another_origin()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/fhir/.well-known/smart-configuration");
        request.Headers.Add("Origin", "http://127.0.0.1:5200");

        using var response = await app.CreateClient().SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var client = app.CreateClient();
        return JsonDocument.Parse(await client.GetStringAsync(path, TestContext.Current.CancellationToken)).RootElement.Clone();
    }

    private static string[] Strings(JsonElement element, string name) =>
        [.. element.GetProperty(name).EnumerateArray().Select(e => e.GetString()!)];
}

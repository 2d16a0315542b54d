using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SandboxEhr.Data;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Auth;

/// <summary>RFC 7591 dynamic client registration, advertised as registration_endpoint.</summary>
public sealed class RegistrationTests() : SandboxFlowTests
{
    [Fact]
    public async Task A_registered_client_gets_a_client_id_its_launch_button_and_can_complete_an_ehr_launch()
    {
        using var key = ClientKey.EcP384("new-app-1");
        App.Jwks.Serve("http://127.0.0.1:5300/jwks.json", ClientKey.JwksJson(key));

        using var response = await new Registrar(App).RegisterAsync(launchUri: "http://127.0.0.1:5300/launch", jwksUri: "http://127.0.0.1:5300/jwks.json");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        var clientId = body.GetProperty("client_id").GetString()!;
        Assert.Equal("private_key_jwt", body.GetProperty("token_endpoint_auth_method").GetString());
        Assert.Equal("http://127.0.0.1:5300/launch", body.GetProperty("launch_uri").GetString());
        Assert.False(body.TryGetProperty("client_secret", out _));

        await Flow.SignInToEhrAsync();
        var chart = await Flow.Browser.GetStringAsync($"/ehr/patients/{SyntheticIds.RunnerPatient}", TestContext.Current.CancellationToken);
        Assert.Contains("Massage tracker", chart, StringComparison.Ordinal);
        var launchUrl = await Flow.PressLaunchButtonAsync(SyntheticIds.RunnerPatient, clientId);
        Assert.StartsWith("http://127.0.0.1:5300/launch?iss=", launchUrl.ToString(), StringComparison.Ordinal);
        var launch = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(launchUrl.Query)["launch"].ToString();
        var pkce = Pkce.Create();
        using var authorize = await Flow.AuthorizeAsync(SmartFlow.AuthorizeParameters(pkce, "launch openid fhirUser patient/Observation.rs", launch, clientId, "http://127.0.0.1:5300/callback"));
        var code = SmartFlow.RedirectParameters(authorize, "http://127.0.0.1:5300/callback")["code"];

        var (status, tokens, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, key, "http://127.0.0.1:5300/callback", clientId);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(SyntheticIds.RunnerPatient, tokens.GetProperty("patient").GetString());
    }

    [Fact]
    public async Task A_client_registered_with_its_jwks_inline_can_authenticate_with_it()
    {
        using var key = ClientKey.Rsa("inline-1");
        var metadata = new Dictionary<string, object>
        {
            ["client_name"] = "Backend with inline keys",
            ["grant_types"] = new[] { "client_credentials" },
            ["token_endpoint_auth_method"] = "private_key_jwt",
            ["jwks"] = JsonDocument.Parse(ClientKey.JwksJson(key)).RootElement,
            ["scope"] = "system/Observation.rs",
        };
        using var response = await App.CreateClient().PostAsJsonAsync("/auth/register", metadata, TestContext.Current.CancellationToken);
        var clientId = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("client_id").GetString()!;

        var (status, body, _) = await Flow.TokenAsync(
            ("grant_type", "client_credentials"),
            ("scope", "system/Observation.rs"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", key.Assertion(clientId, App.TokenEndpoint, App.Time.GetUtcNow())));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("system/Observation.rs", body.GetProperty("scope").GetString());
        Assert.Equal(0, App.Jwks.Fetches);
    }

    [Fact]
    public async Task A_client_registered_without_a_method_gets_a_secret_for_client_secret_basic()
    {
        using var response = await new Registrar(App).RegisterAsync(method: null);

        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("client_secret_basic", body.GetProperty("token_endpoint_auth_method").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("client_secret").GetString()));
        Assert.Equal(0, body.GetProperty("client_secret_expires_at").GetInt64());
    }

    [Theory]
    [InlineData("""{"client_name":"No redirect","token_endpoint_auth_method":"none"}""", "invalid_redirect_uri")]
    [InlineData("""{"redirect_uris":["not a uri"],"token_endpoint_auth_method":"none"}""", "invalid_redirect_uri")]
    [InlineData("""{"redirect_uris":["http://127.0.0.1:5300/cb#frag"],"token_endpoint_auth_method":"none"}""", "invalid_redirect_uri")]
    [InlineData("""{"redirect_uris":["http://127.0.0.1:5300/cb"],"token_endpoint_auth_method":"tls_client_auth"}""", "invalid_client_metadata")]
    [InlineData("""{"redirect_uris":["http://127.0.0.1:5300/cb"],"token_endpoint_auth_method":"private_key_jwt"}""", "invalid_client_metadata")]
    [InlineData("""{"redirect_uris":["http://127.0.0.1:5300/cb"],"grant_types":["implicit"]}""", "invalid_client_metadata")]
    [InlineData("""{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}""", "invalid_client_metadata")]
    [InlineData("""not json""", "invalid_client_metadata")]
    public async Task Bad_client_metadata_is_refused_per_rfc_7591(string json, string error)
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await App.CreateClient().PostAsync("/auth/register", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error").GetString());
    }

    /// <summary>Registers an app with the SMART metadata the tests need.</summary>
    public sealed class Registrar(SandboxApp app)
    {
        public async Task<HttpResponseMessage> RegisterAsync(string? launchUri = null, string? jwksUri = "http://127.0.0.1:5300/jwks.json", string? method = "private_key_jwt")
        {
            var metadata = new Dictionary<string, object>
            {
                ["client_name"] = "Massage tracker",
                ["redirect_uris"] = new[] { "http://127.0.0.1:5300/callback" },
                ["grant_types"] = new[] { "authorization_code", "refresh_token" },
                ["scope"] = "openid fhirUser launch launch/patient patient/*.rs user/*.rs",
            };
            if (method is not null)
            {
                metadata["token_endpoint_auth_method"] = method;
            }

            if (method == "private_key_jwt" && jwksUri is not null)
            {
                metadata["jwks_uri"] = jwksUri;
            }

            if (launchUri is not null)
            {
                metadata["launch_uri"] = launchUri;
            }

            using var client = app.CreateClient();
            return await client.PostAsJsonAsync("/auth/register", metadata, TestContext.Current.CancellationToken);
        }
    }
}

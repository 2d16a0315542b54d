using System.Net;
using System.Text.Json.Nodes;
using Referral.Model.Signing;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Security;

/// <summary>
/// The functions app trusts only the smart-app's API-signing key for physician tokens (its <c>/.well-known/api-jwks.json</c>):
/// a token signed with one of the smart-app's client assertion keys, valid signature, right iss and aud, is refused.
/// Against the smart-app's real (development) keys, as the harness publishes them.
/// </summary>
public sealed class ApiKeyTrustTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("rs384-current", PublicJwk.Rs384, HttpStatusCode.Unauthorized)]
    [InlineData("es384-current", PublicJwk.Es384, HttpStatusCode.Unauthorized)]
    [InlineData("rs384-next", PublicJwk.Rs384, HttpStatusCode.Unauthorized)]
    [InlineData("api-es384-current", PublicJwk.Es384, HttpStatusCode.OK)]
    public async Task A_physician_token_is_accepted_only_when_signed_with_the_API_key_never_with_a_client_assertion_key(string keyFile, string algorithm, HttpStatusCode expected)
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        using var key = LocalSigningKey.FromPem(algorithm, await File.ReadAllTextAsync(Path.Combine(SmartAppHarness.KeyDirectory, keyFile + ".pem"), Ct));
        var now = harness.Time.GetUtcNow().ToUnixTimeSeconds();
        var token = await Jwt.SignAsync(key, new Dictionary<string, object>
        {
            ["iss"] = SmartAppHarness.AppBase,
            ["aud"] = "medical-massage-functions",
            ["sub"] = $"{ehr.FhirBase}/Practitioner/dr-lee",
            ["fhirUser"] = $"{ehr.FhirBase}/Practitioner/dr-lee",
            ["ehr"] = ehr.FhirBase,
            ["patient"] = "pat-1",
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 300,
            ["jti"] = Guid.NewGuid().ToString("N"),
        }, Ct);

        using var client = harness.Functions.ClientWith(token);
        using var response = await client.GetAsync(new Uri("/api/fhir/ServiceRequest?patient=Patient/pat-1", UriKind.Relative), Ct);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.Unauthorized)
        {
            Assert.Equal("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString().Split(',')[0]);
        }
    }

    [Fact]
    public async Task The_EHR_facing_JWKS_holds_only_client_assertion_keys_and_the_API_JWKS_only_the_API_key()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        static async Task<string[]> KidsAsync(HttpClient client, string path) =>
            [.. JsonNode.Parse(await client.GetStringAsync(new Uri(path, UriKind.Relative), Ct))!["keys"]!.AsArray().Select(k => (string)k!["kid"]!)];
        var client = await KidsAsync(browser, "/.well-known/jwks.json");
        var api = await KidsAsync(browser, "/.well-known/api-jwks.json");

        Assert.Equal(4, client.Length);
        Assert.Equal(2, api.Length);
        Assert.Empty(client.Intersect(api));
    }
}

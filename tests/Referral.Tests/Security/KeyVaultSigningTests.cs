using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Model.Signing;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Security;

/// <summary>
/// Issue 9, item 2: in Azure the smart-app's keys are in Key Vault and never leave it. Against a WireMock Key Vault
/// holding real private keys, the app publishes the vault's key versions, signs through the vault's sign operation,
/// follows a rotation without a restart, and fails clearly (not by hanging) when the vault refuses or is slow.
/// </summary>
public sealed class KeyVaultSigningTests : IDisposable
{
    private const string ClientRsa = "smart-app-client-rs384";
    private const string ClientEc = "smart-app-client-es384";
    private const string Api = "smart-app-api-es384";

    private static readonly JsonWebTokenHandler Handler = new();

    private readonly FakeKeyVault vault = new();
    private readonly FakeKeyVault.Version clientRsa;
    private readonly FakeKeyVault.Version clientEc;
    private readonly FakeKeyVault.Version api;

    public KeyVaultSigningTests()
    {
        clientRsa = vault.AddVersion(ClientRsa, "RSA", TimeSpan.FromDays(200));
        clientEc = vault.AddVersion(ClientEc, "EC", TimeSpan.FromDays(200));
        api = vault.AddVersion(Api, "EC", TimeSpan.FromDays(200));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_JWKS_lists_every_enabled_unexpired_vault_key_version_with_its_thumbprint_as_kid_and_no_private_part()
    {
        var next = vault.AddVersion(ClientRsa, "RSA", TimeSpan.FromHours(1));
        var disabled = vault.AddVersion(ClientRsa, "RSA", TimeSpan.FromDays(300), enabled: false);
        var expired = vault.AddVersion(ClientEc, "EC", TimeSpan.FromDays(400), expires: TestClock.Now.AddDays(-1));
        await using var app = VaultSmartApp(vault);

        var jwks = JsonNode.Parse(await app.CreateClient().GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct))!;

        var kids = jwks["keys"]!.AsArray().Select(k => k!["kid"]!.GetValue<string>()).Order().ToList();
        // The EHR-facing JWKS holds the client assertion keys only; the API key is published apart, for the functions app.
        Assert.Equal(new[] { clientRsa.Thumbprint, next.Thumbprint, clientEc.Thumbprint }.Order(), kids);
        var apiKids = JsonNode.Parse(await app.CreateClient().GetStringAsync(new Uri("/.well-known/api-jwks.json", UriKind.Relative), Ct))!["keys"]!.AsArray()
            .Select(k => k!["kid"]!.GetValue<string>());
        Assert.Equal([api.Thumbprint], apiKids);
        Assert.DoesNotContain(disabled.Thumbprint, kids);
        Assert.DoesNotContain(expired.Thumbprint, kids);
        Assert.All(jwks["keys"]!.AsArray(), k => Assert.Null(k!["d"]));
        Assert.All(jwks["keys"]!.AsArray(), k => Assert.Equal(k!["kty"]!.GetValue<string>() == "RSA" ? "RS384" : "ES384", k["alg"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_client_assertion_signed_through_the_vault_verifies_against_the_published_JWKS_and_the_new_version_waits_for_its_publication_window()
    {
        vault.AddVersion(ClientRsa, "RSA", TimeSpan.FromHours(1));
        await using var app = VaultSmartApp(vault);
        var jwks = await app.CreateClient().GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct);

        var assertion = await app.Services.GetRequiredService<ClientAssertions>().CreateAsync("registered-client", "https://ehr.example.org/token", Ct);

        var result = await Handler.ValidateTokenAsync(assertion.Value, new TokenValidationParameters
        {
            IssuerSigningKeys = new JsonWebKeySet(jwks).GetSigningKeys(),
            ValidIssuer = "registered-client",
            ValidAudience = "https://ehr.example.org/token",
            ValidAlgorithms = ["RS384"],
            LifetimeValidator = TestClock.Lifetime(TestClock.Provider),
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        var token = Handler.ReadJsonWebToken(assertion.Value);
        // The version made an hour ago is published, but EHRs may not have fetched it yet: the older one signs.
        Assert.Equal(clientRsa.Thumbprint, token.Kid);
        Assert.Equal("RS384", token.Alg);
    }

    [Fact]
    public async Task The_sign_call_carries_the_bearer_token_and_the_SHA_384_digest_of_the_JWT_signing_input()
    {
        await using var app = VaultSmartApp(vault);

        var assertion = await app.Services.GetRequiredService<ClientAssertions>().CreateAsync("registered-client", "https://ehr.example.org/token", Ct);

        var sign = Assert.Single(vault.SignRequests()).RequestMessage!;
        Assert.EndsWith($"/keys/{ClientRsa}/{clientRsa.Id}/sign", sign.Path, StringComparison.Ordinal);
        Assert.Equal("7.4", sign.Query!["api-version"].Single());
        Assert.Equal($"Bearer {StaticTokenCredential.Token}", sign.Headers!["Authorization"].Single());
        var body = JsonNode.Parse(sign.Body!)!;
        Assert.Equal("RS384", body["alg"]!.GetValue<string>());
        var signingInput = assertion.Value[..assertion.Value.LastIndexOf('.')];
        Assert.Equal(Base64Url.EncodeToString(SHA384.HashData(Encoding.ASCII.GetBytes(signingInput))), body["value"]!.GetValue<string>());
        Assert.All(vault.Requests(), r => Assert.Equal($"Bearer {StaticTokenCredential.Token}", r.RequestMessage!.Headers!["Authorization"].Single()));
    }

    [Fact]
    public async Task The_tokens_for_the_functions_API_are_signed_ES384_with_the_vault_API_key_and_verify_against_the_API_JWKS()
    {
        await using var app = VaultSmartApp(vault);
        var keys = app.Services.GetRequiredService<SigningKeys>();
        var jwks = await app.CreateClient().GetStringAsync(new Uri("/.well-known/api-jwks.json", UriKind.Relative), Ct);

        var token = await keys.SignAsync(SigningPurpose.ApiToken, new Dictionary<string, object> { ["sub"] = "Practitioner/1", ["exp"] = TestClock.Now.AddMinutes(5).ToUnixTimeSeconds() }, Ct);

        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKeys = new JsonWebKeySet(jwks).GetSigningKeys(),
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidAlgorithms = ["ES384"],
            LifetimeValidator = TestClock.Lifetime(TestClock.Provider),
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(api.Thumbprint, Handler.ReadJsonWebToken(token).Kid);
    }

    [Fact]
    public async Task A_rotation_in_the_vault_reaches_the_JWKS_and_the_signer_without_a_restart()
    {
        // The refresh runs on the app's clock: the test moves it past the interval instead of waiting.
        var clock = TestClock.Fake();
        await using var app = VaultSmartApp(vault, new() { ["KeyVault:RefreshInterval"] = "00:00:00.200" }, clock);
        var client = app.CreateClient();
        var keys = app.Services.GetRequiredService<SigningKeys>();
        Assert.Contains(clientRsa.Thumbprint, await client.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct), StringComparison.Ordinal);

        // Key Vault's rotation policy makes a new version; the old one stays enabled until it expires.
        var rotated = vault.AddVersion(ClientRsa, "RSA", TimeSpan.Zero);
        clock.Advance(TimeSpan.FromMilliseconds(400));
        var jwks = await client.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct);
        Assert.Contains(rotated.Thumbprint, jwks, StringComparison.Ordinal);
        Assert.Contains(clientRsa.Thumbprint, jwks, StringComparison.Ordinal);
        Assert.Equal(clientRsa.Thumbprint, await SigningKidAsync(keys));

        // The operator disables the old version (infra/README.md, compromise): it drops out and the new one signs.
        clientRsa.Enabled = false;
        clock.Advance(TimeSpan.FromMilliseconds(400));
        jwks = await client.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct);
        Assert.DoesNotContain(clientRsa.Thumbprint, jwks, StringComparison.Ordinal);
        Assert.Equal(rotated.Thumbprint, await SigningKidAsync(keys));
    }

    [Fact]
    public async Task A_vault_that_cannot_be_read_at_a_refresh_leaves_the_last_keys_published_and_is_asked_again_a_minute_later()
    {
        var clock = TestClock.Fake();
        await using var app = VaultSmartApp(vault, new() { ["KeyVault:RefreshInterval"] = "00:05:00" }, clock);
        var client = app.CreateClient();
        var keys = app.Services.GetRequiredService<SigningKeys>();
        Task<string> JwksAsync() => client.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct);
        Assert.Contains(clientRsa.Thumbprint, await JwksAsync(), StringComparison.Ordinal);

        // The refresh is due and the vault answers 500: the keys read last are still published (relying parties keep
        // verifying what was signed with them; signing itself waits for the vault, which holds the private keys).
        vault.FailWith = 500;
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var asked = vault.Requests().Count;
        Assert.Contains(clientRsa.Thumbprint, await JwksAsync(), StringComparison.Ordinal);
        var afterFailure = vault.Requests().Count;
        Assert.True(afterFailure > asked, "The vault was not asked when the refresh was due.");

        // Not asked again within the minute; asked once it has passed, and then the vault's new version is published.
        clock.Advance(TimeSpan.FromSeconds(50));
        await JwksAsync();
        Assert.Equal(afterFailure, vault.Requests().Count);
        vault.FailWith = null;
        var rotated = vault.AddVersion(ClientRsa, "RSA", TimeSpan.Zero);
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Contains(rotated.Thumbprint, await JwksAsync(), StringComparison.Ordinal);
        Assert.Equal(clientRsa.Thumbprint, await SigningKidAsync(keys));
    }

    [Fact]
    public async Task Signing_reads_the_key_versions_once_and_then_only_calls_sign()
    {
        await using var app = VaultSmartApp(vault);
        var keys = app.Services.GetRequiredService<SigningKeys>();

        for (var i = 0; i < 3; i++)
        {
            await SigningKidAsync(keys);
        }

        var requests = vault.Requests().Select(r => r.RequestMessage!.Path).ToList();
        Assert.Single(requests, p => p.EndsWith($"/keys/{ClientRsa}/versions", StringComparison.Ordinal));
        Assert.Single(requests, p => p.EndsWith($"/keys/{ClientRsa}/{clientRsa.Id}", StringComparison.Ordinal));
        Assert.Equal(3, vault.SignRequests().Count);
    }

    [Theory]
    [InlineData(403, "Key Vault Crypto User")]
    [InlineData(500, "InternalServerError")]
    public async Task A_vault_that_refuses_gives_an_error_naming_the_vault_the_key_and_its_answer(int status, string expected)
    {
        await using var app = VaultSmartApp(vault);
        var keys = app.Services.GetRequiredService<SigningKeys>();
        vault.FailWith = status;

        var failure = await Assert.ThrowsAsync<KeyVaultException>(() => SigningKidAsync(keys));

        Assert.Equal((HttpStatusCode)status, failure.Status);
        Assert.Contains(ClientRsa, failure.Message, StringComparison.Ordinal);
        Assert.Contains($"{status} ", failure.Message, StringComparison.Ordinal);
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vault_that_does_not_answer_fails_after_the_configured_timeout_instead_of_hanging()
    {
        var clock = TestClock.Fake();
        await using var app = VaultSmartApp(vault, new() { ["KeyVault:Timeout"] = "00:00:01" }, clock);
        var keys = app.Services.GetRequiredService<SigningKeys>();
        vault.Latency = TimeSpan.FromSeconds(5);

        // Without the timeout the vault's answer would come after 5 s and sign: the failure naming the 1 s is the proof,
        // not a stopwatch (the test does not depend on how busy the machine is). The timeout runs on the app's clock,
        // which passes it once the vault holds the answer back.
        var signing = SigningKidAsync(keys);
        await vault.Held.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        clock.Advance(TimeSpan.FromSeconds(2));
        var failure = await Assert.ThrowsAsync<KeyVaultException>(() => signing);

        Assert.Null(failure.Status);
        Assert.Contains("did not answer within 1 s", failure.Message, StringComparison.Ordinal);
        Assert.Contains(ClientRsa, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_self_check_names_the_vault_and_its_keys_and_signs_with_every_version_without_showing_key_material()
    {
        await using var app = VaultSmartApp(vault, new() { ["Admin:Enabled"] = "true" });

        var page = await app.CreateClient().GetStringAsync(new Uri("/admin/self-check", UriKind.Relative), Ct);

        Assert.Contains("data-readable=\"true\"", page, StringComparison.Ordinal);
        foreach (var name in new[] { ClientRsa, ClientEc, Api })
        {
            Assert.Contains(name, page, StringComparison.Ordinal);
        }

        foreach (var version in new[] { clientRsa, clientEc, api })
        {
            Assert.Contains($"data-key=\"{version.Thumbprint}\" data-signs=\"true\"", page, StringComparison.Ordinal);
            var publicKey = version.Key is RSA rsa ? Base64Url.EncodeToString(rsa.ExportParameters(false).Modulus) : Base64Url.EncodeToString(((ECDsa)version.Key).ExportParameters(false).Q.X);
            Assert.DoesNotContain(publicKey, page, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(StaticTokenCredential.Token, page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_self_check_says_the_keys_could_not_be_read_when_the_vault_refuses()
    {
        await using var app = VaultSmartApp(vault, new() { ["Admin:Enabled"] = "true" });
        vault.FailWith = 403;

        var page = await app.CreateClient().GetStringAsync(new Uri("/admin/self-check", UriKind.Relative), Ct);

        Assert.Contains("data-readable=\"false\"", page, StringComparison.Ordinal);
        Assert.Contains("data-healthy=\"false\"", page, StringComparison.Ordinal);
        Assert.Contains("Key Vault Crypto User", page, StringComparison.Ordinal);
    }

    public void Dispose() => vault.Dispose();

    private static async Task<string> SigningKidAsync(SigningKeys keys) =>
        Handler.ReadJsonWebToken(await keys.SignAsync(SigningPurpose.ClientAssertion, new Dictionary<string, object> { ["sub"] = "c" }, Ct)).Kid;

    /// <summary>
    /// The smart-app as in Azure (Production, no local key settings), with the vault's URI and the key names the
    /// Bicep gives it, and a static token in place of the managed identity.
    /// </summary>
    private static ProductionHost<Referral.SmartApp.Program> VaultSmartApp(FakeKeyVault vault, Dictionary<string, string?>? extra = null, TimeProvider? clock = null) =>
        new(ProductionSettings.Of(ProductionSettings.SmartApp, ProductionSettings.Inbox, new Dictionary<string, string?>
        {
            ["Ehrs:0:Iss"] = "http://127.0.0.1:9/fhir",
            ["Functions:BaseUrl"] = "http://127.0.0.1:9",
            ["KeyVault:Uri"] = vault.Uri,
            ["KeyVault:Keys:ClientRs384"] = ClientRsa,
            ["KeyVault:Keys:ClientEs384"] = ClientEc,
            ["KeyVault:Keys:ApiSigning"] = Api,
        }, extra ?? []), services =>
        {
            services.AddSingleton<TokenCredential>(new StaticTokenCredential());
            AdminAccess.Open(services);
            if (clock is not null)
            {
                services.AddSingleton(clock);
            }
        });
}

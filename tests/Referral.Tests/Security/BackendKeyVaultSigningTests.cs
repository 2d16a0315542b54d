extern alias worker;

using Azure.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Tests.Infrastructure;
using worker::Referral.Worker.WriteBack;
using EhrRegistration = worker::Referral.Functions.WriteBack.EhrRegistration;

namespace Referral.Tests.Security;

/// <summary>
/// Issue 9, item 2, for the functions app: its SMART Backend Services key is a Key Vault key (WireMock vault); the
/// client assertion it sends an EHR is signed by the vault and verifies against <c>/api/backend/jwks.json</c>.
/// </summary>
public sealed class BackendKeyVaultSigningTests(AzuriteFixture azurite) : IDisposable
{
    private const string KeyName = "functions-backend-rs384";

    private readonly FakeKeyVault vault = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_backend_services_assertion_is_signed_by_the_vault_and_verifies_against_the_published_JWKS_of_both_versions()
    {
        var current = vault.AddVersion(KeyName, "RSA", TimeSpan.FromDays(100));
        var next = vault.AddVersion(KeyName, "RSA", TimeSpan.FromHours(2));
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var functions = App(ehr);
        var jwks = await functions.CreateClient().GetStringAsync(new Uri("/api/backend/jwks.json", UriKind.Relative), Ct);

        var token = await functions.WorkerServices.GetRequiredService<BackendServicesTokens>()
            .AccessTokenAsync(new EhrRegistration { Iss = ehr.FhirBase, ClientId = BackendServicesEhr.ClientId, WriteBack = true }, Ct);

        Assert.Equal(BackendServicesEhr.AccessToken, token);
        var kids = new JsonWebKeySet(jwks).Keys.Select(k => k.Kid).Order().ToList();
        Assert.Equal(new[] { current.Thumbprint, next.Thumbprint }.Order(), kids);
        var assertion = Assert.Single(ehr.ClientAssertions());
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            IssuerSigningKeys = new JsonWebKeySet(jwks).GetSigningKeys(),
            ValidIssuer = BackendServicesEhr.ClientId,
            ValidAudience = ehr.TokenEndpoint,
            ValidAlgorithms = ["RS384"],
            LifetimeValidator = TestClock.Lifetime(TestClock.Provider),
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(current.Thumbprint, new JsonWebToken(assertion).Kid);
        Assert.Equal($"Bearer {StaticTokenCredential.Token}", Assert.Single(vault.SignRequests()).RequestMessage!.Headers!["Authorization"].Single());
    }

    [Fact]
    public async Task A_vault_that_does_not_answer_fails_the_write_back_try_with_an_error_naming_the_vault_instead_of_hanging()
    {
        vault.AddVersion(KeyName, "RSA", TimeSpan.FromDays(100));
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        var clock = TestClock.Fake();
        await using var functions = App(ehr, new() { ["KeyVault:Timeout"] = "00:00:01" }, clock);
        var tokens = functions.WorkerServices.GetRequiredService<BackendServicesTokens>();
        // The vault would answer after 10 s and sign: the failure naming the 1 s timeout is the proof that the try ended
        // first, not a stopwatch (the test does not depend on how busy the machine is). The timeout runs on the app's
        // clock, which passes it once the vault holds the answer back.
        vault.Latency = TimeSpan.FromSeconds(10);

        var asking = tokens.AccessTokenAsync(new EhrRegistration { Iss = ehr.FhirBase, ClientId = BackendServicesEhr.ClientId, WriteBack = true }, Ct);
        await vault.Held.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        clock.Advance(TimeSpan.FromSeconds(2));
        var failure = await Assert.ThrowsAsync<EhrWriteException>(() => asking);

        Assert.Contains("did not answer within 1 s", failure.Message, StringComparison.Ordinal);
        Assert.Contains(KeyName, failure.Message, StringComparison.Ordinal);
        Assert.Empty(ehr.ClientAssertions());
    }

    public void Dispose() => vault.Dispose();

    private FunctionsApp App(BackendServicesEhr ehr, Dictionary<string, string?>? extra = null, TimeProvider? time = null)
    {
        var settings = new Dictionary<string, string?>(ehr.Settings())
        {
            ["KeyVault:Uri"] = vault.Uri,
            ["KeyVault:Keys:BackendServices"] = KeyName,
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        // Both apps sign with the vault: the API publishes the keys, the worker signs the assertions.
        return new FunctionsApp(azurite.ConnectionString, settings: settings, time: time)
        {
            TestServices = services => services.AddSingleton<TokenCredential>(new StaticTokenCredential()),
            WorkerTestServices = services => services.AddSingleton<TokenCredential>(new StaticTokenCredential()),
        };
    }
}

using System.Net;
using Microsoft.IdentityModel.Tokens;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Security;

/// <summary>
/// Forged and misused tokens, as an attacker would send them, against one protected endpoint through the real
/// JwtBearer handlers: each is a 401 with a FHIR OperationOutcome. The ordinary token gets through, so each refusal
/// is the attack's doing; role claims a token carries on its own grant nothing.
/// </summary>
public sealed class TokenAttackTests(AzuriteFixture azurite, SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static readonly Uri Endpoint = new("/api/fhir/ServiceRequest?patient=Patient/pat-1", UriKind.Relative);

    public static TheoryData<string, Func<TestIdentity, string>> Attacks() => new()
    {
        { "alg none, unsigned", id => id.PhysicianUnsigned() },
        { "HS256 with the JWKS public key (SPKI bytes) as secret", id => id.PhysicianSignedWithThePublicKeyAsHmacSecret("spki") },
        { "HS256 with the JWKS public key (PEM) as secret", id => id.PhysicianSignedWithThePublicKeyAsHmacSecret("pem") },
        { "HS256 with the JWKS document as secret", id => id.PhysicianSignedWithThePublicKeyAsHmacSecret("jwks") },
        { "HS256 with a zero secret", id => id.Physician(change: d => d.SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(new byte[32]), SecurityAlgorithms.HmacSha256)) },
        { "signed by an unknown key", id => id.PhysicianSignedByAnUnknownKey() },
        { "foreign key with the known kid", id => id.PhysicianSignedByAForeignKeyWithTheKnownKid() },
        { "jku header pointing elsewhere", id => id.PhysicianWithKeyUrlHeader("jku") },
        { "x5u header pointing elsewhere", id => id.PhysicianWithKeyUrlHeader("x5u") },
        { "wrong key use (the JWKS's enc key)", id => id.PhysicianSignedByTheEncryptionKey() },
        { "expired physician token", id => id.Physician(at: TestClock.Now.AddMinutes(-20)) },
        { "expired admin token", id => id.Admin(at: TestClock.Now.AddMinutes(-20), change: d => d.Expires = d.NotBefore!.Value.AddMinutes(10)) },
        { "not yet valid", id => id.Physician(at: TestClock.Now.AddMinutes(10)) },
        { "issued in the future without nbf", id => id.Physician(change: d => { d.NotBefore = null; d.IssuedAt = d.IssuedAt!.Value.AddDays(30); d.Expires = d.IssuedAt.Value.AddMinutes(5); }) },
        { "overlong: valid for a year", id => id.Physician(change: d => d.Expires = d.IssuedAt!.Value.AddYears(1)) },
        { "overlong: valid for 100 years", id => id.Physician(change: d => d.Expires = d.IssuedAt!.Value.AddYears(100)) },
        { "overlong: 5 minutes and 1 second", id => id.Physician(change: d => d.Expires = d.IssuedAt!.Value.AddMinutes(5).AddSeconds(1)) },
        { "without iat", id => id.Physician(change: d => d.IssuedAt = null) },
        { "without jti", id => id.Physician(change: d => d.Claims.Remove("jti")) },
        { "empty jti", id => id.Physician(change: d => d.Claims["jti"] = "") },
        { "physician token for another audience", id => id.Physician(change: d => d.Audience = "some-other-api") },
        { "admin token for another audience", id => id.Admin(d => d.Audience = "some-other-api") },
        { "physician token from an unknown issuer", id => id.Physician(change: d => d.Issuer = "https://evil.example") },
        { "admin token from an unknown issuer", id => id.Admin(d => d.Issuer = "https://evil.example") },
        { "physician token with the therapists' issuer", id => id.Physician(change: d => d.Issuer = id.TherapistAuthority) },
        { "physician token without fhirUser", id => id.Physician(change: d => d.Claims.Remove("fhirUser")) },
        { "not a JWT at all", _ => "not-a-token" },
    };

    public static TheoryData<string, Func<TestIdentity, string>> RoleClaims() => new()
    {
        { "physician claiming admin", id => id.Physician(change: d => d.Claims["referral_role"] = "admin") },
        { "physician claiming admin and therapist", id => id.Physician(change: d => d.Claims["referral_role"] = new[] { "admin", "therapist" }) },
        { "physician claiming the provider's admin app role", id => id.Physician(change: d => d.Claims["roles"] = new[] { TestIdentity.AdminRole }) },
        { "therapist claiming admin", id => id.Therapist(change: d => d.Claims["referral_role"] = "admin") },
    };

    [Fact]
    public async Task The_ordinary_physician_token_gets_through()
    {
        var app = functions.App;

        using var response = await SendAsync(app, identity.Physician());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task An_attack_token_is_refused_with_401(string attack, Func<TestIdentity, string> token)
    {
        var app = functions.App;

        using var response = await SendAsync(app, token(identity));

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"A token ({attack}) must be refused, got {response.StatusCode}.");
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_replayed_physician_token_is_refused_with_401()
    {
        var app = functions.App;
        var token = identity.Physician();

        using var first = await SendAsync(app, token);
        using var second = await SendAsync(app, token);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
    }

    [Fact]
    public async Task A_physician_token_replayed_to_another_instance_is_refused_with_401()
    {
        await using var one = new FunctionsApp(azurite.ConnectionString, identity);
        await using var other = new FunctionsApp(azurite.ConnectionString, identity);
        var token = identity.Physician();

        using var first = await SendAsync(one, token);
        using var second = await SendAsync(other, token);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
    }

    [Theory]
    [MemberData(nameof(RoleClaims))]
    public async Task A_role_claim_in_the_token_grants_nothing(string attack, Func<TestIdentity, string> token)
    {
        var app = functions.App;

        using var response = await SendAsync(app, token(identity), new Uri("/api/fhir/AuditEvent?patient=Patient/helen-park", UriKind.Relative));

        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"A {attack} must get 403, got {response.StatusCode}.");
    }

    [Fact]
    public async Task A_physician_claiming_the_therapist_role_does_not_read_the_task_inbox()
    {
        var app = functions.App;

        using var response = await SendAsync(app, identity.Physician(change: d => d.Claims["referral_role"] = "therapist"), new Uri("/api/fhir/Task?owner=PractitionerRole/therapist-mld", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    /// <summary>Sends exactly this token (no fresh token per call, unlike <c>ClientWith</c>).</summary>
    private static async Task<HttpResponseMessage> SendAsync(FunctionsApp app, string token, Uri? endpoint = null)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint ?? Endpoint);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }
}

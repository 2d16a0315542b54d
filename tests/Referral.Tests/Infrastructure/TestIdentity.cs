using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The two token issuers the functions app trusts, played for real over HTTP by WireMock: the smart-app's JWKS
/// (physician tokens) and a therapists' OpenID Connect provider (discovery + JWKS). Tokens are minted here
/// with development keys made for the test run, exactly as the smart-app and the provider would sign them, at the clock
/// of the app that receives them: <c>at</c> where given (a harness's moved clock), else the test run's now.
/// </summary>
public sealed class TestIdentity : IDisposable
{
    public const string Audience = "medical-massage-functions";
    public const string PhysicianIssuer = "http://smart-app.test";
    public const string Ehr = "http://ehr.test/fhir";
    public const string AdminRole = "referral-admin";

    private static readonly string[] ResponseTypes = ["code"];
    private static readonly string[] SubjectTypes = ["public"];
    private static readonly string[] SigningAlgorithms = ["RS256"];

    private readonly WireMockServer server;
    private readonly RsaSecurityKey physicianKey = NewKey("smart-app-1");
    private readonly RsaSecurityKey therapistKey = NewKey("idp-1");
    private readonly JsonWebTokenHandler handler = new();

    public TestIdentity()
    {
        server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/smart-app/.well-known/jwks.json").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Jwks(physicianKey)));
        server.Given(Request.Create().WithPath("/idp/.well-known/openid-configuration").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["issuer"] = TherapistAuthority,
                ["jwks_uri"] = $"{TherapistAuthority}/jwks",
                ["authorization_endpoint"] = $"{TherapistAuthority}/authorize",
                ["token_endpoint"] = $"{TherapistAuthority}/token",
                ["response_types_supported"] = ResponseTypes,
                ["subject_types_supported"] = SubjectTypes,
                ["id_token_signing_alg_values_supported"] = SigningAlgorithms,
            })));
        server.Given(Request.Create().WithPath("/idp/jwks").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Jwks(therapistKey)));
    }

    public string PhysicianJwksUrl => $"{server.Urls[0]}/smart-app/.well-known/jwks.json";

    public string TherapistAuthority => $"{server.Urls[0]}/idp";

    /// <summary>The settings that point the functions app at these issuers.</summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Auth:Audience"] = Audience,
        ["Auth:RequireHttpsMetadata"] = "false",
        ["Auth:Physician:Issuer"] = PhysicianIssuer,
        ["Auth:Physician:JwksUrl"] = PhysicianJwksUrl,
        ["Auth:Therapist:Authority"] = TherapistAuthority,
        ["Auth:Therapist:TherapistClaim"] = "fhirUser",
        ["Auth:Therapist:AdminRole"] = AdminRole,
    };

    /// <summary>A token as the smart-app signs it for a physician it launched (fhirUser absolute, as the EHR gave it).</summary>
    public string Physician(
        string practitionerId = "dr-lee", string? patientId = "pat-1", Action<SecurityTokenDescriptor>? change = null, string? ehr = null, DateTimeOffset? at = null)
    {
        ehr ??= Ehr;
        var claims = new Dictionary<string, object>
        {
            ["sub"] = $"{ehr}/Practitioner/{practitionerId}",
            ["fhirUser"] = $"{ehr}/Practitioner/{practitionerId}",
            ["ehr"] = ehr,
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        if (patientId is not null)
        {
            claims["patient"] = patientId;
        }

        return Sign(physicianKey, PhysicianIssuer, claims, SecurityAlgorithms.RsaSha384, change, at);
    }

    /// <summary>A therapist's access token from the provider, naming their PractitionerRole.</summary>
    public string Therapist(string practitionerRoleId = "therapist-mld", Action<SecurityTokenDescriptor>? change = null, DateTimeOffset? at = null) =>
        Sign(therapistKey, TherapistAuthority, new Dictionary<string, object>
        {
            ["sub"] = practitionerRoleId,
            ["fhirUser"] = $"PractitionerRole/{practitionerRoleId}",
            ["name"] = "Test Therapist",
        }, SecurityAlgorithms.RsaSha256, change, at);

    /// <summary>An administrator's access token from the provider (an app role, no therapist identity).</summary>
    public string Admin(Action<SecurityTokenDescriptor>? change = null, DateTimeOffset? at = null) =>
        Sign(therapistKey, TherapistAuthority, new Dictionary<string, object>
        {
            ["sub"] = "admin-1",
            ["roles"] = new[] { AdminRole },
        }, SecurityAlgorithms.RsaSha256, change, at);

    /// <summary>A physician token signed by a key nobody published.</summary>
    public string PhysicianSignedByAnUnknownKey() =>
        Physician(change: d => d.SigningCredentials = new SigningCredentials(NewKey("stranger"), SecurityAlgorithms.RsaSha384));

    /// <summary>The physician token's claims with <c>alg: none</c> and no signature.</summary>
    public string PhysicianUnsigned()
    {
        var signed = handler.ReadJsonWebToken(Physician());
        static string Encode(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(signed.EncodedPayload));
        return $"{Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{Encode(payload)}.";
    }

    public void Dispose() => server.Stop();

    private string Sign(SecurityKey key, string issuer, Dictionary<string, object> claims, string algorithm, Action<SecurityTokenDescriptor>? change, DateTimeOffset? at)
    {
        var now = (at ?? TestClock.Now).UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            Claims = claims,
            Subject = new ClaimsIdentity(),
            SigningCredentials = new SigningCredentials(key, algorithm),
        };
        change?.Invoke(descriptor);
        return handler.CreateToken(descriptor);
    }

    private static RsaSecurityKey NewKey(string kid) => new(RSA.Create(2048)) { KeyId = kid };

    private static string Jwks(RsaSecurityKey key)
    {
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.Rsa.ExportParameters(false)) { KeyId = key.KeyId });
        return JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", n = jwk.N, e = jwk.E } },
        });
    }
}

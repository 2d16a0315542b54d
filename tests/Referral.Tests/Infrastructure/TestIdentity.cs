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
    private readonly TestKeys.Lease physicianLease = TestKeys.Rent("smart-app-1");
    private readonly TestKeys.Lease therapistLease = TestKeys.Rent("idp-1");

    /// <summary>A key the smart-app's JWKS lists for another use (<c>use: enc</c>): never one that signs API tokens.</summary>
    private readonly TestKeys.Lease encryptionLease = TestKeys.Rent("smart-app-enc");
    private readonly JsonWebTokenHandler handler = new();

    public TestIdentity()
    {
        server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/smart-app/.well-known/jwks.json").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Jwks(physicianLease.Key, encryptionLease.Key)));
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
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Jwks(therapistLease.Key)));
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

        var token = Sign(physicianLease.Key, PhysicianIssuer, claims, SecurityAlgorithms.RsaSha384, change, at);
        PerCall[token] = () => Physician(practitionerId, patientId, change, ehr, at);
        return token;
    }

    /// <summary>
    /// The next token for a call made with the given one, as the smart-app signs one per call: for a physician token
    /// minted here, the same token again with a new jti (and whatever change it was minted with); any other token as it is.
    /// </summary>
    public static string ForNextCall(string token) => PerCall.TryGetValue(token, out var mint) ? mint() : token;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<string>> PerCall = new(StringComparer.Ordinal);

    /// <summary>A therapist's access token from the provider, naming their PractitionerRole.</summary>
    public string Therapist(string practitionerRoleId = "therapist-mld", Action<SecurityTokenDescriptor>? change = null, DateTimeOffset? at = null) =>
        Sign(therapistLease.Key, TherapistAuthority, new Dictionary<string, object>
        {
            ["sub"] = practitionerRoleId,
            ["fhirUser"] = $"PractitionerRole/{practitionerRoleId}",
            ["name"] = "Test Therapist",
        }, SecurityAlgorithms.RsaSha256, change, at);

    /// <summary>An administrator's access token from the provider (an app role, no therapist identity).</summary>
    public string Admin(Action<SecurityTokenDescriptor>? change = null, DateTimeOffset? at = null) =>
        Sign(therapistLease.Key, TherapistAuthority, new Dictionary<string, object>
        {
            ["sub"] = "admin-1",
            ["roles"] = new[] { AdminRole },
        }, SecurityAlgorithms.RsaSha256, change, at);

    /// <summary>A physician token signed by a key nobody published.</summary>
    public string PhysicianSignedByAnUnknownKey() =>
        Physician(change: d => d.SigningCredentials = new SigningCredentials(NewKey("stranger"), SecurityAlgorithms.RsaSha384));

    /// <summary>A physician token signed by the key the smart-app's JWKS lists for encryption (wrong key use).</summary>
    public string PhysicianSignedByTheEncryptionKey() =>
        Physician(change: d => d.SigningCredentials = new SigningCredentials(encryptionLease.Key, SecurityAlgorithms.RsaSha384));

    /// <summary>A physician token signed by a stranger's key that claims the smart-app's kid.</summary>
    public string PhysicianSignedByAForeignKeyWithTheKnownKid() =>
        Physician(change: d => d.SigningCredentials = new SigningCredentials(NewKey(physicianLease.Key.KeyId), SecurityAlgorithms.RsaSha384));

    /// <summary>HS256 with public bytes of the smart-app's key as the shared secret (the classic algorithm confusion).</summary>
    public string PhysicianSignedWithThePublicKeyAsHmacSecret(string form)
    {
        var publicKey = physicianLease.Key.Rsa.ExportSubjectPublicKeyInfo();
        var secret = form switch
        {
            "jwks" => Encoding.UTF8.GetBytes(Jwks(physicianLease.Key)),
            "pem" => Encoding.UTF8.GetBytes(PemEncoding.WriteString("PUBLIC KEY", publicKey)),
            _ => publicKey,
        };
        return Physician(change: d => d.SigningCredentials = new SigningCredentials(
            new SymmetricSecurityKey(secret) { KeyId = physicianLease.Key.KeyId }, SecurityAlgorithms.HmacSha256));
    }

    /// <summary>A physician token signed by a stranger's key whose header points at where to fetch it (<c>jku</c> or <c>x5u</c>).</summary>
    public string PhysicianWithKeyUrlHeader(string header) =>
        Physician(change: d =>
        {
            d.SigningCredentials = new SigningCredentials(NewKey("attacker-1"), SecurityAlgorithms.RsaSha384);
            d.AdditionalHeaderClaims = new Dictionary<string, object> { [header] = "https://evil.example/.well-known/jwks.json" };
        });

    /// <summary>The physician token's claims with <c>alg: none</c> and no signature.</summary>
    public string PhysicianUnsigned()
    {
        var signed = handler.ReadJsonWebToken(Physician());
        static string Encode(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(signed.EncodedPayload));
        return $"{Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{Encode(payload)}.";
    }

    public void Dispose()
    {
        server.Stop();
        physicianLease.Dispose();
        therapistLease.Dispose();
        encryptionLease.Dispose();
    }

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
        // A descriptor without iat stays without it (the handler would otherwise add one).
        return descriptor.IssuedAt is null
            ? new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor)
            : handler.CreateToken(descriptor);
    }

    private static RsaSecurityKey NewKey(string kid) => new(RSA.Create(2048)) { KeyId = kid };

    private static string Jwks(RsaSecurityKey key, RsaSecurityKey? encryption = null)
    {
        static object Jwk(RsaSecurityKey key, string use)
        {
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.Rsa.ExportParameters(false)) { KeyId = key.KeyId });
            return new { kty = jwk.Kty, kid = jwk.Kid, use, n = jwk.N, e = jwk.E };
        }

        var keys = encryption is null ? new[] { Jwk(key, "sig") } : [Jwk(key, "sig"), Jwk(encryption, "enc")];
        return JsonSerializer.Serialize(new { keys });
    }
}

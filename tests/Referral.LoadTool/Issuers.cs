using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Referral.LoadTool;

/// <summary>
/// The two issuers the functions app trusts, served for real on a loopback port: the smart-app's JWKS (physician
/// tokens) and a therapists' OpenID Connect provider (discovery + JWKS). Tokens are signed here with keys made for the run.
/// </summary>
public sealed class Issuers : IAsyncDisposable
{
    public const string Audience = "medical-massage-functions";
    public const string PhysicianIssuer = "http://smart-app.load";
    public const string Ehr = "http://ehr.load/fhir";

    private static readonly string[] ResponseTypes = ["code"];
    private static readonly string[] SubjectTypes = ["public"];
    private static readonly string[] SigningAlgorithms = ["RS256"];

    private readonly RsaSecurityKey physicianKey = new(RSA.Create(2048)) { KeyId = "load-smart-app" };
    private readonly RsaSecurityKey therapistKey = new(RSA.Create(2048)) { KeyId = "load-idp" };
    private readonly JsonWebTokenHandler handler = new();
    private WebApplication? app;

    public string BaseUrl { get; private set; } = "";

    public string TherapistAuthority => $"{BaseUrl}/idp";

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapGet("/smart-app/jwks.json", () => Results.Json(Jwks(physicianKey)));
        app.MapGet("/idp/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = TherapistAuthority,
            ["jwks_uri"] = $"{TherapistAuthority}/jwks",
            ["authorization_endpoint"] = $"{TherapistAuthority}/authorize",
            ["token_endpoint"] = $"{TherapistAuthority}/token",
            ["response_types_supported"] = ResponseTypes,
            ["subject_types_supported"] = SubjectTypes,
            ["id_token_signing_alg_values_supported"] = SigningAlgorithms,
        }));
        app.MapGet("/idp/jwks", () => Results.Json(Jwks(therapistKey)));
        await app.StartAsync();
        BaseUrl = app.Urls.First();
    }

    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Auth:Audience"] = Audience,
        ["Auth:RequireHttpsMetadata"] = "false",
        ["Auth:Physician:Issuer"] = PhysicianIssuer,
        ["Auth:Physician:JwksUrl"] = $"{BaseUrl}/smart-app/jwks.json",
        ["Auth:Therapist:Authority"] = TherapistAuthority,
    };

    public string Physician(string practitioner, string patient) => Sign(physicianKey, PhysicianIssuer, SecurityAlgorithms.RsaSha384, new Dictionary<string, object>
    {
        ["sub"] = $"{Ehr}/Practitioner/{practitioner}",
        ["fhirUser"] = $"{Ehr}/Practitioner/{practitioner}",
        ["ehr"] = Ehr,
        ["patient"] = patient,
        // The API accepts a physician token once and for at most five minutes, as the smart-app signs one per call.
        ["jti"] = Guid.NewGuid().ToString("N"),
    }, TimeSpan.FromMinutes(5));

    public string Therapist(string role) => Sign(therapistKey, TherapistAuthority, SecurityAlgorithms.RsaSha256, new Dictionary<string, object>
    {
        ["sub"] = role,
        ["fhirUser"] = $"PractitionerRole/{role}",
    }, TimeSpan.FromHours(1));

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }

    private string Sign(SecurityKey key, string issuer, string algorithm, Dictionary<string, object> claims, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            // Therapist tokens: long enough for the whole run; physician tokens: one per submission, five minutes.
            Expires = now.Add(lifetime),
            Claims = claims,
            Subject = new ClaimsIdentity(),
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }

    private static object Jwks(RsaSecurityKey key)
    {
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.Rsa.ExportParameters(false)) { KeyId = key.KeyId });
        return new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", n = jwk.N, e = jwk.E } } };
    }
}

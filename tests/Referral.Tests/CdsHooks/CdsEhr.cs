using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Model.Fhir;
using WireMock.Server;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Referral.Tests.CdsHooks;

/// <summary>
/// An EHR as a CDS client, played over HTTP by WireMock: it publishes its JWKS, signs a JWT for each call as CDS Hooks
/// asks (RS384, kid, iss, aud = the service URL, iat, exp five minutes on, jti), and serves a FHIR base for the
/// service's fallback reads. The functions app's <c>CdsHooks</c> settings for it are <see cref="Settings"/>.
/// </summary>
public sealed class CdsEhr : IDisposable
{
    public const string Issuer = "http://ehr.test";
    public const string ServiceBase = "http://localhost";
    public const string LaunchUrl = "http://smart-app.test/launch";

    private readonly RsaSecurityKey key = new(RSA.Create(2048)) { KeyId = "ehr-cds-1" };
    private readonly JsonWebTokenHandler handler = new();

    public CdsEhr()
    {
        Server = Infrastructure.EhrPorts.Start();
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.Rsa.ExportParameters(false)) { KeyId = key.KeyId });
        Server.Given(Request.Create().WithPath("/jwks").UsingGet()).RespondWith(Response.Create()
            .WithHeader("Content-Type", "application/json")
            .WithBody(JsonSerializer.Serialize(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS384", n = jwk.N, e = jwk.E } } })));
    }

    public WireMockServer Server { get; }

    public string JwksUrl => Server.Urls[0] + "/jwks";

    /// <summary>The FHIR base the service may fall back to (WireMock's); records are stored for another base, <see cref="Infrastructure.TestIdentity.Ehr"/>, unless a test says so.</summary>
    public string FhirServer => Server.Urls[0] + "/fhir";

    /// <summary>The functions app's settings that register this EHR, its FHIR base being <paramref name="fhirServer"/>.</summary>
    public IReadOnlyDictionary<string, string?> Settings(string fhirServer, TimeSpan? fhirTimeout = null) => new Dictionary<string, string?>
    {
        ["CdsHooks:BaseUrl"] = ServiceBase,
        ["CdsHooks:AppLaunchUrl"] = LaunchUrl,
        ["CdsHooks:RequireHttpsMetadata"] = "false",
        ["CdsHooks:FhirTimeout"] = (fhirTimeout ?? TimeSpan.FromSeconds(2)).ToString(),
        ["CdsHooks:Clients:0:Issuer"] = Issuer,
        ["CdsHooks:Clients:0:JwksUrl"] = JwksUrl,
        ["CdsHooks:Clients:0:FhirServer"] = fhirServer,
    };

    /// <summary>A JWT for one call to <paramref name="service"/>, at <paramref name="now"/>, changed as a test needs.</summary>
    public string Jwt(string service, DateTimeOffset now, Action<SecurityTokenDescriptor>? change = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = $"{ServiceBase}/cds-services/{service}",
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.UtcDateTime.AddMinutes(5),
            Subject = new ClaimsIdentity(),
            Claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString("N"), ["sub"] = "ehr-cds-client" },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha384),
        };
        change?.Invoke(descriptor);
        return handler.CreateToken(descriptor);
    }

    /// <summary>A patient-view request for <paramref name="patient"/>; <paramref name="prefetch"/> null sends no prefetch (the service must read the FHIR server).</summary>
    public static JsonObject PatientView(string patient, string fhirServer, Bundle? conditions, Bundle? medications = null, bool prefetch = true)
    {
        var request = new JsonObject
        {
            ["hook"] = "patient-view",
            ["hookInstance"] = Guid.NewGuid().ToString(),
            ["fhirServer"] = fhirServer,
            ["fhirAuthorization"] = new JsonObject { ["access_token"] = "ehr-access-token", ["token_type"] = "Bearer", ["expires_in"] = 300, ["scope"] = "patient/Condition.rs patient/MedicationRequest.rs", ["subject"] = "referral-cds" },
            ["context"] = new JsonObject { ["userId"] = "Practitioner/dr-lee", ["patientId"] = patient },
        };
        if (prefetch)
        {
            request["prefetch"] = new JsonObject
            {
                ["conditions"] = conditions is null ? null : JsonNode.Parse(FhirJson.Serialize(conditions)),
                ["medications"] = JsonNode.Parse(FhirJson.Serialize(medications ?? Searchset())),
            };
        }

        return request;
    }

    public static Bundle Searchset(params Resource[] resources) => new()
    {
        Type = Bundle.BundleType.Searchset,
        Entry = [.. resources.Select(r => new Bundle.EntryComponent { Resource = r, FullUrl = $"http://ehr.test/fhir/{r.TypeName}/{r.Id}" })],
    };

    public static Condition Problem(string patient, string id, string icd10Cm, string text, string? snomed = null)
    {
        var code = new CodeableConcept("http://hl7.org/fhir/sid/icd-10-cm", icd10Cm, text, text);
        if (snomed is not null)
        {
            code.Coding.Add(new Coding("http://snomed.info/sct", snomed));
        }

        return new Condition
        {
            Id = id,
            Subject = new ResourceReference($"Patient/{patient}"),
            ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
            VerificationStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")],
            Code = code,
        };
    }

    public static MedicationRequest Medication(string patient, string id, string text) => new()
    {
        Id = id,
        Status = MedicationRequest.MedicationrequestStatus.Active,
        Intent = MedicationRequest.MedicationRequestIntent.Order,
        Subject = new ResourceReference($"Patient/{patient}"),
        Medication = new CodeableConcept { Text = text },
    };

    public void Dispose() => Server.Stop();
}

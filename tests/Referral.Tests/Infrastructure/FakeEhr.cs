using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Model.Fhir;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// A SMART EHR played by WireMock over real HTTP: SMART discovery (v2, or v1 only), OpenID configuration and JWKS,
/// authorize (redirects back with a code, as an EHR that approves at once), a token endpoint that checks the client
/// assertion against the app's published JWKS and the PKCE verifier, and FHIR reads of one patient with carpal
/// tunnel on workers' comp. Every call can be delayed (latency) or made to fail.
/// </summary>
public sealed class FakeEhr : IDisposable
{
    public const string ClientId = "medical-massage-referral";
    public const string PatientId = "dana-whitfield";
    public const string PractitionerId = "dr-amelia-stone";

    /// <summary>A second physician of the EHR, who may launch in the same browser (a shared workstation).</summary>
    public const string OtherPractitionerId = "dr-omar-haddad";

    /// <summary>The functions app's backend-services client id at this EHR (its write-back).</summary>
    public const string BackendClientId = "medical-massage-functions";

    private readonly WireMockServer server;
    private readonly TestKeys.Lease lease = TestKeys.Rent("ehr-key-1");
    private readonly JsonWebTokenHandler handler = new();
    private readonly ConcurrentDictionary<string, string> challenges = new(StringComparer.Ordinal);

    /// <summary>Set when the fake EHR stops: what it held back (<see cref="Slow"/>) answers then.</summary>
    private readonly System.Threading.Tasks.TaskCompletionSource over = new(System.Threading.Tasks.TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="v2">Whether discovery advertises SMART v2 scopes (otherwise v1 only).</param>
    /// <param name="latency">A delay before every answer.</param>
    /// <param name="issInResponse">RFC 9207: advertises <c>authorization_response_iss_parameter_supported</c> and sends <c>iss</c> with every authorization response.</param>
    public FakeEhr(bool v2 = true, TimeSpan? latency = null, bool issInResponse = false)
    {
        server = EhrPorts.Start();
        Latency = latency;
        Base = server.Urls[0];
        IssInResponse = issInResponse;
        Discovery(v2);
        Given("/.well-known/openid-configuration", "GET", Json(new Dictionary<string, object>
        {
            ["issuer"] = Base,
            ["jwks_uri"] = Base + "/.well-known/jwks.json",
            ["authorization_endpoint"] = Base + "/auth/authorize",
            ["token_endpoint"] = TokenEndpoint,
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        Given("/.well-known/jwks.json", "GET", Jwks());
        server.Given(Request.Create().WithPath("/auth/authorize").UsingGet()).RespondWith(Delayed().WithCallback(Authorize));
        server.Given(Request.Create().WithPath("/auth/token").UsingPost()).AtPriority(10).RespondWith(Delayed().WithCallback(Token));
        Fhir();
    }

    public string Base { get; }

    /// <summary>The clock its id tokens are issued by: the clock of the app that receives them (set by its harness).</summary>
    public TimeProvider Time { get; set; } = TestClock.Provider;

    public string FhirBase => Base + "/fhir";

    public string TokenEndpoint => Base + "/auth/token";

    public TimeSpan? Latency { get; }

    public bool IssInResponse { get; }

    /// <summary>The practitioner the next id_token names (fhirUser and subject): the EHR user who launches.</summary>
    public string FhirUserId { get; set; } = PractitionerId;

    /// <summary>The JWKS the token endpoint checks client assertions with (the app's published set; set by the test).</summary>
    public string? ClientJwks { get; set; }

    public int AccessTokenSeconds { get; set; } = 3600;

    public bool OmitPatient { get; set; }

    /// <summary>The token endpoint's answer when set (a status and body), instead of tokens.</summary>
    public (int Status, string Body)? TokenFailure { get; set; }

    /// <summary>Signs id_tokens with another key than the published one.</summary>
    public bool ForgeIdToken { get; set; }

    public ConcurrentQueue<Dictionary<string, string>> TokenRequests { get; } = new();

    public ConcurrentQueue<string> IssuedAccessTokens { get; } = new();

    public ConcurrentQueue<string> IssuedSecrets { get; } = new();

    public IEnumerable<WireMock.Logging.ILogEntry> Log => server.LogEntries;

    public int RequestCount => server.LogEntries.Count;

    public WireMockServer Server => server;

    /// <summary>
    /// The JWKS the token endpoint checks the functions app's backend-services assertions with (client
    /// <see cref="BackendClientId"/>, <c>client_credentials</c>); set by a test that lets the write-back in.
    /// </summary>
    public string? BackendClientJwks { get; set; }

    /// <summary>The status a ServiceRequest create is answered with (201 with the EHR's copy; otherwise an OperationOutcome).</summary>
    public int ServiceRequestCreateStatus { get; set; } = 201;

    /// <summary>Runs (on WireMock's thread) before a ServiceRequest create is answered: a test may hold the answer back there.</summary>
    public Action? BeforeServiceRequestCreate { get; set; }

    /// <summary>Runs (on WireMock's thread) before SMART discovery is answered: a test may hold the answer back there.</summary>
    public Action? BeforeDiscovery { get; set; }

    private bool Hold()
    {
        BeforeServiceRequestCreate?.Invoke();
        return true;
    }

    /// <summary>The FHIR creates of a resource type the EHR received (refused ones too).</summary>
    public IReadOnlyList<WireMock.Logging.ILogEntry> Creates(string type) =>
        [.. server.LogEntries.Where(e => e.RequestMessage!.Method == "POST" && e.RequestMessage.Path == $"/fhir/{type}")];

    /// <summary>Every request to <paramref name="path"/> (under the FHIR base, e.g. <c>/fhir/Condition</c>) answered with <paramref name="status"/> and an OperationOutcome.</summary>
    public void Refuse(string path, int status) =>
        server.Given(Request.Create().WithPath(path)).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/fhir+json")
                .WithBody("{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"forbidden\"}]}"));

    /// <summary>
    /// Requests to <paramref name="path"/> (with <paramref name="method"/>) never answered while the test runs (slower
    /// than the app waits, by any clock; released when the fake EHR stops): the task ends when the app has asked, so the
    /// test can then move the app's clock past its timeout.
    /// </summary>
    public System.Threading.Tasks.Task Slow(string path, string method)
    {
        var asked = new System.Threading.Tasks.TaskCompletionSource(System.Threading.Tasks.TaskCreationOptions.RunContinuationsAsynchronously);
        server.Given(Request.Create().WithPath(path).UsingMethod(method)).AtPriority(1)
            .RespondWith(HeldAnswer.Until(over.Task, "application/json", "{}", () => asked.TrySetResult()));
        return asked.Task;
    }

    public void Dispose()
    {
        over.TrySetResult();
        server.Stop();
        lease.Dispose();
    }

    private IResponseBuilder Delayed() => Latency is { } delay ? Response.Create().WithDelay(delay) : Response.Create();

    // Lower numbers win in WireMock.Net: the standard answers leave room for a test's override (Slow).
    private void Given(string path, string method, string body, string contentType = "application/json") =>
        server.Given(Request.Create().WithPath(path).UsingMethod(method)).AtPriority(10).RespondWith(Delayed().WithHeader("Content-Type", contentType).WithBody(body));

    private void Discovery(bool v2)
    {
        string[] capabilities = v2
            ? ["launch-ehr", "launch-standalone", "client-confidential-asymmetric", "sso-openid-connect", "context-ehr-patient", "context-standalone-patient", "context-passthrough-banner", "context-passthrough-style", "permission-online", "permission-patient", "permission-user", "permission-v1", "permission-v2"]
            : ["launch-ehr", "launch-standalone", "client-confidential-asymmetric", "sso-openid-connect", "context-ehr-patient", "context-standalone-patient", "permission-online", "permission-patient", "permission-user", "permission-v1"];
        var configuration = new Dictionary<string, object>
        {
            ["issuer"] = Base,
            ["jwks_uri"] = Base + "/.well-known/jwks.json",
            ["authorization_endpoint"] = Base + "/auth/authorize",
            ["token_endpoint"] = TokenEndpoint,
            ["token_endpoint_auth_methods_supported"] = new[] { "private_key_jwt" },
            ["token_endpoint_auth_signing_alg_values_supported"] = new[] { "RS384", "ES384" },
            ["grant_types_supported"] = new[] { "authorization_code", "refresh_token", "client_credentials" },
            ["scopes_supported"] = v2 ? new[] { "openid", "fhirUser", "launch", "launch/patient", "patient/*.rs", "user/*.rs", "patient/*.c" } : new[] { "openid", "fhirUser", "launch", "launch/patient", "patient/*.read", "user/*.read", "patient/*.write" },
            ["response_types_supported"] = new[] { "code" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["capabilities"] = capabilities,
        };
        if (IssInResponse)
        {
            configuration["authorization_response_iss_parameter_supported"] = true;
        }

        var discovery = Json(configuration);
        server.Given(Request.Create().WithPath("/fhir/.well-known/smart-configuration").UsingGet()).AtPriority(10)
            .RespondWith(Delayed().WithCallback(_ =>
            {
                BeforeDiscovery?.Invoke();
                return JsonResponse(200, discovery);
            }));
    }

    /// <summary>Approves at once, as an EHR does inside its own session: back to the redirect URI with a code and the state.</summary>
    private ResponseMessage Authorize(IRequestMessage request)
    {
        var query = request.Query!;
        var code = "code-" + Guid.NewGuid().ToString("N");
        challenges[code] = query["code_challenge"].ToString();
        var location = QueryHelpers.AddQueryString(query["redirect_uri"].ToString(), new Dictionary<string, string?>
        {
            ["code"] = code,
            ["state"] = query["state"].ToString(),
            ["iss"] = IssInResponse ? FhirBase : null,
        });
        return new ResponseMessage { StatusCode = 302, Headers = new Dictionary<string, WireMockList<string>> { ["Location"] = new(location) } };
    }

    private ResponseMessage Token(IRequestMessage request)
    {
        var form = QueryHelpers.ParseQuery(request.Body ?? "").ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
        TokenRequests.Enqueue(form);
        if (TokenFailure is { } failure)
        {
            return JsonResponse(failure.Status, failure.Body);
        }

        if (form.GetValueOrDefault("grant_type") == "client_credentials")
        {
            return BackendToken(form);
        }

        if (!AssertionIsValid(form.GetValueOrDefault("client_assertion")))
        {
            return JsonResponse(401, "{\"error\":\"invalid_client\"}");
        }

        if (form.GetValueOrDefault("grant_type") == "authorization_code"
            && (!challenges.TryRemove(form.GetValueOrDefault("code") ?? "", out var challenge)
                || Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form.GetValueOrDefault("code_verifier") ?? ""))) != challenge))
        {
            return JsonResponse(400, "{\"error\":\"invalid_grant\"}");
        }

        var accessToken = "at-" + Guid.NewGuid().ToString("N");
        var refreshToken = "rt-" + Guid.NewGuid().ToString("N");
        IssuedAccessTokens.Enqueue(accessToken);
        IssuedSecrets.Enqueue(accessToken);
        IssuedSecrets.Enqueue(refreshToken);
        var body = new Dictionary<string, object>
        {
            ["access_token"] = accessToken,
            ["token_type"] = "Bearer",
            ["expires_in"] = AccessTokenSeconds,
            ["refresh_token"] = refreshToken,
            ["scope"] = "launch openid fhirUser online_access patient/Patient.rs patient/Condition.rs patient/Coverage.rs patient/MedicationRequest.rs user/Practitioner.rs",
        };
        if (form.GetValueOrDefault("grant_type") == "authorization_code")
        {
            var idToken = IdToken();
            IssuedSecrets.Enqueue(idToken);
            body["id_token"] = idToken;
            body["need_patient_banner"] = true;
            body["smart_style_url"] = Base + "/smart-style.json";
            if (!OmitPatient)
            {
                body["patient"] = PatientId;
            }
        }

        return JsonResponse(200, JsonSerializer.Serialize(body));
    }

    /// <summary>SMART Backend Services: an access token for the functions app's write-back, when its assertion checks out.</summary>
    private ResponseMessage BackendToken(Dictionary<string, string> form)
    {
        if (BackendClientJwks is null || !AssertionIsValid(form.GetValueOrDefault("client_assertion"), BackendClientId, BackendClientJwks))
        {
            return JsonResponse(401, "{\"error\":\"invalid_client\"}");
        }

        return JsonResponse(200, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["access_token"] = "backend-" + Guid.NewGuid().ToString("N"),
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
            ["scope"] = form.GetValueOrDefault("scope") ?? "",
        }));
    }

    private bool AssertionIsValid(string? assertion) => AssertionIsValid(assertion, ClientId, ClientJwks);

    private bool AssertionIsValid(string? assertion, string clientId, string? jwks)
    {
        if (assertion is null || jwks is null)
        {
            return false;
        }

        var result = handler.ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            ValidIssuer = clientId,
            ValidAudience = TokenEndpoint,
            IssuerSigningKeys = new JsonWebKeySet(jwks).GetSigningKeys(),
            ValidAlgorithms = ["RS384", "ES384"],
            ValidTypes = ["JWT"],
            LifetimeValidator = TestClock.Lifetime(Time),
        }).GetAwaiter().GetResult();
        return result.IsValid;
    }

    private string IdToken()
    {
        var signingKey = ForgeIdToken ? new RsaSecurityKey(RSA.Create(2048)) { KeyId = lease.Key.KeyId } : lease.Key;
        var now = Time.GetUtcNow().UtcDateTime;
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Base,
            Audience = ClientId,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddHours(1),
            Claims = new Dictionary<string, object>
            {
                ["sub"] = FhirUserId,
                ["fhirUser"] = $"{FhirBase}/Practitioner/{FhirUserId}",
            },
            SigningCredentials = new SigningCredentials(signingKey, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>Where the sandbox's Dana Whitfield lives, with its position (FHIR's geolocation extension): the form measures distances from it.</summary>
    public static Address Home
    {
        get
        {
            var address = new Address { Use = Address.AddressUse.Home, Line = ["2415 NE Alberta St"], City = "Portland", State = "OR", PostalCode = "97211", Country = "US" };
            address.Extension.Add(new Extension
            {
                Url = "http://hl7.org/fhir/StructureDefinition/geolocation",
                Extension = [new Extension("latitude", new FhirDecimal(45.5590m)), new Extension("longitude", new FhirDecimal(-122.6412m))],
            });
            return address;
        }
    }

    private void Fhir()
    {
        var patient = new Patient
        {
            Id = PatientId,
            Name = [new HumanName { Use = HumanName.NameUse.Official, Given = ["Dana"], Family = "Whitfield", Text = "Dana Whitfield" }],
            Gender = AdministrativeGender.Female,
            BirthDate = "1981-04-12",
            Identifier = [new Identifier("urn:mrn", "MRN-100001") { Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR") }],
            Address = [Home],
        };
        var condition = new Condition
        {
            Id = PatientId + "-g56-01",
            Code = new CodeableConcept
            {
                Coding = [new Coding("http://hl7.org/fhir/sid/icd-10-cm", "G56.01", "Carpal tunnel syndrome, right upper limb"), new Coding("http://snomed.info/sct", "57406009", "Carpal tunnel syndrome")],
                Text = "Carpal tunnel syndrome, right wrist",
            },
            Subject = new ResourceReference("Patient/" + PatientId),
        };
        var coverage = new Coverage
        {
            Id = PatientId + "-coverage",
            Status = FinancialResourceStatusCodes.Active,
            Type = new CodeableConcept { Coding = [new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "WCBPOL", "worker's compensation")] },
            Beneficiary = new ResourceReference("Patient/" + PatientId),
            Payor = [new ResourceReference("Organization/evergreen", "Evergreen Workers' Compensation Insurance")],
            Identifier = [new Identifier("urn:claims", "WC-2026-004817") { Type = new CodeableConcept { Text = "Claim number" } }],
        };
        var practitioner = new Practitioner
        {
            Id = PractitionerId,
            Name = [new HumanName { Prefix = ["Dr."], Given = ["Amelia"], Family = "Stone", Suffix = ["MD"] }],
        };
        Given($"/fhir/Patient/{PatientId}", "GET", FhirJson.Serialize(patient), "application/fhir+json");
        var other = new Practitioner
        {
            Id = OtherPractitionerId,
            Name = [new HumanName { Prefix = ["Dr."], Given = ["Omar"], Family = "Haddad", Suffix = ["MD"] }],
        };
        Given($"/fhir/Practitioner/{PractitionerId}", "GET", FhirJson.Serialize(practitioner), "application/fhir+json");
        Given($"/fhir/Practitioner/{OtherPractitionerId}", "GET", FhirJson.Serialize(other), "application/fhir+json");
        Given("/fhir/Condition", "GET", FhirJson.Serialize(Searchset(condition)), "application/fhir+json");
        Given("/fhir/Coverage", "GET", FhirJson.Serialize(Searchset(coverage)), "application/fhir+json");
        Given("/fhir/MedicationRequest", "GET", FhirJson.Serialize(Searchset()), "application/fhir+json");
        Given("/smart-style.json", "GET", "{\"color_highlight\":\"#0b5e7a\",\"color_text\":\"#1d2a33\",\"font_family_body\":\"system-ui, sans-serif\",\"color_background\":\"url(javascript:alert(1))\"}");
        server.Given(Request.Create().WithPath("/fhir/ServiceRequest").UsingPost()).AtPriority(10)
            .RespondWith(Delayed().WithCallback(_ => Hold() && ServiceRequestCreateStatus == 201
                ? new ResponseMessage
                {
                    StatusCode = 201,
                    Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/fhir+json"), ["Location"] = new($"{FhirBase}/ServiceRequest/copy-1/_history/1") },
                    BodyData = new BodyData
                    {
                        BodyAsString = "{\"resourceType\":\"ServiceRequest\",\"id\":\"copy-1\",\"status\":\"active\",\"intent\":\"order\",\"subject\":{\"reference\":\"Patient/dana-whitfield\"}}",
                        DetectedBodyType = BodyType.String,
                        Encoding = Encoding.UTF8,
                    },
                }
                : JsonResponse(ServiceRequestCreateStatus, "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"business-rule\",\"diagnostics\":\"Orders from external applications are not accepted for this patient.\"}]}")));
    }

    private static Bundle Searchset(params Resource[] resources) => new()
    {
        Type = Bundle.BundleType.Searchset,
        Total = resources.Length,
        Entry = [.. resources.Select(r => new Bundle.EntryComponent { Resource = r, Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match } })],
    };

    private string Jwks()
    {
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(lease.Key.Rsa.ExportParameters(false)) { KeyId = lease.Key.KeyId });
        return JsonSerializer.Serialize(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } } });
    }

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static ResponseMessage JsonResponse(int status, string body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
        BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String, Encoding = Encoding.UTF8 },
    };
}

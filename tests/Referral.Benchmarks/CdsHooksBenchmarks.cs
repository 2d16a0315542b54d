using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Model.Fhir;
using Referral.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Referral.Benchmarks;

/// <summary>
/// The CDS Hooks <c>patient-view</c> service as an EHR calls it without prefetch, so the service reads the problem
/// list and medications from the EHR's FHIR server, which answers each read in 50 ms (WireMock): the JWT check (keys
/// cached, jti stored in Azurite), the two reads in parallel, the open-referral lookup and the audit record. One call
/// per iteration; Program prints the p99, whose target is under 500 ms (an EHR's hook budget is a few seconds).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 10, iterationCount: 300, invocationCount: 1)]
public class CdsHooksBenchmarks : IDisposable
{
    public static readonly TimeSpan FhirLatency = TimeSpan.FromMilliseconds(50);
    public static readonly TimeSpan Target = TimeSpan.FromMilliseconds(500);

    private const string Issuer = "http://ehr.bench";
    private const string Service = "medical-massage-referral";

    private readonly RsaSecurityKey key = new(RSA.Create(2048)) { KeyId = "bench-ehr-1" };
    private readonly JsonWebTokenHandler handler = new();
    private AzuriteProcess azurite = null!;
    private WireMockServer ehr = null!;
    private FunctionsFactory functions = null!;
    private HttpClient client = null!;
    private string body = "";

    [GlobalSetup]
    public void Setup()
    {
        azurite = new AzuriteProcess();
        azurite.StartAsync().AsTask().GetAwaiter().GetResult();
        ehr = WireMockServer.Start();
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.Rsa.ExportParameters(false)) { KeyId = key.KeyId });
        ehr.Given(Request.Create().WithPath("/jwks").UsingGet()).RespondWith(Response.Create().WithHeader("Content-Type", "application/json")
            .WithBody(JsonSerializer.Serialize(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", n = jwk.N, e = jwk.E } } })));
        var problems = new Bundle { Type = Bundle.BundleType.Searchset };
        problems.Entry.Add(new Bundle.EntryComponent
        {
            Resource = new Condition
            {
                Id = "c1",
                Subject = new ResourceReference("Patient/bench-patient"),
                ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
                Code = new CodeableConcept("http://hl7.org/fhir/sid/icd-10-cm", "I89.0", "Lymphedema"),
            },
        });
        ehr.Given(Request.Create().WithPath("/fhir/Condition").UsingGet()).RespondWith(Response.Create().WithDelay(FhirLatency)
            .WithHeader("Content-Type", "application/fhir+json").WithBody(FhirJson.Serialize(problems)));
        ehr.Given(Request.Create().WithPath("/fhir/MedicationRequest").UsingGet()).RespondWith(Response.Create().WithDelay(FhirLatency)
            .WithHeader("Content-Type", "application/fhir+json").WithBody(FhirJson.Serialize(new Bundle { Type = Bundle.BundleType.Searchset })));

        functions = new FunctionsFactory(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["TriggerRunner:Enabled"] = "false",
            ["Therapists:Seed"] = "false",
            ["Auth:Physician:Issuer"] = "http://smart-app.bench",
            ["Auth:Physician:JwksUrl"] = "http://127.0.0.1:9/jwks",
            ["Auth:Therapist:Authority"] = "http://127.0.0.1:9/idp",
            ["CdsHooks:BaseUrl"] = "http://localhost",
            ["CdsHooks:AppLaunchUrl"] = "http://smart-app.bench/launch",
            ["CdsHooks:Clients:0:Issuer"] = Issuer,
            ["CdsHooks:Clients:0:JwksUrl"] = ehr.Urls[0] + "/jwks",
            ["CdsHooks:Clients:0:FhirServer"] = ehr.Urls[0] + "/fhir",
        });
        client = functions.CreateClient();
        body = new JsonObject
        {
            ["hook"] = "patient-view",
            ["hookInstance"] = Guid.NewGuid().ToString(),
            ["fhirServer"] = ehr.Urls[0] + "/fhir",
            ["fhirAuthorization"] = new JsonObject { ["access_token"] = "bench-token", ["token_type"] = "Bearer", ["expires_in"] = 300, ["scope"] = "patient/Condition.rs", ["subject"] = "cds" },
            ["context"] = new JsonObject { ["userId"] = "Practitioner/dr-bench", ["patientId"] = "bench-patient" },
        }.ToJsonString();
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            client?.Dispose();
            functions?.Dispose();
            ehr?.Stop();
            azurite?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            key.Rsa.Dispose();
        }
    }

    [Benchmark]
    public async System.Threading.Tasks.Task<int> PatientViewReadingTheFhirServer()
    {
        var now = TestClock.Now.UtcDateTime;
        var jwt = handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = $"http://localhost/cds-services/{Service}",
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            Subject = new ClaimsIdentity(),
            Claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString("N") },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha384),
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/cds-services/{Service}", UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", jwt);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.OK && text.Contains("Lymphedema", StringComparison.Ordinal)
            ? 1
            : throw new InvalidOperationException($"The service answered {(int)response.StatusCode} without the card.");
    }

    private sealed class FunctionsFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Referral.Functions.Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            foreach (var (name, value) in settings)
            {
                builder.UseSetting(name, value);
            }
        }
    }
}

using System.Net;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Referral.Benchmarks;

/// <summary>
/// Launch to form, with every EHR call 50 ms slow (WireMock): /launch (discovery cached), the EHR's authorize, the
/// token request, one parallel round of FHIR reads, and the form page. Program prints the mean as a multiple of
/// the latency; the target is at most 4 (authorize, token, reads, and room for the app's own work).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class LaunchBenchmarks : IDisposable
{
    public static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(50);

    private FakeEhr ehr = null!;
    private WireMockServer functions = null!;
    private SmartApp app = null!;
    private HttpClient http = null!;

    [GlobalSetup]
    public void Setup()
    {
        ehr = new FakeEhr(v2: true, latency: Latency);
        functions = WireMockServer.Start();
        var directory = new Bundle
        {
            Type = Bundle.BundleType.Searchset,
            Entry =
            [
                new Bundle.EntryComponent
                {
                    Resource = new PractitionerRole
                    {
                        Id = "therapist-sam-rivera",
                        Active = true,
                        Practitioner = new ResourceReference("Practitioner/therapist-sam-rivera", "Sam Rivera, LMT"),
                        Code = [MedicalMassageServiceRequest.PerformerType.ToCodeableConcept()],
                    },
                },
            ],
        };
        functions.Given(Request.Create().WithPath("/api/fhir/PractitionerRole").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/fhir+json").WithBody(FhirJson.Serialize(directory)));
        app = new SmartApp(new Dictionary<string, string?>
        {
            ["App:BaseUrl"] = "https://localhost",
            ["Ehrs:0:Iss"] = ehr.FhirBase,
            ["Ehrs:0:ClientId"] = FakeEhr.ClientId,
            ["Ehrs:0:Name"] = "Benchmark EHR",
            ["Ehrs:0:Scopes"] = "",
            ["Functions:BaseUrl"] = functions.Urls[0],
            ["SigningKeys:DevelopmentDirectory"] = Path.Combine(Path.GetTempPath(), "referral-benchmark-keys"),
        });
        http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var browser = Browser();
        ehr.ClientJwks = browser.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative)).GetAwaiter().GetResult();
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
            http?.Dispose();
            app?.Dispose();
            functions?.Stop();
            ehr?.Dispose();
        }
    }

    /// <summary>A new physician (a new browser session) each time; the EHR's discovery and keys are cached by then.</summary>
    [Benchmark]
    public async System.Threading.Tasks.Task<int> LaunchToForm()
    {
        using var browser = Browser();
        using var launch = await browser.GetAsync(new Uri($"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}&launch=bench", UriKind.Relative));
        using var authorize = await http.GetAsync(launch.Headers.Location!);
        using var callback = await browser.GetAsync(new Uri(authorize.Headers.Location!.PathAndQuery, UriKind.Relative));
        using var form = await browser.GetAsync(new Uri(callback.Headers.Location!.ToString(), UriKind.Relative));
        return form.StatusCode == HttpStatusCode.OK ? 1 : throw new InvalidOperationException($"The form answered {(int)form.StatusCode}.");
    }

    private HttpClient Browser() => app.CreateClient(new WebApplicationFactoryClientOptions
    {
        BaseAddress = new Uri("https://localhost"),
        AllowAutoRedirect = false,
        HandleCookies = true,
    });

    private sealed class SmartApp(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Referral.SmartApp.Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}

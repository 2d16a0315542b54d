using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Therapists;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The local run of <c>infra/local/run.sh</c> on free loopback ports, for browser journeys: the sandbox EHR (with
/// the smart-app, the functions' backend-services client and the therapist inbox registered at these ports), the
/// functions app on the given Azurite (seeded therapists, write-back to the sandbox, therapist tokens from the
/// sandbox) and the smart-app. The functions' queue and timer functions run when a test calls
/// <see cref="FunctionsApp.Triggers"/>, so a journey decides when the "background" work happens. All three run on one
/// clock, <see cref="Time"/>: the one given (a journey that moves time gives a FakeTimeProvider), else the test run's.
/// </summary>
public sealed class LocalRun : IAsyncDisposable
{
    private readonly ServerLog log;

    private LocalRun(TimeProvider time, ServerLog log, SandboxHost sandbox, FunctionsApp functions, SmartAppHost app, string ehrBase, string appBase, string functionsBase)
    {
        this.log = log;
        Time = time;
        Sandbox = sandbox;
        Functions = functions;
        App = app;
        EhrBase = ehrBase;
        AppBase = appBase;
        FunctionsBase = functionsBase;
    }

    /// <summary>The one clock of the three apps.</summary>
    public TimeProvider Time { get; }

    public SandboxHost Sandbox { get; }

    public FunctionsApp Functions { get; }

    public SmartAppHost App { get; }

    /// <summary>The sandbox EHR's address; its FHIR base (the launches' <c>iss</c>) is <see cref="Fhir"/>.</summary>
    public string EhrBase { get; }

    public string Fhir => EhrBase + "/fhir";

    public string AppBase { get; }

    public string FunctionsBase { get; }

    /// <summary>Starts the three apps on free loopback ports; <paramref name="appSettings"/> add to the smart-app's.</summary>
    public static async Task<LocalRun> StartAsync(
        AzuriteFixture azurite, CancellationToken cancellationToken, IReadOnlyDictionary<string, string?>? appSettings = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        time ??= TestClock.Provider;
        var (ehrPort, appPort, functionsPort) = (Loopback.FreePort(), Loopback.FreePort(), Loopback.FreePort());
        var ehrBase = $"http://127.0.0.1:{ehrPort}";
        var appBase = $"http://127.0.0.1:{appPort}";
        var functionsBase = $"http://127.0.0.1:{functionsPort}";
        // The apps' log lines, one file per journey (named in the test's output), so a journey that fails in the browser says which call it waited for.
        var log = ServerLog.ForTest(ehrPort.ToString(System.Globalization.CultureInfo.InvariantCulture), time);

        // The same registrations run.sh makes: clients 0 (smart-app), 1 (functions backend services), 2 (therapist inbox).
        var sandbox = new SandboxHost(new Dictionary<string, string?>
        {
            ["Sandbox:BaseUrl"] = ehrBase,
            ["Sandbox:Clients:0:LaunchUrl"] = appBase + "/launch",
            ["Sandbox:Clients:0:RedirectUris:0"] = appBase + "/callback",
            ["Sandbox:Clients:0:JwksUrl"] = appBase + "/.well-known/jwks.json",
            ["Sandbox:Clients:1:JwksUrl"] = functionsBase + "/api/backend/jwks.json",
            ["Sandbox:Clients:2:RedirectUris:0"] = appBase + "/signin-oidc",
            ["Sandbox:Clients:2:PostLogoutRedirectUris:0"] = appBase + "/signout-callback-oidc",
            ["Sandbox:CdsServices"] = functionsBase,
        }, time)
        { Log = log.For("ehr") };
        sandbox.UseKestrel(o => o.Listen(IPAddress.Loopback, ehrPort));
        sandbox.StartServer();

        var functions = new FunctionsApp(azurite.ConnectionString, settings: new Dictionary<string, string?>
        {
            ["Auth:RequireHttpsMetadata"] = "false",
            ["Auth:Physician:Issuer"] = appBase,
            ["Auth:Physician:JwksUrl"] = appBase + "/.well-known/api-jwks.json",
            ["Auth:Therapist:Authority"] = ehrBase,
            ["SmartApp:BaseUrl"] = appBase,
            ["Ehrs:0:Iss"] = ehrBase + "/fhir",
            ["Ehrs:0:ClientId"] = "medical-massage-functions",
            ["Ehrs:0:WriteBack"] = "true",
            ["Ehrs:0:WriteServiceRequest"] = "true",
            // The sandbox calls the CDS services as a registered CDS client (its JWTs signed by its own key).
            ["CdsHooks:BaseUrl"] = functionsBase,
            ["CdsHooks:AppLaunchUrl"] = appBase + "/launch",
            ["CdsHooks:Clients:0:Issuer"] = ehrBase,
            ["CdsHooks:Clients:0:JwksUrl"] = ehrBase + "/.well-known/jwks.json",
            ["CdsHooks:Clients:0:FhirServer"] = ehrBase + "/fhir",
        }, time: time)
        {
            TestServices = services => services.AddSingleton(log.For("api")),
            WorkerTestServices = services => services.AddSingleton(log.For("worker")),
        };
        functions.UseKestrel(o => o.Listen(IPAddress.Loopback, functionsPort));
        functions.StartServer();
        var directory = functions.Services.GetRequiredService<TherapistDirectory>();
        foreach (var role in TherapistSeed.Therapists)
        {
            await directory.UpsertAsync(role, cancellationToken);
        }

        // Traffic reaches the API once it is ready, as readiness holds it in Azure: Firely's validator, loaded in the
        // background from the API's start (PackageWarmUp), can take longer than the smart-app's 15 s call timeout.
        await functions.Services.GetRequiredService<Referral.Functions.Conformance.PackageWarmUp>().Package.WaitAsync(TimeSpan.FromMinutes(3), cancellationToken);

        var settings = new Dictionary<string, string?>
        {
            ["App:BaseUrl"] = appBase,
            ["Ehrs:0:Iss"] = ehrBase + "/fhir",
            ["Functions:BaseUrl"] = functionsBase,
            ["Inbox:Authority"] = ehrBase,
        };
        foreach (var (key, value) in appSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var app = new SmartAppHost(settings, time) { Log = log.For("app") };
        app.StartOnLoopback(appPort);
        return new LocalRun(time, log, sandbox, functions, app, ehrBase, appBase, functionsBase);
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Functions.DisposeAsync();
        await Sandbox.DisposeAsync();
        log.Dispose();
    }
}

using Microsoft.Extensions.Options;
using Referral.Functions.Audit;
using Referral.Functions.Backup;
using Referral.Functions.CdsHooks;
using Referral.Functions.Conformance;
using Referral.Functions.Fhir;
using Referral.Functions.Health;
using Referral.Functions.Referrals;
using Referral.Functions.Reports;
using Referral.Functions.Security;
using Referral.Functions.Sessions;
using Referral.Functions.Storage;
using Referral.Functions.Therapists;
using Referral.Functions.WriteBack;
using Referral.Model.Referrals;
using Referral.Operations;

namespace Referral.Functions;

public sealed class Program
{
    private Program()
    {
    }

    public static async Task Main(string[] args)
    {
        // An operator's command, not the app: load a table backup into fresh tables, then exit.
        if (RestoreCommand.Matches(args))
        {
            Environment.ExitCode = await RestoreCommand.RunAsync(args, Console.Out, CancellationToken.None);
            return;
        }

        var builder = WebApplication.CreateBuilder(args);

        // Operations: traces and metrics (exported only where settings say); on SIGTERM the requests in hand get long
        // enough to finish.
        builder.AddTelemetry("referral-functions", "/api/health").AddGracefulShutdown(TimeSpan.FromSeconds(45)).AddRequestLog();

        // No request of this API is near this size; FHIR bodies have their own, smaller limit (FhirBody).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 256 * 1024);

        // The one place this app takes the machine clock (RS0030 bans it elsewhere): every component reads time through
        // the TimeProvider registered here, which the tests replace with a fake clock.
#pragma warning disable RS0030 // Why: this one registration is where the app takes the machine clock; everything else reads the injected TimeProvider.
        builder.Services.AddSingleton(TimeProvider.System);
#pragma warning restore RS0030
        builder.Services.AddSingleton<StorageAccount>();
        builder.Services.AddSingleton<StorageReadiness>();
        builder.Services.AddSingleton<AuditTrail>();
        builder.Services.AddSingleton<TherapistDirectory>();
        builder.Services.AddHostedService<TherapistSeed>();
        builder.Services.AddSingleton<ReferralStore>();
        builder.Services.AddSingleton<ReportSource>();
        builder.Services.AddSingleton<PageTokens>();
        builder.Services.AddSingleton<ReferralNotifications>();
        builder.Services.AddOptions<ReferralTimeRules>().BindConfiguration(ReferralTimeRules.Section)
            .Validate(r => r.IsUsable, ReferralTimeRules.SettingsRule).ValidateOnStart();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<ReferralTimeRules>>().Value);
        builder.Services.AddSingleton<ReferralValidator>();
        // Firely's validator with the referral package and the core specification: read once per process, not per request,
        // and in the background from the app's start (PackageWarmUp); a request that needs it sooner waits for that load.
        builder.Services.AddSingleton<PackageWarmUp>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PackageWarmUp>());
        builder.Services.AddSingleton(sp => sp.GetRequiredService<PackageWarmUp>().Package.GetAwaiter().GetResult());
        builder.Services.AddSingleton<Referral.Model.Terminology.ValueSetExpander>();
        builder.Services.AddSingleton<Referral.Model.Sessions.SessionRecorder>();
        EhrRegistry.AddEhrRegistry(builder.Services, builder.Configuration);
        // The public half of the backend-services keys is served here (/api/backend/jwks.json); the worker signs with them.
        BackendSigningKeys.Add(builder.Services, builder.Configuration);
        builder.Services.AddApiAuthentication(builder.Configuration);
        builder.Services.AddApiRateLimits(builder.Configuration);
        builder.Services.AddCdsHooks();

        var app = builder.Build();

        // Fail at start, naming the missing setting, rather than on the first request.
        _ = app.Services.GetRequiredService<StorageAccount>();

        app.UseRequestLog("/api/health");
        app.UseFhirErrors();
        // Before routing: a HEAD is routed as its GET; a format the API does not write is a 406.
        app.UseFhirFormats();
        app.UseRouting();
        app.UseAuthentication();
        // After authentication: the limit is per caller (token subject), anonymous callers per client address.
        app.UseRateLimiter();
        app.UseAuthorization();

        app.MapHealth();
        app.MapAudit();
        app.MapEhrRegistrations();
        app.MapTherapistDirectory();
        app.MapReferrals();
        app.MapTasks();
        app.MapRenewals();
        app.MapMessages();
        app.MapSessions();
        app.MapReports();
        app.MapBackendJwks();
        app.MapConformance();
        app.MapCdsHooks();
        app.MapBatch();
        // Last, once every endpoint is mapped: the router and the authorization policy cache share one build of them.
        app.BuildEndpointsOnce();

        await app.RunAsync();
    }
}

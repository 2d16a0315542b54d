using Referral.Functions.Audit;
using Referral.Functions.Conformance;
using Referral.Functions.Fhir;
using Referral.Functions.Health;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Functions.Sessions;
using Referral.Functions.Storage;
using Referral.Functions.Therapists;
using Referral.Functions.WriteBack;

namespace Referral.Functions;

public sealed class Program
{
    private Program()
    {
    }

    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        // Under the Functions host, the app must listen where the host forwards requests.
        var customHandlerPort = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");
        if (!string.IsNullOrEmpty(customHandlerPort))
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{customHandlerPort}");
        }

        // No request of this API is near this size; FHIR bodies have their own, smaller limit (FhirBody).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 256 * 1024);

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<StorageAccount>();
        builder.Services.AddSingleton<AuditTrail>();
        builder.Services.AddSingleton<TherapistDirectory>();
        builder.Services.AddHostedService<TherapistSeed>();
        builder.Services.AddSingleton<ReferralStore>();
        builder.Services.AddSingleton<ReferralNotifications>();
        builder.Services.AddSingleton<Referral.Model.Referrals.ReferralValidator>();
        builder.Services.AddSingleton<Referral.Model.Terminology.ValueSetExpander>();
        builder.Services.AddSingleton<Referral.Model.Sessions.SessionRecorder>();
        EhrRegistry.AddEhrRegistry(builder.Services, builder.Configuration);
        builder.Services.AddApiAuthentication(builder.Configuration);

        var app = builder.Build();

        // Fail at start, naming the missing setting, rather than on the first request.
        _ = app.Services.GetRequiredService<StorageAccount>();

        app.UseFhirErrors();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapHealth();
        app.MapAudit();
        app.MapTherapistDirectory();
        app.MapReferrals();
        app.MapSessions();
        app.MapConformance();

        await app.RunAsync();
    }
}

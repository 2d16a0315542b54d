using Microsoft.Extensions.Options;
using Referral.Functions.Audit;
using Referral.Functions.Backup;
using Referral.Functions.CdsHooks;
using Referral.Functions.Conformance;
using Referral.Functions.Fhir;
using Referral.Functions.Health;
using Referral.Functions.Notifications;
using Referral.Functions.Referrals;
using Referral.Functions.Reminders;
using Referral.Functions.Security;
using Referral.Functions.Sessions;
using Referral.Functions.Storage;
using Referral.Functions.Therapists;
using Referral.Functions.Triggers;
using Referral.Functions.WriteBack;
using Referral.Model.Referrals;
using Referral.Model.Signing;
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

        // Operations: traces and metrics (exported only where settings say); on SIGTERM the requests and the queue
        // message in hand get long enough to finish (an EHR write's client timeout is 30 s).
        builder.AddTelemetry("referral-functions", "/api/health").AddGracefulShutdown(TimeSpan.FromSeconds(45));

        // Under the Functions host, the app must listen where the host forwards requests.
        var customHandlerPort = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");
        if (!string.IsNullOrEmpty(customHandlerPort))
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{customHandlerPort}");
        }

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
        builder.Services.AddSingleton<PageTokens>();
        builder.Services.AddSingleton<TableBackup>();
        builder.Services.AddOptions<BackupOptions>().BindConfiguration(BackupOptions.Section);
        builder.Services.AddSingleton<ReferralNotifications>();
        builder.Services.AddOptions<ReferralTimeRules>().BindConfiguration(ReferralTimeRules.Section)
            .Validate(r => r.IsUsable, ReferralTimeRules.SettingsRule).ValidateOnStart();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<ReferralTimeRules>>().Value);
        builder.Services.AddSingleton<ReferralValidator>();
        builder.Services.AddSingleton<Referral.Model.Terminology.ValueSetExpander>();
        builder.Services.AddSingleton<Referral.Model.Sessions.SessionRecorder>();
        EhrRegistry.AddEhrRegistry(builder.Services, builder.Configuration);
        AddBackgroundWork(builder);
        builder.Services.AddApiAuthentication(builder.Configuration);
        builder.Services.AddApiRateLimits(builder.Configuration);
        builder.Services.AddCdsHooks();

        var app = builder.Build();

        // Fail at start, naming the missing setting, rather than on the first request.
        _ = app.Services.GetRequiredService<StorageAccount>();

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
        app.MapTherapistDirectory();
        app.MapReferrals();
        app.MapRenewals();
        app.MapMessages();
        app.MapSessions();
        app.MapNotifications();
        app.MapEhrWriteBack();
        app.MapReminders();
        app.MapTokenReplayPurge();
        app.MapTableBackup();
        app.MapConformance();
        app.MapCdsHooks();

        await app.RunAsync();
    }

    /// <summary>The queue- and timer-triggered functions' services, and in Development the local trigger runner that fires them.</summary>
    private static void AddBackgroundWork(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddHttpClient();
        // An EHR that hangs must not hold a queue message for ever: the try fails and is retried later.
        services.AddHttpClient(BackendServicesTokens.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(30));

        services.AddOptions<BackendServicesOptions>().Bind(configuration.GetSection(BackendServicesOptions.Section))
            .Validate(o => o.AssertionLifetime > TimeSpan.Zero && o.AssertionLifetime <= TimeSpan.FromMinutes(5),
                "BackendServices:AssertionLifetime must be more than zero and at most five minutes (SMART).")
            // At start, not at the first write-back: keys load lazily, and a missing key must stop the deployment.
            .Validate<IOptions<KeyVaultOptions>, IHostEnvironment>(
                (o, vault, environment) => vault.Value.Configured || o.Keys.Any(k => !string.IsNullOrWhiteSpace(k.PrivateKeyPem)) || (environment.IsDevelopment() && !string.IsNullOrWhiteSpace(o.DevelopmentKeysFolder)),
                BackendSigningKeys.NoKeyMessage)
            .ValidateOnStart();
        services.AddKeyVaultSigning(configuration, BackendSigningKeys.VaultKeyUse);
        services.AddSingleton<BackendSigningKeys>();
        services.AddSingleton<BackendServicesTokens>();

        services.AddOptions<SmartAppOptions>().Bind(configuration.GetSection(SmartAppOptions.Section))
            .Validate(o => Uri.TryCreate(o.BaseUrl, UriKind.Absolute, out _), "SmartApp:BaseUrl must be the smart-app's absolute base URL (messages link to it).")
            .ValidateOnStart();
        services.AddOptions<NotificationOptions>().Bind(configuration.GetSection(NotificationOptions.Section))
            .Validate(o => MimeKit.MailboxAddress.TryParse(o.From, out _), "Notifications:From must be the email address notifications come from.")
            .Validate(o => o.Sender != SenderKind.Smtp || !string.IsNullOrWhiteSpace(o.Smtp.Host), "Notifications:Smtp:Host is missing (Notifications:Sender is Smtp).")
            .Validate(o => o.Sender != SenderKind.PickupFolder || !string.IsNullOrWhiteSpace(o.PickupFolder), "Notifications:PickupFolder is missing (Notifications:Sender is PickupFolder).")
            .ValidateOnStart();
        services.AddSingleton<INotificationSender>(sp =>
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<NotificationOptions>>().Value.Sender == SenderKind.PickupFolder
                ? ActivatorUtilities.CreateInstance<PickupFolderSender>(sp)
                : ActivatorUtilities.CreateInstance<SmtpSender>(sp));

        services.AddOptions<ReminderOptions>().Bind(configuration.GetSection(ReminderOptions.Section))
            .Validate(o => o.RemindTherapistAfter > TimeSpan.Zero && o.TellPhysicianAfter >= o.RemindTherapistAfter && o.ExpiryWarningBefore >= TimeSpan.Zero,
                "Reminders: RemindTherapistAfter must be positive, TellPhysicianAfter at least as long, ExpiryWarningBefore not negative.")
            .ValidateOnStart();

        // Without the Functions host nothing fires queue or timer triggers; in Development this runner does (DESIGN.md §3).
        if (builder.Environment.IsDevelopment())
        {
            services.AddOptions<TriggerRunnerOptions>().Bind(configuration.GetSection(TriggerRunnerOptions.Section));
            services.AddHttpClient(LocalTriggerRunner.HttpClientName);
            services.AddSingleton<LocalTriggerRunner>();
            services.AddHostedService(sp => sp.GetRequiredService<LocalTriggerRunner>());
        }
    }
}

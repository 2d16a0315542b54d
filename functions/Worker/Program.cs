using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Options;
using Referral.Functions.Audit;
using Referral.Functions.Backup;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Functions.Storage;
using Referral.Functions.Therapists;
using Referral.Functions.WriteBack;
using Referral.Operations;
using Referral.Worker.Backup;
using Referral.Worker.Notifications;
using Referral.Worker.Reminders;
using Referral.Worker.Triggers;
using Referral.Worker.WriteBack;

namespace Referral.Worker;

/// <summary>
/// The background functions' entry point (DESIGN.md §3). Started by the Functions host (it passes
/// <c>--functions-worker-id</c>, or <c>--workerId</c> on older hosts), it is an isolated worker: the host's triggers
/// call the <c>[Function]</c> methods. Started without them (locally, in tests), it is a plain .NET host whose
/// <see cref="LocalTriggerRunner"/> polls the queues and fires the timers, calling the same functions in-process.
/// </summary>
public sealed class Program
{
    private Program()
    {
    }

    public static async Task Main(string[] args)
    {
        // An operator's command, not the worker: list or replay the poison queues' messages, then exit.
        if (PoisonCommand.Matches(args))
        {
            Environment.ExitCode = await PoisonCommand.RunAsync(args, Console.Out, CancellationToken.None);
            return;
        }

        if (StartedByFunctionsHost(args))
        {
            var functions = FunctionsApplication.CreateBuilder(args);
            AddWorker(functions);
            await functions.Build().RunAsync();
            return;
        }

        using var local = CreateLocalBuilder(new HostApplicationBuilderSettings { Args = args }).Build();
        await local.RunAsync();
    }

    /// <summary>Whether the Functions host started this process: it passes the worker's id on the command line.</summary>
    public static bool StartedByFunctionsHost(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args.Any(a => a.StartsWith("--functions-worker-id", StringComparison.Ordinal) || a.StartsWith("--workerId", StringComparison.Ordinal));
    }

    /// <summary>
    /// The worker without the host: its services and the local trigger runner. <paramref name="configure"/> adds
    /// configuration before the services read it (a test's settings).
    /// </summary>
    public static HostApplicationBuilder CreateLocalBuilder(HostApplicationBuilderSettings settings, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(settings);
        configure?.Invoke(builder.Configuration);
        AddWorker(builder);
        builder.Services.AddSingleton<LocalTriggerRunner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LocalTriggerRunner>());
        return builder;
    }

    /// <summary>The functions' services, the same under the host and without it.</summary>
    public static void AddWorker(IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;

        // Operations: traces and metrics (exported only where settings say); on SIGTERM the queue message in hand gets
        // long enough to finish (an EHR write's client timeout is 30 s).
        builder.AddTelemetry("referral-worker").AddGracefulShutdown(TimeSpan.FromSeconds(45));

        // The one place this app takes the machine clock (RS0030 bans it elsewhere): every component reads time through
        // the TimeProvider registered here, which the tests replace with a fake clock.
#pragma warning disable RS0030 // Why: this one registration is where the app takes the machine clock; everything else reads the injected TimeProvider.
        services.AddSingleton(TimeProvider.System);
#pragma warning restore RS0030
        services.AddSingleton<StorageAccount>();
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<TherapistDirectory>();
        services.AddSingleton<ReferralStore>();
        services.AddSingleton<Referral.Functions.Reports.ReportSource>();
        services.AddSingleton<ReferralNotifications>();
        services.AddSingleton<TokenReplayCache>();
        services.AddSingleton<TableBackup>();
        services.AddOptions<BackupOptions>().BindConfiguration(BackupOptions.Section);
        services.AddOptions<TriggerRunnerOptions>().BindConfiguration(TriggerRunnerOptions.Section);
        EhrRegistry.AddEhrRegistry(services, configuration);
        services.AddSingleton<WriteBackRetries>();
        services.AddOptions<RetryOptions>().BindConfiguration(RetryOptions.Section)
            .Validate(o => o.Horizon >= TimeSpan.Zero && o.MaxVisibilityDelay is not { Ticks: < 0 }, "Retries: Horizon and MaxVisibilityDelay must not be negative.")
            .ValidateOnStart();
        services.AddSingleton<QueueBackoff>();

        services.AddHttpClient();
        // An EHR that hangs must not hold a queue message for ever: the try fails and is retried later. Each create waits
        // EhrWriteBackFunction.Timeout on the app's clock; this timeout, on the machine's timer, bounds the token and
        // discovery requests (one shared by every waiter, so no caller's cancellation ends it).
        services.AddHttpClient(BackendServicesTokens.HttpClientName, client => client.Timeout = EhrWriteBackFunction.Timeout);

        BackendSigningKeys.Add(services, configuration)
            .Validate(o => o.AssertionLifetime > TimeSpan.Zero && o.AssertionLifetime <= TimeSpan.FromMinutes(5),
                "BackendServices:AssertionLifetime must be more than zero and at most five minutes (SMART).");
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
            sp.GetRequiredService<IOptions<NotificationOptions>>().Value.Sender == SenderKind.PickupFolder
                ? ActivatorUtilities.CreateInstance<PickupFolderSender>(sp)
                : ActivatorUtilities.CreateInstance<SmtpSender>(sp));

        services.AddOptions<ReminderOptions>().Bind(configuration.GetSection(ReminderOptions.Section))
            .Validate(o => o.RemindTherapistAfter > TimeSpan.Zero && o.TellPhysicianAfter >= o.RemindTherapistAfter && o.ExpiryWarningBefore >= TimeSpan.Zero,
                "Reminders: RemindTherapistAfter must be positive, TellPhysicianAfter at least as long, ExpiryWarningBefore not negative.")
            .ValidateOnStart();

        // The functions' own service bundles (the host activates the function classes from these services, as the local runner does).
        services.AddTransient<NotificationFunction.Services>();
        services.AddTransient<EhrWriteBackFunction.Services>();
        services.AddTransient<ReminderFunction.Services>();
    }
}

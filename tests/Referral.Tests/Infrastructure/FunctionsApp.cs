extern alias worker;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Referral.Functions.Storage;
using worker::Referral.Worker.Triggers;
using WorkerProgram = worker::Referral.Worker.Program;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The backend as deployed, in-process: the API with its real pipeline, and beside it the background functions'
/// worker (functions/Worker) as it runs without the Functions host, both pointed at the test run's Azurite and given
/// the same settings and the same clock. The worker's local trigger runner has its background loop off unless a test
/// turns it on: tests drive it with <see cref="Triggers"/>, and it calls the functions in-process as it does locally.
/// The clock is the one given (a harness's, shared by all its apps), else the test run's (<see cref="TestClock"/>).
/// </summary>
public sealed class FunctionsApp(
    string storageConnectionString,
    TestIdentity? identity = null,
    IReadOnlyDictionary<string, string?>? settings = null,
    TimeProvider? time = null) : WebApplicationFactory<Functions.Program>
{
    private readonly Lock starting = new();
    private IHost? worker;

    /// <summary>Where the worker's pickup-folder sender writes its messages.</summary>
    public string MailFolder { get; } = Path.Combine(Path.GetTempPath(), "referral-mail-" + Guid.NewGuid().ToString("N"));

    /// <summary>The apps' clock.</summary>
    public TimeProvider Time { get; } = time ?? TestClock.Provider;

    /// <summary>The worker's host, started with the API (or on first use).</summary>
    public IHost Worker
    {
        get
        {
            lock (starting)
            {
                return worker ??= StartWorker();
            }
        }
    }

    public IServiceProvider WorkerServices => Worker.Services;

    /// <summary>Another instance of the backend with the same storage, identity, settings and clock (the caller disposes it).</summary>
    public FunctionsApp AnotherInstance() => new(storageConnectionString, identity, settings, Time);

    public LocalTriggerRunner Triggers => WorkerServices.GetRequiredService<LocalTriggerRunner>();

    /// <summary>
    /// Services a test adds after the API's own (an in-memory telemetry exporter, say). In one process the API's
    /// tracer and meter providers also see the worker's spans and counters (they listen by source name), so an
    /// exporter here sees the whole trace; the worker gets its own with <see cref="WorkerTestServices"/>.
    /// </summary>
    public Action<IServiceCollection>? TestServices { get; init; }

    /// <summary>Services a test adds after the worker's own (a fake vault credential, say).</summary>
    public Action<IServiceCollection>? WorkerTestServices { get; init; }

    /// <summary>The settings both apps get on top of their own Development settings.</summary>
    private Dictionary<string, string?> Settings()
    {
        var all = new Dictionary<string, string?>
        {
            [StorageAccount.SettingName] = storageConnectionString,
            ["TriggerRunner:Enabled"] = "false",
            ["Notifications:PickupFolder"] = MailFolder,
        };
        foreach (var (key, value) in identity?.Settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        // A test that drives the runner step by step sees a retry's copy at once (no hour of wall time): its NotBefore,
        // by the test's clock, says when it is due. A test that runs the runner's loop keeps the real delays, or the
        // loop would receive a copy not due yet again and again.
        if (string.Equals(all["TriggerRunner:Enabled"], "false", StringComparison.OrdinalIgnoreCase))
        {
            all.TryAdd("Retries:MaxVisibilityDelay", "00:00:00");
        }

        return all;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in Settings())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton(Time);
            TestServices?.Invoke(services);
        });
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        var host = base.CreateHost(builder);
        _ = Worker;
        return host;
    }

    /// <summary>The worker as functions/Worker's Program builds it without the host: its own Development settings, then the test's.</summary>
    private IHost StartWorker()
    {
        // Read once: a file watcher per host would spend the machine's inotify instances (128 per user), with many apps
        // alive at once in a test run.
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["hostBuilder:reloadConfigOnChange"] = "false" });
        var builder = WorkerProgram.CreateLocalBuilder(
            new HostApplicationBuilderSettings
            {
                Configuration = configuration,
                EnvironmentName = Environments.Development,
                ContentRootPath = Repository.PathTo("functions", "Worker"),
                ApplicationName = "Referral.Worker",
            },
            configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?>(Settings())
            {
                // The worker's host.json (its build and publish copy it unchanged).
                ["TriggerRunner:FunctionsRoot"] = Repository.PathTo("functions", "Worker"),
            }));
        builder.Services.AddSingleton(Time);
        WorkerTestServices?.Invoke(builder.Services);
        var host = builder.Build();
        host.Start();
        return host;
    }

    public override async ValueTask DisposeAsync()
    {
        IHost? started;
        lock (starting)
        {
            started = worker;
        }

        if (started is not null)
        {
            await started.StopAsync(CancellationToken.None);
            started.Dispose();
        }

        await base.DisposeAsync();
    }

    /// <summary>The messages the worker has "sent" so far, as the text of each .eml file.</summary>
    public IReadOnlyList<string> Mail() =>
        Directory.Exists(MailFolder) ? [.. Directory.EnumerateFiles(MailFolder, "*.eml").Order(StringComparer.Ordinal).Select(File.ReadAllText)] : [];
}

public static class FactoryClients
{
    /// <summary>
    /// A client of the app that sends the given bearer token; a physician token minted by <see cref="TestIdentity"/>
    /// is signed afresh (new jti) for each call, as the smart-app does, since the API accepts each jti once.
    /// To send the very same token again (a replay), set the header on a plain client.
    /// </summary>
    public static HttpClient ClientWith<TEntryPoint>(this WebApplicationFactory<TEntryPoint> app, string token)
        where TEntryPoint : class
    {
        ArgumentNullException.ThrowIfNull(app);
        var client = app.CreateDefaultClient(new TokenPerCall(token));
        return client;
    }

    private sealed class TokenPerCall(string first) : DelegatingHandler
    {
        private int calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var token = Interlocked.Increment(ref calls) == 1 ? first : TestIdentity.ForNextCall(first);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

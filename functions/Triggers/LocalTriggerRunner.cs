using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using NCrontab;
using OpenTelemetry;

namespace Referral.Functions.Triggers;

public sealed class TriggerRunnerOptions
{
    public const string Section = "TriggerRunner";

    /// <summary>Run the background loop. Tests turn it off and drive the runner step by step.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the loop polls the queues and checks the timers (the host polls with a growing interval up to 1 minute).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Where the app listens; by default read from the server's addresses.</summary>
    public string? BaseAddress { get; set; }

    /// <summary>Replaces host.json's <c>visibilityTimeout</c> (the retry backoff), so a test need not wait for a retry.</summary>
    public TimeSpan? VisibilityTimeout { get; set; }

    /// <summary>The folder holding host.json and the function folders; by default the app's content root.</summary>
    public string? FunctionsRoot { get; set; }
}

/// <summary>
/// The Functions host's triggers for a run without the host (DESIGN.md §3), on in Development only. It reads the
/// function folders, polls the storage queues of the queue-triggered functions and runs the timer-triggered ones
/// on their NCRONTAB schedules, and invokes each as the host does: <c>POST /{FunctionName}</c> with the custom
/// handler payload. A 2xx answer deletes the message; any other answer leaves it for a retry after the visibility
/// timeout, and on the last try (<c>maxDequeueCount</c>) moves it to <c>{queue}-poison</c>, as the host does.
/// Tests call <see cref="PollQueuesOnceAsync"/> and <see cref="RunDueTimersAsync"/> directly.
/// </summary>
public sealed partial class LocalTriggerRunner : BackgroundService
{
    public const string HttpClientName = "local-triggers";

    /// <summary>The host keeps a message it is working on invisible (renewing as it goes); this is long enough for any of ours.</summary>
    private static readonly TimeSpan InvisibleWhileRunning = TimeSpan.FromMinutes(10);

    private readonly IConfiguration configuration;
    private readonly TriggerRunnerOptions options;
    private readonly IHttpClientFactory httpClients;
    private readonly IServer server;
    private readonly TimeProvider time;
    private readonly IHostApplicationLifetime lifetime;
    private readonly ILogger<LocalTriggerRunner> logger;
    private readonly Lazy<FunctionManifest> manifest;
    private readonly ConcurrentDictionary<string, QueueClient> queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> lastRuns = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim polling = new(1, 1);
    private readonly SemaphoreSlim timing = new(1, 1);

    /// <summary>Cancelled when the host's shutdown timeout runs out: the message in hand is then given back to the queue.</summary>
    private readonly CancellationTokenSource abandon = new();
    private readonly DateTimeOffset started;

    public LocalTriggerRunner(
        IConfiguration configuration,
        IOptions<TriggerRunnerOptions> options,
        IHostEnvironment environment,
        IHttpClientFactory httpClients,
        IServer server,
        TimeProvider time,
        IHostApplicationLifetime lifetime,
        ILogger<LocalTriggerRunner> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        this.configuration = configuration;
        this.options = options.Value;
        this.httpClients = httpClients;
        this.server = server;
        this.time = time;
        this.lifetime = lifetime;
        this.logger = logger;
        var root = this.options.FunctionsRoot ?? environment.ContentRootPath;
        manifest = new Lazy<FunctionManifest>(() => FunctionManifest.Read(root, configuration));
        // Like the host on its first start: a timer's first run is its first occurrence after now.
        started = time.GetUtcNow();
    }

    public FunctionManifest Manifest => manifest.Value;

    public TimeSpan VisibilityTimeout => options.VisibilityTimeout ?? Manifest.Queues.VisibilityTimeout;

    /// <summary>Receives one batch from each trigger queue and runs the function for each message; the number handled.</summary>
    public Task<int> PollQueuesOnceAsync(CancellationToken cancellationToken) => PollAsync(cancellationToken, CancellationToken.None);

    /// <summary>
    /// As <see cref="PollQueuesOnceAsync(CancellationToken)"/>, but once <paramref name="stopping"/> is cancelled no
    /// further message is taken; the ones already taken run on with <paramref name="cancellationToken"/> (graceful shutdown).
    /// </summary>
    private async Task<int> PollAsync(CancellationToken cancellationToken, CancellationToken stopping)
    {
        await polling.WaitAsync(cancellationToken);
        try
        {
            var handled = 0;
            foreach (var function in Manifest.Functions.Where(f => f.Kind == TriggerKind.Queue))
            {
                if (stopping.IsCancellationRequested)
                {
                    break;
                }

                var queue = await QueueAsync(function.Connection!, function.QueueName!, cancellationToken);
                QueueMessage[] messages;
                // A poll every second is no one's work: its storage calls stay out of the traces.
                using (SuppressInstrumentationScope.Begin())
                {
                    messages = await queue.ReceiveMessagesAsync(Manifest.Queues.BatchSize, InvisibleWhileRunning, cancellationToken);
                }

                await Task.WhenAll(messages.Select(m => HandleAsync(function, queue, m, cancellationToken)));
                handled += messages.Length;
            }

            return handled;
        }
        finally
        {
            polling.Release();
        }
    }

    /// <summary>Runs every timer function whose next occurrence has come (a missed one once, past due); the names of those run.</summary>
    public async Task<IReadOnlyList<string>> RunDueTimersAsync(CancellationToken cancellationToken)
    {
        await timing.WaitAsync(cancellationToken);
        try
        {
            var run = new List<string>();
            foreach (var function in Manifest.Functions.Where(f => f.Kind == TriggerKind.Timer))
            {
                var schedule = Parse(function.Schedule!);
                var last = lastRuns.GetValueOrDefault(function.Name, started);
                var now = time.GetUtcNow();
                var due = new DateTimeOffset(schedule.GetNextOccurrence(last.UtcDateTime), TimeSpan.Zero);
                if (due > now)
                {
                    continue;
                }

                var info = new TimerInfo
                {
                    Schedule = new TimerScheduleInfo(),
                    ScheduleStatus = new TimerScheduleStatus
                    {
                        Last = lastRuns.ContainsKey(function.Name) ? last : DateTimeOffset.MinValue,
                        Next = due,
                        LastUpdated = last,
                    },
                    // Late by more than a schedule step: the host calls that past due.
                    IsPastDue = new DateTimeOffset(schedule.GetNextOccurrence(due.UtcDateTime), TimeSpan.Zero) <= now,
                };
                var succeeded = await InvokeAsync(function, info, new Dictionary<string, object?> { ["sys"] = Sys(function.Name, now) }, cancellationToken);
                // The timer trigger never retries a failed run: the next run is the next occurrence.
                lastRuns[function.Name] = now;
                run.Add(function.Name);
                if (!succeeded)
                {
                    LogTimerFailed(function.Name);
                }
            }

            return run;
        }
        finally
        {
            timing.Release();
        }
    }

    /// <summary>Polls until the queues are empty or the deadline passes; for tests and tools that wait for background work.</summary>
    public async Task<int> DrainAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        // Real elapsed time, not the app's clock: a test's fake clock stands still while the queues drain.
        var started = Stopwatch.GetTimestamp();
        var total = 0;
        while (Stopwatch.GetElapsedTime(started) < deadline)
        {
            var handled = await PollQueuesOnceAsync(cancellationToken);
            total += handled;
            if (handled == 0)
            {
                return total;
            }
        }

        return total;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled)
        {
            return;
        }

        // The app must be listening before the runner calls it.
        var ready = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(ready.SetResult))
        {
            await ready.Task.WaitAsync(stoppingToken);
        }

        var triggered = Manifest.Functions.Count(f => f.Kind is TriggerKind.Queue or TriggerKind.Timer);
        LogStarted(triggered);
        // Graceful shutdown: from the moment the app begins to stop (SIGTERM) no new message or timer run is taken;
        // what is in hand runs to its end, unless the host's shutdown timeout runs out first (then it is given back).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        while (!stopping.IsCancellationRequested)
        {
            var handled = 0;
            try
            {
                handled = await PollAsync(abandon.Token, stopping.Token);
                if (!stopping.IsCancellationRequested)
                {
                    await RunDueTimersAsync(abandon.Token);
                }
            }
            catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException or AggregateException)
            {
                LogPollFailed(e);
            }
            catch (OperationCanceledException) when (abandon.IsCancellationRequested)
            {
                return;
            }

            if (handled == 0 && !stopping.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(options.PollInterval, stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        LogStopped();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // cancellationToken is cancelled when HostOptions.ShutdownTimeout runs out: then abandon the message in hand
        // (asynchronously: the cancellation's own callbacks must not throw into the host's).
        using var outOfTime = cancellationToken.Register(() => _ = abandon.CancelAsync());
        try
        {
            await base.StopAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of time: the message in hand is being given back to its queue, one storage call; let it be made.
            if (ExecuteTask is { } running)
            {
                await running.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    public override void Dispose()
    {
        polling.Dispose();
        timing.Dispose();
        abandon.Dispose();
        base.Dispose();
    }

    private async Task HandleAsync(FunctionDefinition function, QueueClient queue, QueueMessage message, CancellationToken cancellationToken)
    {
        // A message handed out more often than allowed (the handler crashed mid-try) goes to poison unprocessed.
        if (message.DequeueCount > Manifest.Queues.MaxDequeueCount)
        {
            await PoisonAsync(function, queue, message, cancellationToken);
            return;
        }

        var metadata = new Dictionary<string, object?>
        {
            ["DequeueCount"] = message.DequeueCount,
            ["ExpirationTime"] = message.ExpiresOn,
            ["Id"] = message.MessageId,
            ["InsertionTime"] = message.InsertedOn,
            ["NextVisibleTime"] = message.NextVisibleOn,
            ["PopReceipt"] = message.PopReceipt,
            ["sys"] = Sys(function.Name, time.GetUtcNow()),
        };
        bool succeeded;
        try
        {
            succeeded = await InvokeAsync(function, message.Body.ToString(), metadata, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Abandoned (the shutdown timeout ran out): visible again at once, for another instance to take.
            await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: CancellationToken.None);
            LogAbandoned(function.Name, message.MessageId);
            throw;
        }

        if (succeeded)
        {
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        }
        else if (message.DequeueCount >= Manifest.Queues.MaxDequeueCount)
        {
            await PoisonAsync(function, queue, message, cancellationToken);
        }
        else
        {
            LogRetry(function.Name, message.MessageId, message.DequeueCount);
            await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: VisibilityTimeout, cancellationToken: cancellationToken);
        }
    }

    private async Task PoisonAsync(FunctionDefinition function, QueueClient queue, QueueMessage message, CancellationToken cancellationToken)
    {
        var poison = await QueueAsync(function.Connection!, queue.Name + "-poison", cancellationToken);
        await poison.SendMessageAsync(message.Body, cancellationToken: cancellationToken);
        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        LogPoisoned(function.Name, message.MessageId, message.DequeueCount, poison.Name);
    }

    private async Task<bool> InvokeAsync(FunctionDefinition function, object? value, Dictionary<string, object?> metadata, CancellationToken cancellationToken)
    {
        using var client = httpClients.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress(), function.Name))
        {
            Content = JsonContent.Create(new Dictionary<string, object?>
            {
                ["Data"] = new Dictionary<string, object?> { [function.Binding] = value },
                ["Metadata"] = metadata,
            }, options: Json.Options),
        };
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        try
        {
            using var response = await client.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException e)
        {
            LogUnreachable(function.Name, e);
            return false;
        }
    }

    private Uri BaseAddress()
    {
        var address = options.BaseAddress
            ?? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? "http://127.0.0.1";
        // A wildcard listen address is not one to call; the app is always reachable on loopback.
        address = address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal);
        return new Uri(address.TrimEnd('/') + "/");
    }

    private async Task<QueueClient> QueueAsync(string connection, string name, CancellationToken cancellationToken)
    {
        if (queues.TryGetValue(name, out var existing))
        {
            return existing;
        }

        var connectionString = configuration[connection]
            ?? throw new InvalidOperationException($"The setting '{connection}' names no storage account.");
        // The host's queue trigger reads and writes base64 messages (messageEncoding's default), like StorageAccount.
        var client = new QueueClient(connectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await client.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        return queues.GetOrAdd(name, client);
    }

    private static Dictionary<string, object?> Sys(string function, DateTimeOffset now) => new()
    {
        ["MethodName"] = function,
        ["UtcNow"] = now.UtcDateTime,
        ["RandGuid"] = Guid.NewGuid().ToString(),
    };

    /// <summary>Six fields (with seconds) as the host writes them; five are accepted too.</summary>
    public static CrontabSchedule Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        return CrontabSchedule.Parse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = fields == 6 });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Local trigger runner started: {Count} queue and timer functions.")]
    private partial void LogStarted(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local trigger runner stopped: no message is in hand.")]
    private partial void LogStopped();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function {Function}: message {MessageId} was given back to its queue unfinished (the shutdown timeout ran out).")]
    private partial void LogAbandoned(string function, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function {Function} failed on message {MessageId} (try {DequeueCount}); it will be retried.")]
    private partial void LogRetry(string function, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Function {Function}: message {MessageId} failed {DequeueCount} times and was moved to {PoisonQueue}.")]
    private partial void LogPoisoned(string function, string messageId, long dequeueCount, string poisonQueue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer function {Function} failed; it runs again at its next occurrence.")]
    private partial void LogTimerFailed(string function);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function {Function} could not be reached.")]
    private partial void LogUnreachable(string function, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The local trigger runner could not poll storage.")]
    private partial void LogPollFailed(Exception exception);
}

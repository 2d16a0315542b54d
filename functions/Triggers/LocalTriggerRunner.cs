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
/// Like the host, each queue is listened to on its own and a message never waits for another: the loop keeps up to
/// <c>batchSize</c> messages of a queue in flight and fetches more once half of them are done (the host's
/// <c>newBatchThreshold</c>), so a write-back stuck on a slow EHR holds up neither the notifications (another queue)
/// nor the write-backs behind it. Tests call <see cref="PollQueuesOnceAsync"/> and <see cref="RunDueTimersAsync"/> directly.
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
    /// <summary>Per queue: one receive at a time, so a test's poll and the loop never hand out the same batch twice over.</summary>
    private readonly ConcurrentDictionary<string, SemaphoreSlim> polling = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim timing = new(1, 1);

    /// <summary>Cancelled when the host's shutdown timeout runs out: the messages in hand are then given back to the queue.</summary>
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

    /// <summary>Receives one batch from each trigger queue (the queues at once) and runs the function for each message; the number handled.</summary>
    public async Task<int> PollQueuesOnceAsync(CancellationToken cancellationToken)
    {
        var handled = await Task.WhenAll(QueueFunctions.Select(async function =>
        {
            var (queue, messages) = await ReceiveAsync(function, Manifest.Queues.BatchSize, cancellationToken);
            await Task.WhenAll(messages.Select(m => HandleAsync(function, queue, m, cancellationToken)));
            return messages.Length;
        }));
        return handled.Sum();
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
        // what is in hand runs to its end (with the abandon token), unless the host's shutdown timeout runs out first
        // (then it is given back to its queue).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        await Task.WhenAll([.. QueueFunctions.Select(f => ListenAsync(f, stopping.Token)), TimersAsync(stopping.Token)]);
        LogStopped();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // cancellationToken is cancelled when HostOptions.ShutdownTimeout runs out: then abandon the messages in hand
        // (asynchronously: the cancellation's own callbacks must not throw into the host's).
        using var outOfTime = cancellationToken.Register(() => _ = abandon.CancelAsync());
        try
        {
            await base.StopAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of time: the messages in hand are being given back to their queue, one storage call each; let them be made.
            if (ExecuteTask is { } running)
            {
                await running.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private IEnumerable<FunctionDefinition> QueueFunctions => Manifest.Functions.Where(f => f.Kind == TriggerKind.Queue);

    /// <summary>One queue's loop: up to a batch in flight, more fetched once half of them are done; never waits for a slow one.</summary>
    private async Task ListenAsync(FunctionDefinition function, CancellationToken stoppingToken)
    {
        var batchSize = Manifest.Queues.BatchSize;
        var inFlight = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            inFlight.RemoveAll(t => t.IsCompleted);
            var received = 0;
            if (inFlight.Count <= batchSize / 2)
            {
                try
                {
                    var (queue, messages) = await ReceiveAsync(function, batchSize - inFlight.Count, stoppingToken);
                    inFlight.AddRange(messages.Select(m => HandleLoggedAsync(function, queue, m, abandon.Token)));
                    received = messages.Length;
                }
                catch (Exception e) when (IsPollFailure(e, stoppingToken))
                {
                    LogPollFailed(e);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
            }

            if (received == 0 && !stoppingToken.IsCancellationRequested)
            {
                // A finished message frees a place at once; otherwise the next poll comes after the interval.
                // WhenAny never throws: a cancelled delay only ends the wait.
                await Task.WhenAny([Task.Delay(options.PollInterval, stoppingToken), .. inFlight]);
            }
        }

        // Stopping: nothing new is taken, the messages in hand finish (or are given back when the time runs out).
        await Task.WhenAll(inFlight);
    }

    private async Task TimersAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunDueTimersAsync(abandon.Token);
            }
            catch (Exception e) when (IsPollFailure(e, stoppingToken))
            {
                LogPollFailed(e);
            }
            catch (OperationCanceledException) when (abandon.IsCancellationRequested)
            {
                return;
            }

            await Task.Delay(options.PollInterval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static bool IsPollFailure(Exception e, CancellationToken stoppingToken) =>
        Storage.StorageFaults.IsUnavailable(e) || e is Azure.RequestFailedException or HttpRequestException or AggregateException
        || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested);

    private async Task<(QueueClient Queue, QueueMessage[] Messages)> ReceiveAsync(FunctionDefinition function, int count, CancellationToken cancellationToken)
    {
        var gate = polling.GetOrAdd(function.Name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            var queue = await QueueAsync(function.Connection!, function.QueueName!, cancellationToken);
            // A poll every second is no one's work: its storage calls stay out of the traces.
            using (SuppressInstrumentationScope.Begin())
            {
                QueueMessage[] messages = await queue.ReceiveMessagesAsync(Math.Clamp(count, 1, 32), InvisibleWhileRunning, cancellationToken);
                return (queue, messages);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A message handled in the background loop: a failure to settle it is logged, and the queue hands it out again.</summary>
    private async Task HandleLoggedAsync(FunctionDefinition function, QueueClient queue, QueueMessage message, CancellationToken stoppingToken)
    {
        try
        {
            await HandleAsync(function, queue, message, stoppingToken);
        }
        catch (Exception e) when (IsPollFailure(e, stoppingToken))
        {
            LogPollFailed(e);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        foreach (var gate in polling.Values)
        {
            gate.Dispose();
        }

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
        // The host's queue trigger reads and writes base64 messages (messageEncoding's default), with the app's retries (StorageAccount).
        var client = new QueueClient(connectionString, name, Storage.StorageAccount.QueueOptions());
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

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using NCrontab;
using OpenTelemetry;
using Referral.Functions.Storage;

namespace Referral.Worker.Triggers;

public sealed class TriggerRunnerOptions
{
    public const string Section = "TriggerRunner";

    /// <summary>Run the background loop. Tests turn it off and drive the runner step by step.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the loop polls the queues and checks the timers (the host polls with a growing interval up to 1 minute).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Replaces host.json's <c>visibilityTimeout</c> (the retry backoff), so a test need not wait for a retry.</summary>
    public TimeSpan? VisibilityTimeout { get; set; }

    /// <summary>The folder holding host.json; by default the app's own folder (where the build and the publish put it, and the host reads it).</summary>
    public string? FunctionsRoot { get; set; }
}

/// <summary>
/// The Functions host's triggers for a run without the host (DESIGN.md §3): the worker started without the host's
/// arguments runs this instead. It reads the functions from their attributes (<see cref="FunctionManifest"/>), polls
/// the storage queues of the queue-triggered functions and runs the timer-triggered ones on their NCRONTAB
/// schedules, and invokes each in-process as the host's worker does: the function's class activated from the
/// services, its method called with the <see cref="QueueMessage"/> or <see cref="TimerInfo"/>. A function that
/// returns deletes the message; one that throws leaves it for a retry after the visibility timeout, and on the last
/// try (<c>maxDequeueCount</c>) moves it to <c>{queue}-poison</c>, as the host does.
/// Like the host, each queue is listened to on its own and a message never waits for another: the loop keeps up to
/// <c>batchSize</c> messages of a queue in flight and fetches more once half of them are done (the host's
/// <c>newBatchThreshold</c>), so a write-back stuck on a slow EHR holds up neither the notifications (another queue)
/// nor the write-backs behind it. Tests call <see cref="PollQueuesOnceAsync"/> and <see cref="RunDueTimersAsync"/> directly.
/// </summary>
public sealed partial class LocalTriggerRunner : BackgroundService
{
    /// <summary>The host keeps a message it is working on invisible (renewing as it goes); this is long enough for any of ours.</summary>
    private static readonly TimeSpan InvisibleWhileRunning = TimeSpan.FromMinutes(10);

    private readonly TriggerRunnerOptions options;
    private readonly IServiceProvider services;
    private readonly StorageAccount storage;
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
        IServiceProvider services,
        StorageAccount storage,
        TimeProvider time,
        IHostApplicationLifetime lifetime,
        ILogger<LocalTriggerRunner> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.services = services;
        this.storage = storage;
        this.time = time;
        this.lifetime = lifetime;
        this.logger = logger;
        var root = this.options.FunctionsRoot ?? AppContext.BaseDirectory;
        manifest = new Lazy<FunctionManifest>(() => FunctionManifest.Read(typeof(LocalTriggerRunner).Assembly, root, configuration));
        // Like the host on its first start: a timer's first run is its first occurrence after now.
        started = time.GetUtcNow();
    }

    public FunctionManifest Manifest => manifest.Value;

    public TimeSpan VisibilityTimeout => options.VisibilityTimeout ?? Manifest.Queues.VisibilityTimeout;

    /// <summary>
    /// Receives one batch from each trigger queue (the queues at once) and runs the function for each message; the
    /// number handled (a message the function only put back because it is not due yet is not counted).
    /// </summary>
    public async Task<int> PollQueuesOnceAsync(CancellationToken cancellationToken) => (await PollAsync(cancellationToken)).Worked;

    /// <summary>One poll of every trigger queue: the messages worked on, and the texts of those only put back (not due yet).</summary>
    private async Task<(int Worked, IReadOnlyList<string> PutBack)> PollAsync(CancellationToken cancellationToken)
    {
        var outcomes = await Task.WhenAll(QueueFunctions.Select(async function =>
        {
            var (queue, messages) = await ReceiveAsync(function, Manifest.Queues.BatchSize, cancellationToken);
            return await Task.WhenAll(messages.Select(async m => (Worked: await HandleAsync(function, queue, m, cancellationToken), Text: m.Body.ToString())));
        }));
        var all = outcomes.SelectMany(o => o).ToList();
        return (all.Count(o => o.Worked), [.. all.Where(o => !o.Worked).Select(o => o.Text)]);
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
                    ScheduleStatus = new ScheduleStatus
                    {
                        Last = lastRuns.ContainsKey(function.Name) ? last.UtcDateTime : DateTime.MinValue,
                        Next = due.UtcDateTime,
                        LastUpdated = last.UtcDateTime,
                    },
                    // Late by more than a schedule step: the host calls that past due.
                    IsPastDue = new DateTimeOffset(schedule.GetNextOccurrence(due.UtcDateTime), TimeSpan.Zero) <= now,
                };
                var succeeded = await InvokeAsync(function, null, info, cancellationToken);
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

    /// <summary>
    /// Polls until a poll finds no work and no message it has not already put back (the queues empty, or holding only
    /// copies not due yet), or the deadline passes; for tests and tools that wait for background work. A put-back
    /// copy goes to the back of its queue, so copies not due yet at the head (more than one batch of them) do not
    /// hide the messages behind them.
    /// </summary>
    public async Task<int> DrainAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        // Real elapsed time, not the app's clock: a test's fake clock stands still while the queues drain.
        var started = Stopwatch.GetTimestamp();
        var total = 0;
        var waiting = new HashSet<string>(StringComparer.Ordinal);
        while (Stopwatch.GetElapsedTime(started) < deadline)
        {
            var (worked, putBack) = await PollAsync(cancellationToken);
            total += worked;
            var fresh = putBack.Count(waiting.Add);
            if (worked == 0 && fresh == 0)
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

        // Like the host: no function runs before the app has started (its hosted services, the directory seed, are up).
        var ready = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(ready.SetResult))
        {
            await ready.Task.WaitAsync(stoppingToken);
        }

        LogStarted(Manifest.Functions.Count);
        // Graceful shutdown: from the moment the app begins to stop (SIGTERM) no new message or timer run is taken;
        // what is in hand runs to its end (with the abandon token), unless the host's shutdown timeout runs out first
        // (then it is given back to its queue).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        await Task.WhenAll([.. QueueFunctions.Select(f => ListenAsync(f, stopping.Token)), TimersAsync(stopping.Token)]);
        LogStopped();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stops taking work and waits for the messages in hand until cancellationToken, the host's shutdown timeout, runs
        // out. Since .NET 8 the base returns then without throwing, from within the token's cancellation (so a callback
        // registered on that token here may be unregistered before it runs): whether the work is done is read after.
        await base.StopAsync(cancellationToken);
        if (ExecuteTask is { IsCompleted: false } running)
        {
            // Out of time: the messages in hand are given back to their queue, one storage call each; let them be made.
            await abandon.CancelAsync();
#pragma warning disable RS0030 // Why: the messages are given back by storage calls, which take real time; a test's fake clock standing still must not hold the stop.
            await running.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
#pragma warning restore RS0030
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
#pragma warning disable RS0030 // Why: polling Azurite's queues, whose messages become visible in real time (as the Functions host's own polling does); a test's fake clock standing still must not stop the polls.
                await Task.WhenAny([Task.Delay(options.PollInterval, stoppingToken), .. inFlight]);
#pragma warning restore RS0030
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

#pragma warning disable RS0030 // Why: the poll for due timers runs in real time, like the queue polls; whether a timer is due is read from the app's clock.
            await Task.Delay(options.PollInterval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
#pragma warning restore RS0030
        }
    }

    private static bool IsPollFailure(Exception e, CancellationToken stoppingToken) =>
        StorageFaults.IsUnavailable(e) || e is Azure.RequestFailedException or HttpRequestException or AggregateException
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

    /// <summary>Runs the function on one message and settles it; false when the function only put it back untried (not due yet).</summary>
    private async Task<bool> HandleAsync(FunctionDefinition function, QueueClient queue, QueueMessage message, CancellationToken cancellationToken)
    {
        // A message handed out more often than allowed (the handler crashed mid-try) goes to poison unprocessed.
        if (message.DequeueCount > Manifest.Queues.MaxDequeueCount)
        {
            await PoisonAsync(function, queue, message, cancellationToken);
            return true;
        }

        bool succeeded;
        var putBack = QueueBackoff.WatchInvocation();
        try
        {
            succeeded = await InvokeAsync(function, message, null, cancellationToken);
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
            return !putBack.Value;
        }

        if (message.DequeueCount >= Manifest.Queues.MaxDequeueCount)
        {
            await PoisonAsync(function, queue, message, cancellationToken);
        }
        else
        {
            LogRetry(function.Name, message.MessageId, message.DequeueCount);
            await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: VisibilityTimeout, cancellationToken: cancellationToken);
        }

        return true;
    }

    private async Task PoisonAsync(FunctionDefinition function, QueueClient queue, QueueMessage message, CancellationToken cancellationToken)
    {
        var poison = await QueueAsync(function.Connection!, queue.Name + "-poison", cancellationToken);
        await poison.SendMessageAsync(message.Body, cancellationToken: cancellationToken);
        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        LogPoisoned(function.Name, message.MessageId, message.DequeueCount, poison.Name);
    }

    /// <summary>
    /// Calls the function as the worker does: its class made from the services (in a scope of its own, like an
    /// invocation), its parameters bound by type. True when it returned; false when it threw (logged). A cancelled
    /// invocation (the shutdown timeout ran out) is thrown on, for the message to be given back.
    /// </summary>
    private async Task<bool> InvokeAsync(FunctionDefinition function, QueueMessage? message, TimerInfo? timer, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var instance = function.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(scope.ServiceProvider, function.Method.DeclaringType!);
        var arguments = function.Method.GetParameters().Select(p => p.ParameterType switch
        {
            var t when t == typeof(QueueMessage) => message,
            var t when t == typeof(BinaryData) => message?.Body,
            var t when t == typeof(string) => message?.Body?.ToString(),
            var t when t == typeof(TimerInfo) => timer,
            var t when t == typeof(CancellationToken) => (object)cancellationToken,
            _ => throw new InvalidOperationException($"Function '{function.Name}': the local trigger runner cannot bind its parameter '{p.Name}' ({p.ParameterType.Name})."),
        }).ToArray();
        try
        {
            if (function.Method.Invoke(instance, arguments) is Task task)
            {
                await task;
            }

            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            LogFunctionFailed(function.Name, e is TargetInvocationException { InnerException: { } inner } ? inner.Message : e.Message);
            return false;
        }
    }

    private async Task<QueueClient> QueueAsync(string connection, string name, CancellationToken cancellationToken)
    {
        if (queues.TryGetValue(name, out var existing))
        {
            return existing;
        }

        // The functions name the app's one storage account (StorageAccount.SettingName), as the host's binding would.
        if (!string.Equals(connection, StorageAccount.SettingName, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The local trigger runner reads queues of the setting '{StorageAccount.SettingName}' only, not '{connection}'.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        // Base64 messages (host.json's messageEncoding), with the app's retries; created where missing.
        return queues.GetOrAdd(name, await storage.QueueAsync(name));
    }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function {Function} failed: {Reason}")]
    private partial void LogFunctionFailed(string function, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The local trigger runner could not poll storage.")]
    private partial void LogPollFailed(Exception exception);
}

using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Referral.Functions.Storage;

namespace Referral.Worker.Triggers;

/// <summary>Settings of <see cref="QueueBackoff"/> (section <c>Retries</c>).</summary>
public sealed class RetryOptions
{
    public const string Section = "Retries";

    /// <summary>How long a message keeps being retried with backoff (the sum of its delays); past it, a failure takes the host's retries and then poison.</summary>
    public TimeSpan Horizon { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// A cap on the real visibility delay of a re-queued copy; none by default. Tests set zero: the copy is visible at
    /// once and its <c>NotBefore</c>, read by the app's clock, still says when it is due.
    /// </summary>
    public TimeSpan? MaxVisibilityDelay { get; set; }
}

/// <summary>
/// Retries that outlast an outage: a function whose try failed for a reason that may pass (the EHR unreachable, 5xx,
/// 429, a timeout) puts a copy of its message back on its queue with the next attempt number and a <c>NotBefore</c>,
/// invisible until then, and returns, so the host deletes the original and its dequeue count never accumulates across
/// the backoff. The delay doubles from one minute up to one hour, for <see cref="RetryOptions.Horizon"/> in all; past
/// it the function throws as before, and the host's own retries end in the poison queue. A copy received before its
/// <c>NotBefore</c> (a clock skew, or a test's visibility cap) is put back for the time that remains.
/// </summary>
public sealed class QueueBackoff(StorageAccount storage, TimeProvider time, IOptions<RetryOptions> options)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMinutes(1);

    /// <summary>The current invocation's mark, set when its message was only put back (see <see cref="WatchInvocation"/>).</summary>
    private static readonly AsyncLocal<StrongBox<bool>?> PutBackMark = new();

    public static readonly TimeSpan LongestDelay = TimeSpan.FromHours(1);

    /// <summary>The wait after failed attempt <paramref name="attempt"/> (1 for the first): 1, 2, 4 … minutes, at most an hour.</summary>
    public static TimeSpan Delay(int attempt) =>
        attempt >= 7 ? LongestDelay : TimeSpan.FromTicks(Math.Min(FirstDelay.Ticks << Math.Max(attempt - 1, 0), LongestDelay.Ticks));

    /// <summary>The backoff a message has waited before attempt <paramref name="attempt"/>: the sum of the delays before it.</summary>
    public static TimeSpan Waited(int attempt) =>
        Enumerable.Range(1, Math.Max(attempt - 1, 0)).Aggregate(TimeSpan.Zero, (sum, a) => sum + Delay(a));

    /// <summary>Whether a failed attempt <paramref name="attempt"/> is retried with backoff (within the horizon).</summary>
    public bool CanRetry(int attempt) => Waited(attempt) + Delay(attempt) <= options.Value.Horizon;

    /// <summary>
    /// When the message is not due yet (its <paramref name="notBefore"/> is ahead of the clock): puts it back unchanged
    /// for the time that remains and answers true; the caller returns without counting an attempt.
    /// </summary>
    public async Task<bool> PutBackIfEarlyAsync(string queueName, string body, DateTimeOffset? notBefore, CancellationToken cancellationToken)
    {
        var remaining = notBefore - time.GetUtcNow();
        if (remaining is not { } wait || wait <= TimeSpan.Zero)
        {
            return false;
        }

        await SendAsync(queueName, body, wait, cancellationToken);
        if (PutBackMark.Value is { } mark)
        {
            mark.Value = true;
        }

        return true;
    }

    /// <summary>
    /// For the local trigger runner: marks the invocation about to start in this async flow, and answers a box that
    /// holds true once the function has only put its message back untried (not due yet). Such a message is no work
    /// done, so a drain that counts work ends while copies wait for their time, instead of receiving them again and
    /// again (in a test whose clock stands still and whose visibility cap is zero, for ever).
    /// </summary>
    public static StrongBox<bool> WatchInvocation() => PutBackMark.Value = new StrongBox<bool>();

    /// <summary>
    /// After a failed attempt of <paramref name="message"/> (its <c>Attempt</c>, 1 when absent): within the horizon,
    /// queues its copy with the next attempt and a <c>NotBefore</c>, and answers the delay; past it answers null (the
    /// caller throws, for the host's retries and poison).
    /// </summary>
    public async Task<TimeSpan?> RetryLaterAsync(string queueName, QueuedMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var attempt = message.Attempt ?? 1;
        if (!CanRetry(attempt))
        {
            return null;
        }

        var delay = Delay(attempt);
        // As its own type: serialized as the base, it would lose its content.
        var copy = message with { Attempt = attempt + 1, NotBefore = time.GetUtcNow() + delay };
        await SendAsync(queueName, JsonSerializer.Serialize(copy, copy.GetType()), delay, cancellationToken);
        return delay;
    }

    /// <summary>
    /// Runs a function's <paramref name="work"/> on <paramref name="message"/>; when it fails because storage cannot be
    /// reached or cannot answer just now (<see cref="StorageFaults"/>: the tables down or busy while the queue still
    /// delivers), queues the message's next attempt with backoff and answers why, as for a failure of the EHR or the
    /// mail server: the host's own tries (5 within about two minutes) would poison the message in an outage that
    /// lasts longer. Past the horizon, or when the queue cannot take the copy either, the failure is thrown as before.
    /// </summary>
    public async Task<string> OutlastingStorageFaultsAsync(string queueName, QueuedMessage message, Func<Task<string>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        try
        {
            return await work();
        }
        catch (Exception e) when (StorageFaults.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            if (await RetryLaterAsync(queueName, message, cancellationToken) is { } delay)
            {
                return $"Storage could not be reached ({e.GetType().Name}); attempt {(message.Attempt ?? 1) + 1} is queued for {delay} from now.";
            }

            throw;
        }
    }

    private async Task SendAsync(string queueName, string body, TimeSpan delay, CancellationToken cancellationToken)
    {
        var visibility = options.Value.MaxVisibilityDelay is { } cap && cap < delay ? cap : delay;
        // Azure Queue Storage takes a visibility timeout of at most seven days.
        visibility = TimeSpan.FromTicks(Math.Clamp(visibility.Ticks, 0, TimeSpan.FromDays(7).Ticks - TimeSpan.TicksPerSecond));
        var queue = await storage.QueueAsync(queueName);
        await queue.SendMessageAsync(body, visibility, timeToLive: null, cancellationToken);
    }
}

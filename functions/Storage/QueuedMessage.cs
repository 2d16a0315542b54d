using System.Text.Json;
using Referral.Functions.Telemetry;

namespace Referral.Functions.Storage;

/// <summary>
/// What every message the apps put on a queue carries besides its content (<see cref="Referrals.ReferralEvent"/>,
/// <see cref="WriteBack.EhrWriteBackMessage"/>): the trace it was queued in, its shape, and its backoff state.
/// </summary>
public abstract record QueuedMessage
{
    public const int CurrentSchema = 1;

    /// <summary>The W3C <c>traceparent</c> of the work that queued the message, so its function runs in the same trace (set on queuing).</summary>
    public string? TraceParent { get; init; }

    /// <summary>
    /// The message's shape: set on queuing to <see cref="CurrentSchema"/>. A message without it was written by the release before
    /// shapes were numbered (the same fields) and is read as shape 1; a shape above this release's is refused (retried, then
    /// poisoned), so a rollback never half-reads a newer release's message.
    /// </summary>
    public int? Schema { get; init; }

    /// <summary>
    /// Which try this copy of the message is (1 for the first; a message without it, as earlier releases wrote them, is
    /// attempt 1): a try that failed for a reason that may pass queues a copy with the next attempt (Worker's QueueBackoff).
    /// </summary>
    public int? Attempt { get; init; }

    /// <summary>When the copy is due (by the app's clock); a message without it is due at once.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Whether this release reads the message's shape.</summary>
    public bool IsReadable => Schema is null or (>= 1 and <= CurrentSchema);

    /// <summary>Puts <paramref name="message"/> on <paramref name="queueName"/> as JSON, with this release's shape and the current trace.</summary>
    public static async Task SendAsync(StorageAccount storage, string queueName, QueuedMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(message);
        var queue = await storage.QueueAsync(queueName);
        using var publish = QueueTrace.StartPublish(queueName);
        var stamped = message with { TraceParent = QueueTrace.Current, Schema = CurrentSchema };
        // As its own type: serialized as the base, it would lose its content.
        await queue.SendMessageAsync(JsonSerializer.Serialize(stamped, stamped.GetType()), cancellationToken);
    }
}

using System.Text.Json;
using Referral.Functions.Storage;
using Referral.Functions.Telemetry;

namespace Referral.Functions.Referrals;

/// <summary>What happened to a referral, for the queue-triggered work that tells people about it.</summary>
public sealed record ReferralEvent(string Kind, string Referral)
{
    public const string Submitted = "referral-submitted";

    /// <summary>The therapist completed the course; the physician is told its outcome.</summary>
    public const string Completed = "completed";

    /// <summary>The therapist declined the referral; the physician is told why.</summary>
    public const string Declined = "declined";

    /// <summary>The therapist asked for the prescription to be renewed; the physician is told why and for how many sessions.</summary>
    public const string RenewalRequested = "renewal-requested";

    /// <summary>The physician approved or declined a renewal request; the therapist is told there is an answer.</summary>
    public const string RenewalAnswered = "renewal-answered";

    /// <summary>The therapist put a new referral on hold waiting for an answer; the physician is told (not the reason).</summary>
    public const string PutOnHold = "put-on-hold";

    /// <summary>A question or answer was written on the referral; the other party is told there is one.</summary>
    public const string MessagePosted = "message-posted";

    /// <summary>For a message: who is told, "therapist" or "physician" (the other party of its sender).</summary>
    public string? Recipient { get; init; }

    /// <summary>
    /// For a change of the Task: the version it makes. The event is queued while the change is written, so the consumer
    /// waits for that version, and sends nothing when the stored Task passed it without the change (the write lost a race).
    /// </summary>
    public int? Version { get; init; }

    /// <summary>For a renewal request or answer, or a hold: which one (1 for the first), so each is told once and a later one is told too.</summary>
    public int? Ordinal { get; init; }

    /// <summary>The W3C <c>traceparent</c> of the work that queued the event, so its function runs in the same trace (set on queuing).</summary>
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

    public const int CurrentSchema = 1;

    /// <summary>Whether this release reads the message's shape.</summary>
    public bool IsReadable => Schema is null or (>= 1 and <= CurrentSchema);
}

/// <summary>
/// Puts referral events on the notifications queue. Telling the therapist talks to the outside world, so it
/// happens in a queue-triggered function, never in the user's request (DESIGN.md §5).
/// </summary>
public sealed class ReferralNotifications(StorageAccount storage)
{
    public const string QueueName = "referral-notifications";

    public async Task EnqueueAsync(ReferralEvent referralEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(referralEvent);
        var queue = await storage.QueueAsync(QueueName);
        using var publish = QueueTrace.StartPublish(QueueName);
        await queue.SendMessageAsync(JsonSerializer.Serialize(referralEvent with { TraceParent = QueueTrace.Current, Schema = ReferralEvent.CurrentSchema }), cancellationToken);
    }
}

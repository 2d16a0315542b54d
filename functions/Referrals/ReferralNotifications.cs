using Referral.Functions.Storage;

namespace Referral.Functions.Referrals;

/// <summary>What happened to a referral, for the queue-triggered work that tells people about it.</summary>
public sealed record ReferralEvent(string Kind, string Referral) : QueuedMessage
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
}

/// <summary>
/// Puts referral events on the notifications queue. Telling the therapist talks to the outside world, so it
/// happens in a queue-triggered function, never in the user's request (DESIGN.md §5).
/// </summary>
public sealed class ReferralNotifications(StorageAccount storage)
{
    public const string QueueName = "referral-notifications";

    public Task EnqueueAsync(ReferralEvent referralEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(referralEvent);
        return QueuedMessage.SendAsync(storage, QueueName, referralEvent, cancellationToken);
    }
}

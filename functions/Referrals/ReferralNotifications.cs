using System.Text.Json;
using Referral.Functions.Storage;

namespace Referral.Functions.Referrals;

/// <summary>What happened to a referral, for the queue-triggered work that tells people about it.</summary>
public sealed record ReferralEvent(string Kind, string Referral)
{
    public const string Submitted = "referral-submitted";
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
        var queue = await storage.QueueAsync(QueueName);
        await queue.SendMessageAsync(JsonSerializer.Serialize(referralEvent), cancellationToken);
    }
}

using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;

namespace Referral.SmartApp.Status;

/// <summary>One question or answer on a referral, as both pages show it: who wrote it, when (in the practice's zone), what.</summary>
public sealed record MessageLine(string From, bool Mine, DateTimeOffset Sent, string When, string Text);

/// <summary>The messages section: the lines, oldest first, and the form's state (the handler posts to the page itself).</summary>
public sealed record MessagesView(IReadOnlyList<MessageLine> Lines, bool CanWrite, string Prompt, string? Typed, string? Problem)
{
    /// <summary>
    /// The Communications as lines. "Mine" is the sender that is <paramref name="me"/> (the Task's owner for the therapist,
    /// the ServiceRequest's requester for the physician), compared as references.
    /// </summary>
    public static IReadOnlyList<MessageLine> Of(IEnumerable<Communication> messages, ReferralSummary referral, string? me)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(referral);
        var zone = referral.Zone;
        var lines = new List<MessageLine>();
        foreach (var message in messages)
        {
            if (!FhirTime.TryDateTime(message.Sent, out var sent) || message.Payload.FirstOrDefault()?.Content is not FhirString { Value: { Length: > 0 } text })
            {
                continue;
            }

            var mine = me is not null && message.Sender?.Reference == me;
            lines.Add(new MessageLine(message.Sender?.Display ?? "Unknown sender", mine, sent, SessionSummaries.When(sent, zone), text));
        }

        return [.. lines.OrderBy(l => l.Sent)];
    }
}

using Hl7.Fhir.Model;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Referral.Functions.Referrals;
using Referral.Functions.Therapists;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Worker.Notifications;
using Referral.Worker.Triggers;

namespace Referral.Worker.Reminders;

public sealed class ReminderOptions
{
    public const string Section = "Reminders";

    /// <summary>A referral unanswered this long gets the therapist a reminder.</summary>
    public TimeSpan RemindTherapistAfter { get; set; } = TimeSpan.FromDays(2);

    /// <summary>A referral unanswered this long gets the physician told.</summary>
    public TimeSpan TellPhysicianAfter { get; set; } = TimeSpan.FromDays(5);

    /// <summary>A prescription this close to the end of its validity gets the therapist and the physician warned.</summary>
    public TimeSpan ExpiryWarningBefore { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>
/// The timer-triggered function <c>referral-reminders</c> (every 15 minutes): walks the therapists of the directory,
/// reads what each one's due index (ReferralStore.Due.cs) says may be due, and queues a reminder for each referral that has
/// waited too long for an answer, a word to its physician when it waits longer still, and a warning when its prescription
/// is about to expire. What it queued is recorded on the referral, so no reminder is ever queued twice. A run reads per
/// therapist the due index's rows of what is due and those referrals, never the whole partition (but once, to index a
/// partition stored before the index).
/// </summary>
public sealed partial class ReminderFunction(ReminderFunction.Services services)
{
    public const string Name = "referral-reminders";

    /// <summary>Every 15 minutes (NCRONTAB, with seconds).</summary>
    public const string Schedule = "0 */15 * * * *";

    [Function(Name)]
    public Task RunAsync([TimerTrigger(Schedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        FunctionRun.ProcessAsync(Name, null, services.Logger, () => RunAsync(services, cancellationToken));

    public sealed record Services(
        ReferralStore Store,
        TherapistDirectory Directory,
        ReferralNotifications Notifications,
        IOptions<ReminderOptions> Options,
        TimeProvider Time,
        ILogger<ReminderOptions> Logger);

    private static async Task<string> RunAsync(Services services, CancellationToken cancellationToken)
    {
        var now = services.Time.GetUtcNow();
        var rules = services.Options.Value;
        var queued = 0;
        // Validity ends are days in each practice's zone: a day either side of UTC's covers every zone; each referral is checked exactly below.
        var utcToday = DateOnly.FromDateTime(now.UtcDateTime);
        var expiringFrom = utcToday.AddDays(-1);
        var expiringTo = utcToday.AddDays((int)Math.Ceiling(rules.ExpiryWarningBefore.TotalDays) + 1);
        var waitingSince = now - (rules.RemindTherapistAfter < rules.TellPhysicianAfter ? rules.RemindTherapistAfter : rules.TellPhysicianAfter);
        foreach (var owner in (await services.Directory.AllAsync(cancellationToken)).Keys)
        {
            var due = await services.Store.DueAsync(owner, waitingSince, expiringFrom, expiringTo, cancellationToken);
            if (due is null)
            {
                await services.Store.IndexDueAsync(owner, cancellationToken);
                due = await services.Store.DueAsync(owner, waitingSince, expiringFrom, expiringTo, cancellationToken) ?? [];
            }

            var referrals = await Task.WhenAll(due.Select(id => services.Store.GetAsync(id, cancellationToken)));
            foreach (var referral in referrals.OfType<StoredReferral>().Where(r => r.Request.Status == RequestStatus.Active))
            {
                var done = await services.Store.WorkAsync(referral.Id, cancellationToken);
                var summary = ReferralSummary.Of(referral.Request, referral.Task);
                var state = summary.State;
                var waiting = FhirTime.TryDateTime(referral.Task.AuthoredOn, out var authored) ? now - authored : TimeSpan.Zero;
                // Only a referral nobody has answered is "unanswered": one on hold was answered by the therapist with a
                // question (the physician was told when it was put on hold), so neither of them is nagged about it while it
                // waits; resumed, it is new again and counts from when it was sent. Its expiry is still warned of below.
                if (state == ReferralTaskState.Created && waiting >= rules.RemindTherapistAfter)
                {
                    queued += await QueueOnceAsync(services, referral, done, NotificationFunction.TherapistReminder, now, cancellationToken);
                }

                if (state == ReferralTaskState.Created && waiting >= rules.TellPhysicianAfter)
                {
                    queued += await QueueOnceAsync(services, referral, done, NotificationFunction.PhysicianUnanswered, now, cancellationToken);
                }

                // The validity's dates are days in the prescribing practice's zone: so is "today".
                var today = summary.TodayAt(now);
                if (state is { } current && !ReferralTaskStates.IsTerminal(current) && summary.ValidUntil is { } validUntil
                    && validUntil >= today && validUntil.ToDateTime(TimeOnly.MinValue) - today.ToDateTime(TimeOnly.MinValue) <= rules.ExpiryWarningBefore)
                {
                    queued += await QueueOnceAsync(services, referral, done, NotificationFunction.PrescriptionExpiring, now, cancellationToken);
                }
            }
        }

        LogRun(services.Logger, queued);
        return $"Queued {queued} reminder(s).";
    }

    private static async Task<int> QueueOnceAsync(Services services, StoredReferral referral, ReferralWork done, string kind, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var flag = NotificationFunction.Flag("Queued", kind);
        if (done.Has(flag))
        {
            return 0;
        }

        await services.Notifications.EnqueueAsync(new ReferralEvent(kind, referral.Id), cancellationToken);
        await services.Store.MarkWorkAsync(referral.Id, flag, now, cancellationToken);
        return 1;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reminders: {Count} queued.")]
    private static partial void LogRun(ILogger logger, int count);
}

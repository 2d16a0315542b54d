using Hl7.Fhir.Model;
using Microsoft.Extensions.Time.Testing;
using Referral.Model.Referrals;
using Referral.Model.Sessions;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using Referral.SmartApp.Status;
using Referral.Tests.Infrastructure;
using Referral.Tests.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Tests.SmartApp;

/// <summary>
/// The status page's reading of a referral, on Tasks, Procedures and Observations made by the model itself (the
/// state machine and SessionRecorder), i.e. exactly what the functions app returns once the progress endpoints land.
/// </summary>
public sealed class StatusTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider time = new(Start);

    [Fact]
    public void Each_task_state_reads_as_the_physician_expects()
    {
        var (request, task) = Referral();
        var now = Start;

        Assert.Equal("Sent", ReferralStatus.Of(request, task, now).Label);
        var accepted = ModelFixtures.MoveTask(time, task, ReferralTaskState.Accepted);
        Assert.Equal("Accepted", ReferralStatus.Of(request, accepted, now).Label);
        var declined = ModelFixtures.MoveTask(time, task, ReferralTaskState.Declined, "Not taking workers' comp this month");
        var declinedStatus = ReferralStatus.Of(request, declined, now);
        Assert.Equal(("Declined", "Not taking workers' comp this month"), (declinedStatus.Label, declinedStatus.Reason));

        var (_, afterTwo, _) = Sessions(request, accepted, 2);
        var progress = ReferralStatus.Of(request, afterTwo, now);
        Assert.Equal("In progress: 2 of 6 sessions", progress.Label);
        Assert.Equal(4, progress.SessionsRemaining);
        Assert.Equal("Completed", ReferralStatus.Of(request, ModelFixtures.MoveTask(time, afterTwo, ReferralTaskState.Completed), now).Label);
        Assert.Equal("Expired", ReferralStatus.Of(request, accepted, now.AddDays(120)).Label);
    }

    [Fact]
    public void The_physician_may_cancel_only_where_the_task_state_machine_lets_the_physician_cancel_and_the_validity_has_not_ended()
    {
        var (request, task) = Referral();
        var now = Start;

        Assert.True(ReferralStatus.Of(request, task, now).CanCancel);
        Assert.True(ReferralStatus.Of(request, ModelFixtures.MoveTask(time, task, ReferralTaskState.OnHold, "Which wrist?"), now).CanCancel);
        var accepted = ModelFixtures.MoveTask(time, task, ReferralTaskState.Accepted);
        Assert.True(ReferralStatus.Of(request, accepted, now).CanCancel);
        var (_, afterOne, _) = Sessions(request, accepted, 1);
        Assert.True(ReferralStatus.Of(request, afterOne, now).CanCancel);
        Assert.False(ReferralStatus.Of(request, ModelFixtures.MoveTask(time, task, ReferralTaskState.Declined, "Full"), now).CanCancel);
        Assert.False(ReferralStatus.Of(request, ModelFixtures.MoveTask(time, afterOne, ReferralTaskState.Completed), now).CanCancel);
        Assert.False(ReferralStatus.Of(request, accepted, now.AddDays(120)).CanCancel);
        Assert.False(ReferralStatus.Of(request, null, now).CanCancel);
    }

    [Fact]
    public void A_prescription_expires_when_its_last_day_is_over_in_the_prescribing_practices_zone()
    {
        var draft = ReferralScenario.DraftFactory.Draft() with { ValidFrom = new DateOnly(2026, 3, 2), ValidUntil = new DateOnly(2026, 3, 10) };
        var honolulu = new ReferralBuilder(time).Build(draft with { TimeZone = "Pacific/Honolulu" });
        var utc = new ReferralBuilder(time).Build(draft with { TimeZone = "UTC" });
        (honolulu.Id, utc.Id) = ("sr-1", "sr-1");
        var task = ModelFixtures.MoveTask(time, ReferralTasks.Create(honolulu, Start), ReferralTaskState.Accepted);
        // 05:00 UTC on the 11th is 19:00 on the 10th in Honolulu: its last day is not over there.
        var now = new DateTimeOffset(2026, 3, 11, 5, 0, 0, TimeSpan.Zero);

        Assert.Equal("Accepted", ReferralStatus.Of(honolulu, task, now).Label);
        Assert.Equal("Expired", ReferralStatus.Of(utc, task, now).Label);
        Assert.Equal("Expired", ReferralStatus.Of(honolulu, task, now.AddHours(10)).Label);
    }

    [Fact]
    public void The_pain_series_pairs_before_and_after_of_each_session_and_the_chart_states_them_in_text()
    {
        var (request, task) = Referral();
        var accepted = ModelFixtures.MoveTask(time, task, ReferralTaskState.Accepted);
        var (observations, _, procedures) = Sessions(request, accepted, 3);

        var points = PainSeries.Of(observations);
        var svg = PainChart.Svg(points);

        Assert.Equal([(1, 7m, 5m), (2, 6m, 4m), (3, 5m, 3m)], points.Select(p => (p.Session, p.Before!.Value, p.After!.Value)));
        Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
        Assert.Contains("role=\"img\"", svg, StringComparison.Ordinal);
        Assert.Contains("session 2: 6 before, 4 after", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", svg, StringComparison.Ordinal);
        Assert.Equal(3, svg.Split("<circle class=\"before\"").Length - 1);

        var timeline = Timeline.Of(ReferralSummary.Of(request, accepted), procedures);
        Assert.Equal(["Sent to the therapist", "Accepted by the therapist", "Session 1 of 6", "Session 2 of 6", "Session 3 of 6"], timeline.Select(e => e.What));
    }

    [Fact]
    public void A_renewal_request_shows_on_the_timeline_and_the_completed_Tasks_discharge_summary_reads_back()
    {
        var (request, task) = Referral();
        var (_, treated, procedures) = Sessions(request, ModelFixtures.MoveTask(time, task, ReferralTaskState.Accepted), 2);
        time.Advance(TimeSpan.FromDays(1));
        var renewal = new RenewalRequest(time.GetUtcNow(), "Grip still weak after two sessions.", 4);
        var renewed = ReferralTasks.WithRenewalRequest(treated, renewal);
        var completed = ReferralTasks.WithDischargeSummary(ModelFixtures.MoveTask(time, renewed, ReferralTaskState.Completed), new DischargeSummary("Pain 7 to 3.", null));

        var timeline = Timeline.Of(ReferralSummary.Of(request, completed), procedures);

        Assert.Equal(
            ["Sent to the therapist", "Accepted by the therapist", "Session 1 of 6", "Session 2 of 6", "Renewal requested by the therapist", "Completed"],
            timeline.Select(e => e.What));
        Assert.Equal(renewal, ReferralTasks.RenewalRequestOf(completed));
        Assert.Equal(new DischargeSummary("Pain 7 to 3.", null), ReferralTasks.DischargeSummaryOf(completed));
        Assert.Equal("Completed", ReferralStatus.Of(request, completed, Start).Label);
    }

    [Fact]
    public void Sessions_read_in_the_prescribing_practices_zone_with_pain_before_and_after_and_no_note_said_so()
    {
        var draft = ReferralScenario.DraftFactory.Draft() with { ValidFrom = new DateOnly(2026, 3, 1), ValidUntil = new DateOnly(2026, 5, 1), TimeZone = "Pacific/Honolulu" };
        var request = new ReferralBuilder(new FakeTimeProvider(Start.AddDays(-1))).Build(draft);
        request.Id = "sr-1";
        var task = ModelFixtures.MoveTask(time, ReferralTasks.Create(request, Start), ReferralTaskState.Accepted);
        var (observations, _, procedures) = Sessions(request, task, 2);

        var sessions = SessionSummaries.Of(ReferralSummary.Of(request, null), procedures, observations);

        Assert.Equal([1, 2], sessions.Select(s => s.Number));
        // The first session starts at 08:00 UTC on Monday 9 March: the evening before in Honolulu (UTC-10).
        var first = sessions[0];
        Assert.Equal(new DateTimeOffset(2026, 3, 9, 8, 0, 0, TimeSpan.Zero), first.Start);
        Assert.Equal("Sun 8 Mar 2026, 22:00 (Pacific/Honolulu)", first.When);
        Assert.Equal((60, 7m, 5m), (first.Minutes, first.PainBefore, first.PainAfter));
        Assert.Equal(["Right wrist joint"], first.Sites);
        Assert.Equal(["Myofascial release"], first.Techniques);
        Assert.Null(first.Note);
        Assert.Equal((6m, 4m), (sessions[1].PainBefore, sessions[1].PainAfter));
        Assert.Empty(ProgressView.Of(ReferralSummary.Of(request, null), [], []).Pain);
    }

    private (ServiceRequest Request, FhirTask Task) Referral()
    {
        var draft = ReferralScenario.DraftFactory.Draft();
        var request = new ReferralBuilder(time).Build(draft with { ValidFrom = DateOnly.FromDateTime(Start.UtcDateTime), ValidUntil = DateOnly.FromDateTime(Start.UtcDateTime).AddDays(89) });
        request.Id = "sr-1";
        var task = ReferralTasks.Create(request, Start);
        task.Id = "sr-1";
        return (request, task);
    }

    private (List<Observation> Observations, FhirTask Task, List<Procedure> Procedures) Sessions(ServiceRequest request, FhirTask task, int count)
    {
        var recorder = new SessionRecorder(time);
        var observations = new List<Observation>();
        var procedures = new List<Procedure>();
        for (var i = 0; i < count; i++)
        {
            time.Advance(TimeSpan.FromDays(7));
            var result = recorder.Record(request, task, new SessionRecord
            {
                Start = time.GetUtcNow().AddHours(-2),
                Minutes = 60,
                BodyAreasTreated = [new BodyArea(BodyRegion.Wrist, Laterality.Right)],
                Techniques = [MassageTechnique.MyofascialRelease],
                PainBefore = 7 - i,
                PainAfter = 5 - i,
            });
            Assert.True(result.Succeeded, string.Join("; ", result.Outcome.Issue.Select(x => x.Details?.Text)));
            observations.AddRange(result.Observations);
            procedures.Add(result.Procedure!);
            task = result.Task!;
        }

        return (observations, task, procedures);
    }
}

using Hl7.Fhir.Model;
using Microsoft.Extensions.Time.Testing;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Sessions;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Tests.Model;

/// <summary>
/// The shared read model of a referral, on ServiceRequests the builder made and Tasks the state machine and the session
/// recorder moved (what the API stores), and on odd ones: no Task, elements missing, codes nobody knows.
/// </summary>
public sealed class ReferralSummaryTests
{
    private readonly FakeTimeProvider time = new(ModelFixtures.Now);

    [Fact]
    public void A_referral_the_builder_made_reads_back_as_it_was_prescribed()
    {
        var (request, task) = Stored(ModelFixtures.Draft() with { BodySites = [new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Neck)] });

        var summary = ReferralSummary.Of(request, task);

        Assert.Equal("sr-1", summary.Id);
        Assert.Equal(ReferralTaskState.Created, summary.State);
        Assert.Equal((8, 0, 8), (summary.SessionsPrescribed, summary.SessionsUsed, summary.SessionsRemaining));
        Assert.Equal(new PrescribedFrequency(2, 1, FrequencyUnit.Week), summary.Frequency);
        Assert.Equal("2 per week", summary.Frequency!.Text);
        Assert.Equal(45, summary.MinutesPerSession);
        Assert.Equal((new DateOnly(2025, 3, 1), new DateOnly(2025, 4, 30)), (summary.ValidFrom, summary.ValidUntil));
        Assert.Equal("UTC", summary.Zone.Id);
        Assert.Equal([new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Neck)], summary.BodySites);
        var diagnosis = Assert.Single(summary.Diagnoses);
        Assert.Equal(MassageConditions.Find(Canonicals.Icd10Cm, "G56.01"), diagnosis.Condition);
        Assert.Equal(diagnosis.Condition!.Display, diagnosis.Name);
        Assert.Contains(diagnosis.Codes, c => c.System == Canonicals.Icd10Cm && c.Code == "G56.01");
        var precaution = Assert.Single(summary.Precautions);
        Assert.Equal(Precaution.Anticoagulants, precaution.Known);
        Assert.Equal(Precautions.Codes.For(Precaution.Anticoagulants).Display, precaution.Text);
        Assert.Equal(FhirTime.DateTime(ModelFixtures.Now), FhirTime.DateTime(summary.Sent!.Value));
        Assert.False(summary.IsClosed);
        Assert.False(summary.IsUnderTreatment);
    }

    [Fact]
    public void The_training_a_referral_calls_for_comes_from_its_conditions_and_precautions()
    {
        var (lymphedema, _) = Stored(ModelFixtures.Draft() with
        {
            Diagnoses = [new Diagnosis("I89.0", null)],
            Precautions = [Precaution.Cancer],
            Frequency = new SessionFrequency(1, 2, FrequencyUnit.Week),
        });

        var summary = ReferralSummary.Of(lymphedema, null);

        Assert.Contains(summary.Training, t => t.Training == TherapistTraining.ManualLymphDrainage);
        Assert.Contains(summary.Training, t => t.Training == TherapistTraining.OncologyMassage);
        Assert.Equal("1 per 2 weeks", summary.Frequency!.Text);
    }

    [Fact]
    public void Without_a_task_nobody_can_move_the_referral_and_no_session_is_counted()
    {
        var (request, _) = Stored(ModelFixtures.Draft());

        var summary = ReferralSummary.Of(request, null);

        Assert.Null(summary.State);
        Assert.Null(summary.StatusReason);
        Assert.Equal((0, 8), (summary.SessionsUsed, summary.SessionsRemaining));
        Assert.Empty(summary.AvailableTo(TaskActor.Physician));
        Assert.Empty(summary.AvailableTo(TaskActor.Therapist));
        Assert.False(summary.Allows(TaskActor.Physician, ReferralTaskState.Cancelled));
        Assert.Equal(FhirTime.DateTime(ModelFixtures.Now), FhirTime.DateTime(summary.Sent!.Value));
    }

    [Fact]
    public void A_referral_missing_its_timing_extensions_and_known_codes_reads_as_far_as_it_goes()
    {
        var request = new ServiceRequest
        {
            Id = "odd",
            // A validity without the tz-code extension, no count, no frequency, no duration.
            Occurrence = new Timing { Repeat = new Timing.RepeatComponent { Bounds = new Period { End = "2025-03-10" } } },
            BodySite = [new CodeableConcept(Canonicals.Snomed, "000000", "Somewhere unknown"), new CodeableConcept { Text = "left calf" }],
            ReasonCode = [new CodeableConcept { Text = "Sore after the marathon" }, new CodeableConcept(Canonicals.Icd10Cm, "Z99.99")],
            OrderDetail = [new CodeableConcept { Text = "Bruises easily" }],
        };
        var task = new FhirTask { Id = "odd", Status = FhirTask.TaskStatus.Draft };

        var summary = ReferralSummary.Of(request, task);

        Assert.Null(summary.State);
        Assert.Equal((0, 0, 0), (summary.SessionsPrescribed, summary.SessionsUsed, summary.SessionsRemaining));
        Assert.Null(summary.Frequency);
        Assert.Null(summary.MinutesPerSession);
        Assert.Equal((null, new DateOnly(2025, 3, 10)), (summary.ValidFrom, summary.ValidUntil));
        Assert.Equal(TimeZoneInfo.Utc.Id, summary.Zone.Id);
        Assert.Empty(summary.BodySites);
        Assert.Equal(["Sore after the marathon", ""], summary.Diagnoses.Select(d => d.Name));
        Assert.All(summary.Diagnoses, d => Assert.Null(d.Condition));
        Assert.Equal(new PrecautionSummary("Bruises easily", null), Assert.Single(summary.Precautions));
        Assert.Empty(summary.Training);
        Assert.Null(summary.Sent);
        Assert.Empty(summary.AvailableTo(TaskActor.Therapist));
        Assert.True(summary.IsExpiredAt(new DateTimeOffset(2025, 3, 11, 0, 0, 0, TimeSpan.Zero)));
        Assert.False(summary.IsExpiredAt(new DateTimeOffset(2025, 3, 10, 23, 59, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void The_moves_each_side_may_make_are_the_state_machines()
    {
        var (request, task) = Stored(ModelFixtures.Draft());

        var sent = ReferralSummary.Of(request, task);
        Assert.Equal([ReferralTaskState.Cancelled], sent.AvailableTo(TaskActor.Physician).Select(t => t.To));
        Assert.Equal(
            [ReferralTaskState.Accepted, ReferralTaskState.Declined, ReferralTaskState.OnHold],
            sent.AvailableTo(TaskActor.Therapist).Select(t => t.To).Order());
        Assert.False(sent.Allows(TaskActor.Therapist, ReferralTaskState.SessionCompleted));

        var onHold = ReferralSummary.Of(request, ModelFixtures.MoveTask(time, task, ReferralTaskState.OnHold, "Which wrist?"));
        Assert.Equal("Which wrist?", onHold.StatusReason);
        Assert.True(onHold.Allows(TaskActor.Therapist, ReferralTaskState.Created));
        Assert.False(onHold.Allows(TaskActor.Therapist, ReferralTaskState.OnHold));
        Assert.True(onHold.Allows(TaskActor.Physician, ReferralTaskState.Cancelled));

        var accepted = ReferralSummary.Of(request, ModelFixtures.MoveTask(time, task, ReferralTaskState.Accepted));
        Assert.True(accepted.IsUnderTreatment);
        Assert.True(accepted.Allows(TaskActor.Therapist, ReferralTaskState.SessionCompleted));
        Assert.False(accepted.Allows(TaskActor.Therapist, ReferralTaskState.Accepted));
        Assert.True(accepted.Allows(TaskActor.Physician, ReferralTaskState.Cancelled));
        Assert.False(accepted.Allows(TaskActor.Physician, ReferralTaskState.Completed));
    }

    [Fact]
    public void A_completed_referral_counts_its_sessions_and_offers_no_move_to_anyone()
    {
        var (request, task) = Stored(ModelFixtures.Draft());
        var treated = Sessions(request, ModelFixtures.MoveTask(time, task, ReferralTaskState.Accepted), 3);

        var completed = ReferralSummary.Of(request, ModelFixtures.MoveTask(time, treated, ReferralTaskState.Completed));

        Assert.Equal(ReferralTaskState.Completed, completed.State);
        Assert.True(completed.IsClosed);
        Assert.False(completed.IsUnderTreatment);
        Assert.Equal((3, 5), (completed.SessionsUsed, completed.SessionsRemaining));
        Assert.Empty(completed.AvailableTo(TaskActor.Physician));
        Assert.Empty(completed.AvailableTo(TaskActor.Therapist));
        Assert.Empty(completed.AvailableTo(TaskActor.System));
    }

    [Fact]
    public void The_validity_ends_at_midnight_in_the_prescribing_practices_zone()
    {
        var (honolulu, _) = Stored(ModelFixtures.Draft() with { TimeZone = "Pacific/Honolulu" });
        var summary = ReferralSummary.Of(honolulu, null);
        // 05:00 UTC on 1 May is 19:00 on 30 April in Honolulu: the last day is not over there.
        var evening = new DateTimeOffset(2025, 5, 1, 5, 0, 0, TimeSpan.Zero);

        Assert.Equal("Pacific/Honolulu", summary.Zone.Id);
        Assert.Equal(new DateOnly(2025, 4, 30), summary.TodayAt(evening));
        Assert.False(summary.IsExpiredAt(evening));
        Assert.True(summary.IsExpiredAt(evening.AddHours(10)));
    }

    private (ServiceRequest Request, FhirTask Task) Stored(ReferralDraft draft)
    {
        var request = new ReferralBuilder(time).Build(draft);
        request.Id = "sr-1";
        var task = ReferralTasks.Create(request, time.GetUtcNow());
        task.Id = "sr-1";
        return (request, task);
    }

    private FhirTask Sessions(ServiceRequest request, FhirTask task, int count)
    {
        var recorder = new SessionRecorder(time);
        for (var i = 0; i < count; i++)
        {
            time.Advance(TimeSpan.FromDays(3));
            var result = recorder.Record(request, task, new SessionRecord
            {
                Start = time.GetUtcNow().AddHours(-2),
                Minutes = 45,
                BodyAreasTreated = [new BodyArea(BodyRegion.Wrist, Laterality.Right)],
                Techniques = [MassageTechnique.MyofascialRelease],
                PainBefore = 6,
                PainAfter = 4,
            });
            Assert.True(result.Succeeded, string.Join("; ", result.Outcome.Issue.Select(x => x.Details?.Text)));
            task = result.Task!;
        }

        return task;
    }
}

using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Conformance;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using S = Referral.Model.Tasks.ReferralTaskState;
using Task = Hl7.Fhir.Model.Task;

namespace Referral.Tests.Model;

/// <summary>The discharge summary and renewal requests a referral's Task carries in its output (the model contract both apps read).</summary>
public sealed class CourseOutputTests
{
    [Fact]
    public void A_discharge_summary_is_stored_as_outputs_and_read_back_without_changing_the_original_Task()
    {
        var task = TaskIn(S.SessionCompleted);

        var discharged = ReferralTasks.WithDischargeSummary(task, new DischargeSummary("  Pain down from 7 to 2; full grip.  ", "Home stretches twice a day."));

        Assert.Equal(new DischargeSummary("Pain down from 7 to 2; full grip.", "Home stretches twice a day."), ReferralTasks.DischargeSummaryOf(discharged));
        Assert.Null(ReferralTasks.DischargeSummaryOf(task));
        Assert.Empty(task.Output);
        var codes = discharged.Output.Select(o => o.Type!.Coding.Single()).ToList();
        Assert.All(codes, c => Assert.Equal(Canonicals.TaskOutputTypeSystem, c.System));
        Assert.Equal(["discharge-outcome", "discharge-recommendations"], codes.Select(c => c.Code));
        Assert.All(discharged.Output, o => Assert.IsType<FhirString>(o.Value));
    }

    [Fact]
    public void A_discharge_summary_without_recommendations_reads_back_with_none_and_a_second_one_replaces_the_first()
    {
        var once = ReferralTasks.WithDischargeSummary(TaskIn(S.SessionCompleted), new DischargeSummary("Improved.", "Keep stretching."));

        var twice = ReferralTasks.WithDischargeSummary(once, new DischargeSummary("Much improved.", "   "));

        Assert.Equal(new DischargeSummary("Much improved.", null), ReferralTasks.DischargeSummaryOf(twice));
        Assert.Single(twice.Output);
    }

    [Fact]
    public void A_discharge_summary_must_state_an_outcome()
    {
        Assert.Throws<ArgumentException>(() => ReferralTasks.WithDischargeSummary(TaskIn(S.SessionCompleted), new DischargeSummary(" ", "Rest.")));
    }

    [Fact]
    public void Closing_a_course_needs_an_outcome_only_once_a_session_was_recorded()
    {
        var untreated = TaskIn(S.NoShow);
        var treated = TaskIn(S.NoShow);
        treated.Output.Add(new Task.OutputComponent
        {
            Type = ReferralTasks.OutputTypes.For(SessionOutput.Procedure).ToCodeableConcept(),
            Value = new ResourceReference("Procedure/p1"),
        });

        Assert.False(ReferralTasks.RequiresDischargeOutcome(untreated));
        Assert.True(ReferralTasks.RequiresDischargeOutcome(treated));
    }

    [Theory]
    [InlineData(S.Accepted, true)]
    [InlineData(S.Scheduled, true)]
    [InlineData(S.NoShow, true)]
    [InlineData(S.SessionCompleted, true)]
    [InlineData(S.Created, false)]
    [InlineData(S.Declined, false)]
    [InlineData(S.Cancelled, false)]
    [InlineData(S.Completed, false)]
    public void A_renewal_may_be_requested_only_while_the_referral_is_accepted_or_under_treatment(S state, bool allowed)
    {
        var task = TaskIn(state);
        var request = new RenewalRequest(ModelFixtures.Now, "Grip still weak.", 4);

        Assert.Equal(allowed, ReferralTasks.CanRequestRenewal(task));
        if (allowed)
        {
            Assert.Equal(request, ReferralTasks.RenewalRequestOf(ReferralTasks.WithRenewalRequest(task, request)));
        }
        else
        {
            Assert.Throws<InvalidOperationException>(() => ReferralTasks.WithRenewalRequest(task, request));
        }
    }

    [Fact]
    public void Renewal_requests_accumulate_the_latest_is_the_one_read_and_each_round_trips_through_json()
    {
        var task = TaskIn(S.SessionCompleted);
        var first = new RenewalRequest(ModelFixtures.Now, "Grip still weak.", 4);
        var second = new RenewalRequest(ModelFixtures.Now.AddDays(7), "Progress stalled at session 6.", null);

        var renewed = ReferralTasks.WithRenewalRequest(ReferralTasks.WithRenewalRequest(task, first), second);
        Assert.True(FhirJson.TryParse<Task>(FhirJson.Serialize(renewed), out var parsed, out var outcome), FhirJson.Serialize(outcome));

        Assert.Equal([first, second], ReferralTasks.RenewalRequestsOf(parsed!));
        Assert.Equal(second, ReferralTasks.RenewalRequestOf(parsed!));
        Assert.Equal(FhirTime.DateTime(second.When), renewed.LastModified);
        var note = Assert.IsType<Annotation>(renewed.Output[0].Value);
        Assert.Equal(ModelFixtures.Therapist, Assert.IsType<ResourceReference>(note.Author).Reference);
        Assert.Equal(4, renewed.Output[0].GetExtensionValue<PositiveInt>(Canonicals.RenewalSessionsExtension)?.Value);
        Assert.Null(ReferralTasks.RenewalRequestOf(task));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(53)]
    public void A_renewal_asks_for_1_to_52_more_sessions(int sessions)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            ReferralTasks.WithRenewalRequest(TaskIn(S.Accepted), new RenewalRequest(ModelFixtures.Now, "More needed.", sessions)));
    }

    [Fact]
    public void The_served_task_output_CodeSystem_lists_the_discharge_renewal_and_hold_codes()
    {
        var system = ConformanceArtifacts.CodeSystems().Single(c => c.Url == Canonicals.TaskOutputTypeSystem);

        Assert.Equal(
            ["discharge-outcome", "discharge-recommendations", "on-hold", "renewal-request", "resumed", "session-observation", "session-procedure"],
            system.Concept.Select(c => c.Code).Order(StringComparer.Ordinal));
    }

    private static Task TaskIn(S state)
    {
        var request = ModelFixtures.Referral();
        request.Id = "sr-1";
        var task = ReferralTasks.Create(request, ModelFixtures.Now);
        task.Status = ReferralTaskStates.StatusOf(state);
        task.BusinessStatus = ReferralTaskStates.BusinessStatusOf(state).ToCodeableConcept();
        return task;
    }
}

using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using Referral.Tests.Infrastructure;
using R = Referral.Model.Fhir.ValidationRules;
using S = Referral.Model.Tasks.ReferralTaskState;
using Task = Hl7.Fhir.Model.Task;

namespace Referral.Tests.Model;

public sealed class TaskStateMachineTests
{
    private const string Owner = ModelFixtures.Therapist;

    /// <summary>
    /// The expected table, written out independently of the code: "From -> To: actors [reason] [ServiceRequest status]".
    /// P physician, T the assigned therapist, S the system. Every pair not listed must be refused.
    /// </summary>
    private static readonly string[] ExpectedTable =
    [
        "Created -> Accepted: T",
        "Created -> Declined: T reason",
        "Created -> Cancelled: PS reason revoked",
        "Created -> OnHold: T reason",
        "OnHold -> Created: T",
        "OnHold -> Accepted: T",
        "OnHold -> Declined: T reason",
        "OnHold -> Cancelled: PS reason revoked",
        "Accepted -> Scheduled: T",
        "Accepted -> SessionCompleted: T",
        "Accepted -> Cancelled: PTS reason revoked",
        "Scheduled -> Scheduled: T",
        "Scheduled -> NoShow: T",
        "Scheduled -> SessionCompleted: T",
        "Scheduled -> Cancelled: PTS reason revoked",
        "NoShow -> Scheduled: T",
        "NoShow -> SessionCompleted: T",
        "NoShow -> Cancelled: PTS reason revoked",
        "NoShow -> Completed: TS reason completed",
        "SessionCompleted -> Scheduled: T",
        "SessionCompleted -> SessionCompleted: T",
        "SessionCompleted -> Cancelled: PTS reason revoked",
        "SessionCompleted -> Completed: TS completed",
    ];

    private sealed record Expected(string Actors, bool Reason, RequestStatus? RequestStatus);

    private static readonly Dictionary<(S From, S To), Expected> Table = ExpectedTable.ToDictionary(
        line => (Enum.Parse<S>(line.Split(" -> ")[0]), Enum.Parse<S>(line.Split(" -> ")[1].Split(':')[0])),
        line =>
        {
            var words = line.Split(": ")[1].Split(' ');
            RequestStatus? status = words.Contains("revoked") ? RequestStatus.Revoked : words.Contains("completed") ? RequestStatus.Completed : null;
            return new Expected(words[0], words.Contains("reason"), status);
        });

    public static TheoryData<S, S, TaskActor> EveryPairAndActor()
    {
        var data = new TheoryData<S, S, TaskActor>();
        foreach (var from in Enum.GetValues<S>())
        {
            foreach (var to in Enum.GetValues<S>())
            {
                foreach (var actor in Enum.GetValues<TaskActor>())
                {
                    data.Add(from, to, actor);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryPairAndActor))]
    public void Every_pair_of_states_and_every_actor_is_allowed_exactly_as_the_table_says(S from, S to, TaskActor actor)
    {
        var expected = Table.GetValueOrDefault((from, to));
        var allowed = expected is not null && expected.Actors.Contains(Letter(actor), StringComparison.Ordinal);

        var result = ReferralTaskStateMachine.Apply(TaskIn(from), Change(to, actor, reason: "Patient moved away"), ModelFixtures.Now);

        Assert.Equal(allowed, ReferralTaskStateMachine.IsAllowed(from, to, actor));
        Assert.Equal(allowed, result.Succeeded);
        if (allowed)
        {
            Assert.Equal(to, ReferralTaskStates.StateOf(result.Task!));
            Assert.Equal(expected!.RequestStatus, result.ServiceRequestStatus);
            Assert.Empty(result.Outcome.Problems());
        }
        else
        {
            var issue = Assert.Single(result.Outcome.Problems());
            Assert.Equal(expected is null ? R.TaskTransitionInvalid : R.TaskActorNotAllowed, issue.RuleOf());
            Assert.Equal(["Task.status"], issue.Expression);
            Assert.Null(result.Task);
            Assert.Null(result.ServiceRequestStatus);
        }
    }

    [Fact]
    public void The_code_table_is_the_expected_table()
    {
        var actual = ReferralTaskStateMachine.Transitions.ToDictionary(
            t => (t.From, t.To),
            t => new Expected(string.Concat(t.Actors.Select(Letter)), t.RequiresReason, t.ServiceRequestStatus));

        Assert.Equal(Table.Count, ReferralTaskStateMachine.Transitions.Count);
        Assert.Equal(Table.OrderBy(e => e.Key), actual.OrderBy(e => e.Key));
    }

    public static TheoryData<S, S> ReasonRequired() => [.. Table.Where(e => e.Value.Reason).Select(e => (e.Key.From, e.Key.To))];

    [Theory]
    [MemberData(nameof(ReasonRequired))]
    public void A_decline_or_cancellation_without_a_reason_is_refused_at_Task_statusReason(S from, S to)
    {
        var actor = Table[(from, to)].Actors.Contains('T', StringComparison.Ordinal) ? TaskActor.Therapist : TaskActor.Physician;

        foreach (var reason in new[] { null, "", "  " })
        {
            var result = ReferralTaskStateMachine.Apply(TaskIn(from), Change(to, actor, reason), ModelFixtures.Now);

            var issue = Assert.Single(result.Outcome.Problems());
            Assert.Equal((R.TaskReasonRequired, "Task.statusReason"), (issue.RuleOf(), issue.Expression.Single()));
            Assert.False(result.Succeeded);
        }
    }

    [Fact]
    public void The_reason_is_kept_in_statusReason()
    {
        var result = ReferralTaskStateMachine.Apply(TaskIn(S.Created), Change(S.Declined, TaskActor.Therapist, "No openings until June"), ModelFixtures.Now);

        Assert.Equal("No openings until June", result.Task!.StatusReason?.Text);
        Assert.Equal(Task.TaskStatus.Rejected, result.Task.Status);
        Assert.Equal("4.0", result.Task.BusinessStatus?.Coding[0].Code);
    }

    [Fact]
    public void Only_the_assigned_therapist_acts_as_the_therapist()
    {
        var stranger = ReferralTaskStateMachine.Apply(TaskIn(S.Created), Change(S.Accepted, TaskActor.Therapist) with { ActorReference = "PractitionerRole/other" }, ModelFixtures.Now);
        var anonymous = ReferralTaskStateMachine.Apply(TaskIn(S.Created), Change(S.Accepted, TaskActor.Therapist) with { ActorReference = null }, ModelFixtures.Now);

        Assert.Equal(ModelFixtures.Expect((R.TaskNotOwner, "Task.owner")), ModelFixtures.Problems(stranger.Outcome));
        Assert.Equal(ModelFixtures.Expect((R.TaskNotOwner, "Task.owner")), ModelFixtures.Problems(anonymous.Outcome));
        Assert.Equal(OperationOutcome.IssueType.Forbidden, Assert.Single(stranger.Outcome.Issue).Code);
    }

    [Fact]
    public void All_problems_of_a_change_are_reported_together()
    {
        var result = ReferralTaskStateMachine.Apply(TaskIn(S.Created), Change(S.Declined, TaskActor.Therapist, reason: null) with { ActorReference = "PractitionerRole/other" }, ModelFixtures.Now);

        Assert.Equal(ModelFixtures.Expect((R.TaskNotOwner, "Task.owner"), (R.TaskReasonRequired, "Task.statusReason")), ModelFixtures.Problems(result.Outcome));
    }

    [Fact]
    public void A_Task_in_no_known_state_is_refused_at_its_business_status()
    {
        var task = TaskIn(S.Created);
        task.Status = Task.TaskStatus.Completed;

        var result = ReferralTaskStateMachine.Apply(task, Change(S.Accepted, TaskActor.Therapist), ModelFixtures.Now);

        Assert.Null(ReferralTaskStates.StateOf(task));
        Assert.Equal(ModelFixtures.Expect((R.TaskStateUnknown, "Task.businessStatus")), ModelFixtures.Problems(result.Outcome));
    }

    [Fact]
    public void The_input_Task_is_never_changed()
    {
        var task = TaskIn(S.Created);
        var before = FhirJson.Serialize(task);

        var result = ReferralTaskStateMachine.Apply(task, Change(S.Accepted, TaskActor.Therapist), ModelFixtures.Now.AddHours(2));

        Assert.Equal(before, FhirJson.Serialize(task));
        Assert.NotSame(task, result.Task);
    }

    [Fact]
    public void Accepting_starts_and_ending_closes_the_execution_period()
    {
        var accepted = ReferralTaskStateMachine.Apply(TaskIn(S.Created), Change(S.Accepted, TaskActor.Therapist), ModelFixtures.Now).Task!;
        var session = ReferralTaskStateMachine.Apply(accepted, Change(S.SessionCompleted, TaskActor.Therapist), ModelFixtures.Now.AddDays(3)).Task!;
        var completed = ReferralTaskStateMachine.Apply(session, Change(S.Completed, TaskActor.System), ModelFixtures.Now.AddDays(30)).Task!;

        Assert.Equal(("2025-03-01T09:00:00+00:00", null), (accepted.ExecutionPeriod?.Start, accepted.ExecutionPeriod?.End));
        Assert.Equal("2025-03-04T09:00:00+00:00", session.LastModified);
        Assert.Equal(("2025-03-01T09:00:00+00:00", "2025-03-31T09:00:00+00:00"), (completed.ExecutionPeriod?.Start, completed.ExecutionPeriod?.End));
        Assert.Null(completed.StatusReason);
    }

    public static TheoryData<S> EveryState() => [.. Enum.GetValues<S>()];

    [Theory]
    [MemberData(nameof(EveryState))]
    public void A_state_is_one_status_with_one_BSeR_business_status_and_reads_back(S state)
    {
        var task = TaskIn(state);

        Assert.Equal(state, ReferralTaskStates.StateOf(task));
        Assert.Equal(Canonicals.BserTaskBusinessStatus, task.BusinessStatus?.Coding[0].System);
        Assert.Equal(ReferralTaskStates.IsTerminal(state), ReferralTaskStateMachine.AvailableTo(state, TaskActor.Therapist).Count == 0
            && ReferralTaskStateMachine.AvailableTo(state, TaskActor.Physician).Count == 0
            && ReferralTaskStateMachine.AvailableTo(state, TaskActor.System).Count == 0);
    }

    [Fact]
    public void The_BSeR_codes_are_those_of_the_design()
    {
        Assert.Equal(
            ["2.0", "3.0", "4.0", "5.1.1", "5.1.2", "5.1.4", "6.0", "7.0"],
            ReferralTaskStates.BusinessStatusConcepts.Select(c => c.Code));
    }

    [Fact]
    public void The_inbox_offers_a_therapist_the_moves_of_the_table()
    {
        var moves = ReferralTaskStateMachine.AvailableTo(S.Created, TaskActor.Therapist).Select(t => t.To);

        Assert.Equal([S.Accepted, S.Declined, S.OnHold], moves);
        Assert.Equal([S.Cancelled], ReferralTaskStateMachine.AvailableTo(S.Created, TaskActor.Physician).Select(t => t.To));
        Assert.Equal([S.Created, S.Accepted, S.Declined], ReferralTaskStateMachine.AvailableTo(S.OnHold, TaskActor.Therapist).Select(t => t.To));
        Assert.Equal([S.Cancelled], ReferralTaskStateMachine.AvailableTo(S.OnHold, TaskActor.System).Select(t => t.To));
    }

    [Fact]
    public void A_hold_is_Task_on_hold_with_its_reason_and_business_status_created_and_each_hold_and_resume_is_kept_in_the_output()
    {
        var held = ReferralTaskStateMachine.Apply(TaskIn(S.Created), Change(S.OnHold, TaskActor.Therapist, "Asked the physician about the anticoagulant dose."), ModelFixtures.Now).Task!;
        var resumed = ReferralTaskStateMachine.Apply(held, Change(S.Created, TaskActor.Therapist), ModelFixtures.Now.AddHours(5)).Task!;
        var heldAgain = ReferralTaskStateMachine.Apply(resumed, Change(S.OnHold, TaskActor.Therapist, "Waiting for the imaging report."), ModelFixtures.Now.AddDays(1)).Task!;
        var accepted = ReferralTaskStateMachine.Apply(heldAgain, Change(S.Accepted, TaskActor.Therapist), ModelFixtures.Now.AddDays(2)).Task!;

        Assert.Equal((Task.TaskStatus.OnHold, "2.0", "Asked the physician about the anticoagulant dose."), (held.Status, held.BusinessStatus?.Coding[0].Code, held.StatusReason?.Text));
        Assert.Equal((S.Created, Task.TaskStatus.Requested, null), (ReferralTaskStates.StateOf(resumed), resumed.Status, resumed.StatusReason));
        Assert.Null(held.ExecutionPeriod);
        Assert.Equal((S.Accepted, "2025-03-03T09:00:00+00:00"), (ReferralTaskStates.StateOf(accepted)!.Value, accepted.ExecutionPeriod?.Start));
        Assert.Null(accepted.StatusReason);
        Assert.Equal(
            [
                new HoldRecord(ModelFixtures.Now, HoldEvent.Held, "Asked the physician about the anticoagulant dose."),
                new HoldRecord(ModelFixtures.Now.AddHours(5), HoldEvent.Resumed, null),
                new HoldRecord(ModelFixtures.Now.AddDays(1), HoldEvent.Held, "Waiting for the imaging report."),
            ],
            ReferralTasks.HoldsOf(accepted));
        Assert.Empty(FhirSpec.Errors(accepted));
    }

    [Theory]
    [InlineData(S.OnHold, S.OnHold, "already on hold")]
    [InlineData(S.Created, S.Created, "Only a referral on hold can be resumed; this one is Created.")]
    [InlineData(S.Accepted, S.Created, "Only a referral on hold can be resumed")]
    [InlineData(S.Accepted, S.OnHold, "Only a new referral, not yet accepted or declined, can be put on hold")]
    public void Holding_twice_or_resuming_what_is_not_on_hold_is_refused_saying_why(S from, S to, string words)
    {
        var result = ReferralTaskStateMachine.Apply(TaskIn(from), Change(to, TaskActor.Therapist, "Waiting."), ModelFixtures.Now);

        var issue = Assert.Single(result.Outcome.Problems());
        Assert.Equal((R.TaskTransitionInvalid, OperationOutcome.IssueType.BusinessRule), (issue.RuleOf(), issue.Code));
        Assert.Contains(words, issue.Details?.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_new_Task_is_Created_focused_on_the_referral_and_owned_by_its_therapist()
    {
        var request = ModelFixtures.Referral();
        request.Id = "sr-1";

        var task = ReferralTasks.Create(request, ModelFixtures.Now);

        Assert.Equal(S.Created, ReferralTaskStates.StateOf(task));
        Assert.Equal(Task.TaskStatus.Requested, task.Status);
        Assert.Equal(Task.TaskIntent.Order, task.Intent);
        Assert.Equal("fulfill", task.Code?.Coding[0].Code);
        Assert.Equal("ServiceRequest/sr-1", task.Focus?.Reference);
        Assert.Equal("Patient/p1", task.For?.Reference);
        Assert.Equal("Practitioner/dr1", task.Requester?.Reference);
        Assert.Equal(Owner, task.Owner?.Reference);
        Assert.Equal(request.Identifier[0].Value, Assert.Single(task.Identifier).Value);
        Assert.Equal("2025-03-01T09:00:00+00:00", task.AuthoredOn);
        Assert.Equal(0, ReferralTasks.SessionsRecorded(task));

        Assert.True(FhirJson.TryParse<Task>(FhirJson.Serialize(task), out var parsed, out var outcome), FhirJson.Serialize(outcome));
        Assert.True(PocoEqualityComparisons.IsExactly(task, parsed!));
    }

    [Fact]
    public void A_Task_needs_a_stored_referral_with_a_therapist()
    {
        var unstored = ModelFixtures.Referral();
        var noTherapist = ModelFixtures.Referral();
        noTherapist.Id = "sr-1";
        noTherapist.Performer.Clear();

        Assert.Throws<ArgumentException>(() => ReferralTasks.Create(unstored, ModelFixtures.Now));
        Assert.Throws<ArgumentException>(() => ReferralTasks.Create(noTherapist, ModelFixtures.Now));
    }

    internal static Task TaskIn(S state)
    {
        var request = ModelFixtures.Referral();
        request.Id = "sr-1";
        var task = ReferralTasks.Create(request, ModelFixtures.Now);
        task.Status = ReferralTaskStates.StatusOf(state);
        task.BusinessStatus = ReferralTaskStates.BusinessStatusOf(state).ToCodeableConcept();
        return task;
    }

    private static TaskChange Change(S to, TaskActor actor, string? reason = null) => new()
    {
        To = to,
        Actor = actor,
        ActorReference = actor == TaskActor.Therapist ? Owner : null,
        Reason = reason,
    };

    private static string Letter(TaskActor actor) => actor switch
    {
        TaskActor.Physician => "P",
        TaskActor.Therapist => "T",
        _ => "S",
    };
}

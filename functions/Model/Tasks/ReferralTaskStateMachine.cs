using Hl7.Fhir.Model;
using Referral.Model.Fhir;

namespace Referral.Model.Tasks;

/// <summary>One allowed move of a referral's Task, who may make it, what it needs and what it does to the ServiceRequest.</summary>
public sealed record TaskTransition
{
    public required ReferralTaskState From { get; init; }

    public required ReferralTaskState To { get; init; }

    public required IReadOnlyList<TaskActor> Actors { get; init; }

    /// <summary>Declines and cancellations must say why (Task.statusReason).</summary>
    public bool RequiresReason { get; init; }

    /// <summary>The status the ServiceRequest takes, or null when it stays as it is.</summary>
    public RequestStatus? ServiceRequestStatus { get; init; }
}

/// <summary>A requested change of state.</summary>
public sealed record TaskChange
{
    public required ReferralTaskState To { get; init; }

    public required TaskActor Actor { get; init; }

    /// <summary>
    /// The acting therapist's reference, in the same form as Task.owner; required when <see cref="Actor"/> is
    /// <see cref="TaskActor.Therapist"/>, since only the assigned therapist acts as one.
    /// </summary>
    public string? ActorReference { get; init; }

    public string? Reason { get; init; }
}

public sealed record TaskTransitionResult
{
    /// <summary>What went wrong, or a single "all OK" information issue.</summary>
    public required OperationOutcome Outcome { get; init; }

    /// <summary>The changed copy of the Task; null when the change was refused. The input Task is never modified.</summary>
    public Task? Task { get; init; }

    /// <summary>The status to give the ServiceRequest in the same write, or null to leave it.</summary>
    public RequestStatus? ServiceRequestStatus { get; init; }

    public bool Succeeded => Task is not null;
}

/// <summary>
/// The referral Task's state machine: one table of every allowed transition. Anything not in the table is refused.
/// </summary>
public static class ReferralTaskStateMachine
{
    private static readonly ReferralTaskState[] UnderTreatment =
    [
        ReferralTaskState.Accepted,
        ReferralTaskState.Scheduled,
        ReferralTaskState.NoShow,
        ReferralTaskState.SessionCompleted,
    ];

    public static IReadOnlyList<TaskTransition> Transitions { get; } =
    [
        Move(ReferralTaskState.Created, ReferralTaskState.Accepted, TaskActor.Therapist),
        Move(ReferralTaskState.Created, ReferralTaskState.Declined, TaskActor.Therapist) with { RequiresReason = true },
        // System: the validity period ended before any therapist accepted.
        Move(ReferralTaskState.Created, ReferralTaskState.Cancelled, TaskActor.Physician, TaskActor.System) with
        { RequiresReason = true, ServiceRequestStatus = RequestStatus.Revoked },

        // On hold: the therapist waits for an answer (a question to the physician) before accepting or declining. Resuming
        // makes it new again; the answer may also come as an accept or decline straight from the hold. The physician may
        // still withdraw it, and the end of its validity still cancels it.
        Move(ReferralTaskState.Created, ReferralTaskState.OnHold, TaskActor.Therapist) with { RequiresReason = true },
        Move(ReferralTaskState.OnHold, ReferralTaskState.Created, TaskActor.Therapist),
        Move(ReferralTaskState.OnHold, ReferralTaskState.Accepted, TaskActor.Therapist),
        Move(ReferralTaskState.OnHold, ReferralTaskState.Declined, TaskActor.Therapist) with { RequiresReason = true },
        Move(ReferralTaskState.OnHold, ReferralTaskState.Cancelled, TaskActor.Physician, TaskActor.System) with
        { RequiresReason = true, ServiceRequestStatus = RequestStatus.Revoked },

        // Scheduling again from Scheduled is a reschedule; SessionCompleted again is the next session.
        .. UnderTreatment.Select(from => Move(from, ReferralTaskState.Scheduled, TaskActor.Therapist)),
        .. UnderTreatment.Select(from => Move(from, ReferralTaskState.SessionCompleted, TaskActor.Therapist)),
        // The therapist may end a course the patient stopped attending; the physician may withdraw the order.
        .. UnderTreatment.Select(from => Move(from, ReferralTaskState.Cancelled, TaskActor.Physician, TaskActor.Therapist, TaskActor.System) with
        { RequiresReason = true, ServiceRequestStatus = RequestStatus.Revoked }),

        Move(ReferralTaskState.Scheduled, ReferralTaskState.NoShow, TaskActor.Therapist),
        // System: the last prescribed session was recorded, or the validity period ended.
        Move(ReferralTaskState.SessionCompleted, ReferralTaskState.Completed, TaskActor.Therapist, TaskActor.System) with
        { ServiceRequestStatus = RequestStatus.Completed },
        // Closing after a missed last visit is unusual enough to need a word of explanation.
        Move(ReferralTaskState.NoShow, ReferralTaskState.Completed, TaskActor.Therapist, TaskActor.System) with
        { RequiresReason = true, ServiceRequestStatus = RequestStatus.Completed },
    ];

    private static readonly Dictionary<(ReferralTaskState From, ReferralTaskState To), TaskTransition> ByPair =
        Transitions.ToDictionary(t => (t.From, t.To));

    public static TaskTransition? Find(ReferralTaskState from, ReferralTaskState to) => ByPair.GetValueOrDefault((from, to));

    public static bool IsAllowed(ReferralTaskState from, ReferralTaskState to, TaskActor actor) =>
        Find(from, to)?.Actors.Contains(actor) == true;

    /// <summary>The moves an actor can make from a state: the buttons the inbox or the smart-app shows.</summary>
    public static IReadOnlyList<TaskTransition> AvailableTo(ReferralTaskState from, TaskActor actor) =>
        [.. Transitions.Where(t => t.From == from && t.Actors.Contains(actor))];

    /// <summary>
    /// Checks and applies a change to a copy of <paramref name="task"/>: every problem is reported at once, and
    /// nothing changes unless all checks pass.
    /// </summary>
    public static TaskTransitionResult Apply(Task task, TaskChange change, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(change);

        var from = ReferralTaskStates.StateOf(task);
        if (from is null)
        {
            return Refused(Outcomes.Error(ValidationRules.TaskStateUnknown, OperationOutcome.IssueType.Invalid, "Task.businessStatus",
                $"Task status '{task.Status}' with business status '{task.BusinessStatus?.Coding.FirstOrDefault()?.Code}' is not a referral state."));
        }

        var transition = Find(from.Value, change.To);
        if (transition is null)
        {
            return Refused(Outcomes.Error(ValidationRules.TaskTransitionInvalid, OperationOutcome.IssueType.BusinessRule, "Task.status",
                NotAllowed(from.Value, change.To)));
        }

        var issues = new List<OperationOutcome.IssueComponent>();
        if (!transition.Actors.Contains(change.Actor))
        {
            issues.Add(Outcomes.Error(ValidationRules.TaskActorNotAllowed, OperationOutcome.IssueType.Forbidden, "Task.status",
                $"The {change.Actor} cannot move a referral from {from} to {change.To}; only {string.Join(" or ", transition.Actors)} can."));
        }
        else if (change.Actor == TaskActor.Therapist
            && (change.ActorReference is null || !string.Equals(change.ActorReference, task.Owner?.Reference, StringComparison.Ordinal)))
        {
            issues.Add(Outcomes.Error(ValidationRules.TaskNotOwner, OperationOutcome.IssueType.Forbidden, "Task.owner",
                "Only the therapist this referral is assigned to can act on it."));
        }

        if (transition.RequiresReason && string.IsNullOrWhiteSpace(change.Reason))
        {
            issues.Add(Outcomes.Error(ValidationRules.TaskReasonRequired, OperationOutcome.IssueType.Required, "Task.statusReason",
                $"Moving a referral to {change.To} needs a reason."));
        }

        if (issues.Count > 0)
        {
            return new TaskTransitionResult { Outcome = Outcomes.From(issues) };
        }

        var changed = (Task)task.DeepCopy();
        SetState(changed, change.To);
        changed.StatusReason = string.IsNullOrWhiteSpace(change.Reason) ? null : new CodeableConcept { Text = change.Reason };
        var timestamp = FhirTime.DateTime(now);
        if (change.To == ReferralTaskState.OnHold || (from == ReferralTaskState.OnHold && change.To == ReferralTaskState.Created))
        {
            // statusReason holds only the current hold's reason; the output keeps every hold and resume for the timeline.
            ReferralTasks.AddHoldEvent(changed, change.To == ReferralTaskState.OnHold ? HoldEvent.Held : HoldEvent.Resumed, now, change.Reason);
        }

        changed.LastModified = timestamp;
        changed.ExecutionPeriod ??= new Period();
        if (change.To == ReferralTaskState.Accepted)
        {
            changed.ExecutionPeriod.Start = timestamp;
        }

        if (ReferralTaskStates.IsTerminal(change.To))
        {
            changed.ExecutionPeriod.End = timestamp;
        }

        if (changed.ExecutionPeriod.Start is null && changed.ExecutionPeriod.End is null)
        {
            changed.ExecutionPeriod = null;
        }

        return new TaskTransitionResult
        {
            Outcome = Outcomes.From([]),
            Task = changed,
            ServiceRequestStatus = transition.ServiceRequestStatus,
        };
    }

    internal static void SetState(Task task, ReferralTaskState state)
    {
        task.Status = ReferralTaskStates.StatusOf(state);
        task.BusinessStatus = ReferralTaskStates.BusinessStatusOf(state).ToCodeableConcept();
    }

    /// <summary>Why a move not in the table is refused, in words a caller can act on.</summary>
    private static string NotAllowed(ReferralTaskState from, ReferralTaskState to) => (from, to) switch
    {
        (ReferralTaskState.OnHold, ReferralTaskState.OnHold) => "The referral is already on hold; resume it, accept it or decline it.",
        (_, ReferralTaskState.Created) => $"Only a referral on hold can be resumed; this one is {from}.",
        _ when from == to => $"The referral is already {from}.",
        (_, ReferralTaskState.OnHold) => $"Only a new referral, not yet accepted or declined, can be put on hold; this one is {from}.",
        _ => $"A referral that is {from} cannot become {to}.",
    };

    private static TaskTransitionResult Refused(OperationOutcome.IssueComponent issue) => new() { Outcome = Outcomes.From([issue]) };

    private static TaskTransition Move(ReferralTaskState from, ReferralTaskState to, params TaskActor[] actors) =>
        new() { From = from, To = to, Actors = actors };
}

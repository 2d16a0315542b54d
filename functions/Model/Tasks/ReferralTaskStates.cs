using Hl7.Fhir.Model;
using Referral.Model.Terminology;

namespace Referral.Model.Tasks;

/// <summary>Where one therapist's fulfilment of a referral stands: the BSeR business statuses of DESIGN.md §4.</summary>
public enum ReferralTaskState
{
    Created,
    Accepted,
    Declined,
    Scheduled,
    NoShow,
    SessionCompleted,
    Cancelled,
    Completed,
}

/// <summary>Who asks for a transition.</summary>
public enum TaskActor
{
    /// <summary>The prescribing side, acting through the smart-app.</summary>
    Physician,

    /// <summary>The therapist the Task is assigned to (Task.owner), acting through the inbox.</summary>
    Therapist,

    /// <summary>The functions app itself: expiry of the validity period, the last prescribed session.</summary>
    System,
}

public static class ReferralTaskStates
{
    /// <summary>
    /// BSeR's TaskBusinessStatusCS (checked against the BSeR IG's source). One of its two versions spells 5.1.1
    /// "Serivce"; this uses the corrected spelling of the other.
    /// </summary>
    public static ConceptMap<ReferralTaskState> BusinessStatuses { get; } = new(new Dictionary<ReferralTaskState, Concept>
    {
        [ReferralTaskState.Created] = Bser("2.0", "Service Request Created"),
        [ReferralTaskState.Accepted] = Bser("3.0", "Service Request Accepted"),
        [ReferralTaskState.Declined] = Bser("4.0", "Service Request Declined"),
        [ReferralTaskState.Scheduled] = Bser("5.1.1", "Service Request Event Scheduled"),
        [ReferralTaskState.NoShow] = Bser("5.1.2", "Scheduled Service Request Event Unattended"),
        [ReferralTaskState.SessionCompleted] = Bser("5.1.4", "Service Request Event Completed"),
        [ReferralTaskState.Cancelled] = Bser("6.0", "Service Request Fulfillment Cancelled"),
        [ReferralTaskState.Completed] = Bser("7.0", "Service Request Fulfillment Completed"),
    });

    /// <summary>The R4 Task.status that goes with each business status.</summary>
    public static Task.TaskStatus StatusOf(ReferralTaskState state) => state switch
    {
        ReferralTaskState.Created => Task.TaskStatus.Requested,
        ReferralTaskState.Accepted => Task.TaskStatus.Accepted,
        ReferralTaskState.Declined => Task.TaskStatus.Rejected,
        ReferralTaskState.Scheduled or ReferralTaskState.NoShow or ReferralTaskState.SessionCompleted => Task.TaskStatus.InProgress,
        ReferralTaskState.Cancelled => Task.TaskStatus.Cancelled,
        ReferralTaskState.Completed => Task.TaskStatus.Completed,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>True once the therapist has accepted and before the course ends: sessions may be recorded.</summary>
    public static bool IsUnderTreatment(ReferralTaskState state) =>
        state is ReferralTaskState.Accepted or ReferralTaskState.Scheduled or ReferralTaskState.NoShow or ReferralTaskState.SessionCompleted;

    public static bool IsTerminal(ReferralTaskState state) =>
        state is ReferralTaskState.Declined or ReferralTaskState.Cancelled or ReferralTaskState.Completed;

    /// <summary>The state a Task is in, or null when its status and business status do not form one.</summary>
    public static ReferralTaskState? StateOf(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!BusinessStatuses.TryFind(task.BusinessStatus, out var state))
        {
            return null;
        }

        return task.Status == StatusOf(state) ? state : null;
    }

    private static Concept Bser(string code, string display) => new(Canonicals.BserTaskBusinessStatus, code, display);
}

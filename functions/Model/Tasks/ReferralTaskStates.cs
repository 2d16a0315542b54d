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

    /// <summary>
    /// Not yet accepted, and paused by the therapist while they wait for an answer (a question to the physician):
    /// Task.status on-hold with the reason in statusReason. Its business status stays BSeR 2.0 "created": the referral
    /// has not moved on in the business sense, and BSeR has no code for a pause.
    /// </summary>
    OnHold,
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
    /// "Serivce"; this uses the corrected spelling of the other. Each code once, in the order of the workflow.
    /// </summary>
    public static IReadOnlyList<Concept> BusinessStatusConcepts { get; } =
    [
        Bser("2.0", "Service Request Created"),
        Bser("3.0", "Service Request Accepted"),
        Bser("4.0", "Service Request Declined"),
        Bser("5.1.1", "Service Request Event Scheduled"),
        Bser("5.1.2", "Scheduled Service Request Event Unattended"),
        Bser("5.1.4", "Service Request Event Completed"),
        Bser("6.0", "Service Request Fulfillment Cancelled"),
        Bser("7.0", "Service Request Fulfillment Completed"),
    ];

    /// <summary>The BSeR business status of each state; on hold shares "created" with <see cref="ReferralTaskState.Created"/> (Task.status tells them apart).</summary>
    public static Concept BusinessStatusOf(ReferralTaskState state) => state switch
    {
        ReferralTaskState.Created or ReferralTaskState.OnHold => BusinessStatusConcepts[0],
        ReferralTaskState.Accepted => BusinessStatusConcepts[1],
        ReferralTaskState.Declined => BusinessStatusConcepts[2],
        ReferralTaskState.Scheduled => BusinessStatusConcepts[3],
        ReferralTaskState.NoShow => BusinessStatusConcepts[4],
        ReferralTaskState.SessionCompleted => BusinessStatusConcepts[5],
        ReferralTaskState.Cancelled => BusinessStatusConcepts[6],
        ReferralTaskState.Completed => BusinessStatusConcepts[7],
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>The R4 Task.status that goes with each business status.</summary>
    public static Task.TaskStatus StatusOf(ReferralTaskState state) => state switch
    {
        ReferralTaskState.Created => Task.TaskStatus.Requested,
        ReferralTaskState.OnHold => Task.TaskStatus.OnHold,
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
        foreach (var state in Enum.GetValues<ReferralTaskState>())
        {
            var concept = BusinessStatusOf(state);
            if (task.Status == StatusOf(state) && task.BusinessStatus?.Coding.Any(concept.Matches) == true)
            {
                return state;
            }
        }

        return null;
    }

    private static Concept Bser(string code, string display) => new(Canonicals.BserTaskBusinessStatus, code, display);
}

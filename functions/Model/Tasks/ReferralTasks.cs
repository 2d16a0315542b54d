using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;

namespace Referral.Model.Tasks;

/// <summary>The Task that tracks one therapist's fulfilment of a referral (DESIGN.md §4).</summary>
public static class ReferralTasks
{
    public static Concept Fulfill { get; } = new(Canonicals.TaskCode, "fulfill", "Fulfill the focal request");

    /// <summary>Task.output types: each session adds its Procedure and its Observations.</summary>
    public static ConceptMap<SessionOutput> OutputTypes { get; } = new(new Dictionary<SessionOutput, Concept>
    {
        [SessionOutput.Procedure] = new Concept(Canonicals.TaskOutputTypeSystem, "session-procedure", "Session procedure"),
        [SessionOutput.Observation] = new Concept(Canonicals.TaskOutputTypeSystem, "session-observation", "Session outcome observation"),
    });

    /// <summary>
    /// A new Task for a stored referral: assigned to its performer, in state Created. The referral must have an id
    /// and a performer.
    /// </summary>
    public static Task Create(ServiceRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Id))
        {
            throw new ArgumentException("The ServiceRequest must be stored (have an id) before its Task is created.", nameof(request));
        }

        if (request.Performer.Count == 0)
        {
            throw new ArgumentException("The ServiceRequest names no therapist to own its Task.", nameof(request));
        }

        var timestamp = FhirTime.DateTime(now);
        var task = new Task
        {
            Identifier = [.. request.Identifier.Select(i => (Identifier)i.DeepCopy())],
            Intent = Task.TaskIntent.Order,
            Code = Fulfill.ToCodeableConcept(),
            Focus = new ResourceReference("ServiceRequest/" + request.Id),
            For = (ResourceReference?)request.Subject?.DeepCopy(),
            Requester = (ResourceReference?)request.Requester?.DeepCopy(),
            Owner = (ResourceReference)request.Performer[0].DeepCopy(),
            AuthoredOn = timestamp,
            LastModified = timestamp,
        };
        ReferralTaskStateMachine.SetState(task, ReferralTaskState.Created);
        return task;
    }

    /// <summary>How many sessions the Task already records (its Procedure outputs).</summary>
    public static int SessionsRecorded(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var procedure = OutputTypes.For(SessionOutput.Procedure);
        return task.Output.Count(o => o.Type?.Coding.Any(procedure.Matches) == true);
    }
}

public enum SessionOutput
{
    Procedure,
    Observation,
}

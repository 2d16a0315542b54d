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
    /// Task.output types for the course as a whole: the therapist's discharge summary when the course is completed
    /// (outcome and recommendations, each a valueString), and each request to renew the prescription (a valueAnnotation:
    /// time, text the reason, author the therapist; the additional sessions asked for in <see cref="Canonicals.RenewalSessionsExtension"/>),
    /// and each time the therapist put the referral on hold or resumed it (a valueAnnotation: time, text the reason, author
    /// the therapist), since statusReason holds only the current hold's reason and the timeline shows them all.
    /// </summary>
    public static ConceptMap<CourseOutput> CourseOutputTypes { get; } = new(new Dictionary<CourseOutput, Concept>
    {
        [CourseOutput.DischargeOutcome] = new Concept(Canonicals.TaskOutputTypeSystem, "discharge-outcome", "Discharge outcome"),
        [CourseOutput.DischargeRecommendations] = new Concept(Canonicals.TaskOutputTypeSystem, "discharge-recommendations", "Discharge recommendations"),
        [CourseOutput.RenewalRequest] = new Concept(Canonicals.TaskOutputTypeSystem, "renewal-request", "Prescription renewal request"),
        [CourseOutput.Hold] = new Concept(Canonicals.TaskOutputTypeSystem, "on-hold", "Put on hold"),
        [CourseOutput.Resumed] = new Concept(Canonicals.TaskOutputTypeSystem, "resumed", "Resumed after a hold"),
    });

    /// <summary>The most additional sessions a renewal may ask for: as many as one prescription may hold.</summary>
    public const int MaxRenewalSessions = 52;

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

    /// <summary>
    /// On each session's Procedure output: when the session started (valueDateTime, as the Procedure's
    /// <c>performedPeriod.start</c>), so a request for a start already recorded is recognised from the Task alone.
    /// </summary>
    public const string SessionStartExtension = Canonicals.Base + "/StructureDefinition/session-start";

    /// <summary>
    /// The sessions the Task records, first first: each one's number, its Procedure's reference and its start; null when
    /// some Procedure output has no <see cref="SessionStartExtension"/> (recorded before the Task kept the starts).
    /// </summary>
    public static IReadOnlyList<RecordedSession>? SessionStarts(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var procedure = OutputTypes.For(SessionOutput.Procedure);
        var sessions = new List<RecordedSession>();
        foreach (var output in task.Output.Where(o => o.Type?.Coding.Any(procedure.Matches) == true))
        {
            if (output.GetExtensionValue<FhirDateTime>(SessionStartExtension)?.Value is not { } start
                || !FhirTime.TryDateTime(start, out var at) || output.Value is not ResourceReference { Reference: { } reference })
            {
                return null;
            }

            sessions.Add(new RecordedSession(sessions.Count + 1, reference, start, at));
        }

        return sessions;
    }

    /// <summary>
    /// True when closing the course needs a discharge outcome: the therapist treated the patient at least once, so the
    /// physician is owed a word on how it went. A course closed with no session recorded (no-show) needs none.
    /// </summary>
    public static bool RequiresDischargeOutcome(Task task) => SessionsRecorded(task) > 0;

    /// <summary>A copy of <paramref name="task"/> holding <paramref name="summary"/> as its discharge outputs, in place of any earlier ones.</summary>
    public static Task WithDischargeSummary(Task task, DischargeSummary summary)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(summary);
        if (string.IsNullOrWhiteSpace(summary.Outcome))
        {
            throw new ArgumentException("A discharge summary states its outcome.", nameof(summary));
        }

        var changed = (Task)task.DeepCopy();
        changed.Output.RemoveAll(o => IsOutput(o, CourseOutput.DischargeOutcome) || IsOutput(o, CourseOutput.DischargeRecommendations));
        changed.Output.Add(new Task.OutputComponent
        {
            Type = CourseOutputTypes.For(CourseOutput.DischargeOutcome).ToCodeableConcept(),
            Value = new FhirString(summary.Outcome.Trim()),
        });
        if (!string.IsNullOrWhiteSpace(summary.Recommendations))
        {
            changed.Output.Add(new Task.OutputComponent
            {
                Type = CourseOutputTypes.For(CourseOutput.DischargeRecommendations).ToCodeableConcept(),
                Value = new FhirString(summary.Recommendations.Trim()),
            });
        }

        return changed;
    }

    /// <summary>The discharge summary the Task holds, or null when the course was closed without one (or is still open).</summary>
    public static DischargeSummary? DischargeSummaryOf(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var outcome = task.Output.LastOrDefault(o => IsOutput(o, CourseOutput.DischargeOutcome))?.Value as FhirString;
        if (string.IsNullOrWhiteSpace(outcome?.Value))
        {
            return null;
        }

        var recommendations = task.Output.LastOrDefault(o => IsOutput(o, CourseOutput.DischargeRecommendations))?.Value as FhirString;
        return new DischargeSummary(outcome.Value, string.IsNullOrWhiteSpace(recommendations?.Value) ? null : recommendations.Value);
    }

    /// <summary>
    /// True while a renewal may be asked for: the therapist has accepted and the course has not ended (declined,
    /// cancelled and completed courses are over; a new referral is the way on from there).
    /// </summary>
    public static bool CanRequestRenewal(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return ReferralTaskStates.StateOf(task) is { } state && ReferralTaskStates.IsUnderTreatment(state);
    }

    /// <summary>
    /// A copy of <paramref name="task"/> with <paramref name="request"/> added to its output (earlier requests are kept)
    /// and lastModified set to its time. The Task must be under treatment (<see cref="CanRequestRenewal"/>).
    /// </summary>
    public static Task WithRenewalRequest(Task task, RenewalRequest request)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(request);
        if (!CanRequestRenewal(task))
        {
            throw new InvalidOperationException("A renewal can only be requested while the referral is accepted or under treatment.");
        }

        if (string.IsNullOrWhiteSpace(request.Reason))
        {
            throw new ArgumentException("A renewal request states its reason.", nameof(request));
        }

        if (request.AdditionalSessions is < 1 or > MaxRenewalSessions)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.AdditionalSessions, $"Additional sessions are 1 to {MaxRenewalSessions}.");
        }

        var changed = (Task)task.DeepCopy();
        var timestamp = FhirTime.DateTime(request.When);
        var output = new Task.OutputComponent
        {
            Type = CourseOutputTypes.For(CourseOutput.RenewalRequest).ToCodeableConcept(),
            Value = new Annotation
            {
                Time = timestamp,
                Text = request.Reason.Trim(),
                Author = (ResourceReference?)task.Owner?.DeepCopy(),
            },
        };
        if (request.AdditionalSessions is { } sessions)
        {
            output.Extension.Add(new Extension(Canonicals.RenewalSessionsExtension, new PositiveInt(sessions)));
        }

        changed.Output.Add(output);
        changed.LastModified = timestamp;
        return changed;
    }

    /// <summary>Every renewal request the Task holds, oldest first.</summary>
    public static IReadOnlyList<RenewalRequest> RenewalRequestsOf(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var requests = new List<RenewalRequest>();
        foreach (var output in task.Output.Where(o => IsOutput(o, CourseOutput.RenewalRequest)))
        {
            if (output.Value is Annotation { Text: { Length: > 0 } reason } note && FhirTime.TryDateTime(note.Time, out var when))
            {
                var sessions = (output.GetExtensionValue<PositiveInt>(Canonicals.RenewalSessionsExtension))?.Value;
                requests.Add(new RenewalRequest(when, reason, sessions));
            }
        }

        // Stable: two requests in the same second keep the order they were added in.
        return [.. requests.OrderBy(r => r.When)];
    }

    /// <summary>The latest renewal request the Task holds, or null when none was made.</summary>
    public static RenewalRequest? RenewalRequestOf(Task task) => RenewalRequestsOf(task) is [.., var latest] ? latest : null;

    /// <summary>
    /// Adds a hold or a resume to <paramref name="task"/>'s output (a valueAnnotation: time, the reason or "Resumed",
    /// author the Task's owner). The state machine calls it as it makes the move, so the record and the move are one change.
    /// </summary>
    internal static void AddHoldEvent(Task task, HoldEvent kind, DateTimeOffset when, string? reason)
    {
        task.Output.Add(new Task.OutputComponent
        {
            Type = CourseOutputTypes.For(kind == HoldEvent.Held ? CourseOutput.Hold : CourseOutput.Resumed).ToCodeableConcept(),
            Value = new Annotation
            {
                Time = FhirTime.DateTime(when),
                Text = kind == HoldEvent.Held ? (reason ?? "").Trim() : "Resumed",
                Author = (ResourceReference?)task.Owner?.DeepCopy(),
            },
        });
    }

    /// <summary>Every hold and resume the Task holds, oldest first (the reason is null for a resume).</summary>
    public static IReadOnlyList<HoldRecord> HoldsOf(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var records = new List<HoldRecord>();
        foreach (var output in task.Output)
        {
            var held = IsOutput(output, CourseOutput.Hold);
            if ((held || IsOutput(output, CourseOutput.Resumed)) && output.Value is Annotation note && FhirTime.TryDateTime(note.Time, out var when))
            {
                records.Add(new HoldRecord(when, held ? HoldEvent.Held : HoldEvent.Resumed, held ? note.Text : null));
            }
        }

        return [.. records.OrderBy(r => r.When)];
    }

    private static bool IsOutput(Task.OutputComponent output, CourseOutput type) =>
        output.Type?.Coding.Any(CourseOutputTypes.For(type).Matches) == true;
}

/// <summary>A session the Task records: its number, its Procedure (<c>Procedure/{id}</c>), and its start as written and as a time.</summary>
public sealed record RecordedSession(int Session, string Procedure, string StartText, DateTimeOffset Start);

public enum SessionOutput
{
    Procedure,
    Observation,
}

public enum CourseOutput
{
    DischargeOutcome,
    DischargeRecommendations,
    RenewalRequest,
    Hold,
    Resumed,
}

public enum HoldEvent
{
    Held,
    Resumed,
}

/// <summary>One hold (with its reason) or resume of a referral not yet accepted.</summary>
public sealed record HoldRecord(DateTimeOffset When, HoldEvent Kind, string? Reason);

/// <summary>What the therapist says when closing a course: how it went and what should happen next.</summary>
public sealed record DischargeSummary(string Outcome, string? Recommendations);

/// <summary>A therapist's request that the physician renew the prescription, and for how many more sessions if they said.</summary>
public sealed record RenewalRequest(DateTimeOffset When, string Reason, int? AdditionalSessions);

using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Referral.Model.Sessions;

public sealed record SessionResult
{
    /// <summary>Every problem with the session, or one "all OK" information issue.</summary>
    public required OperationOutcome Outcome { get; init; }

    /// <summary>The session as a Procedure; null when the session was refused.</summary>
    public Procedure? Procedure { get; init; }

    /// <summary>Pain before and after, each range of motion, the functional score: partOf the Procedure.</summary>
    public IReadOnlyList<Observation> Observations { get; init; } = [];

    /// <summary>The Task moved to SessionCompleted with the new results added to its output; the input is not modified.</summary>
    public Task? Task { get; init; }

    /// <summary>1 for the first session of the referral.</summary>
    public int SessionNumber { get; init; }

    /// <summary>Prescribed sessions left after this one: at 0 the functions app completes the referral.</summary>
    public int RemainingSessions { get; init; }

    public bool Succeeded => Procedure is not null;
}

/// <summary>
/// Turns a therapist's session record into a Procedure and its Observations (DESIGN.md §4), after checking it
/// against the referral: only on an accepted Task, only on prescribed body sites, within the prescribed count and
/// the validity period.
/// </summary>
public sealed class SessionRecorder(TimeProvider time, ReferralTimeRules? rules = null)
{
    public const int MaxMinutes = 180;

    private readonly ReferralTimeRules rules = rules ?? new ReferralTimeRules();

    public SessionResult Record(ServiceRequest request, Task task, SessionRecord session)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(session);
        if (string.IsNullOrEmpty(request.Id))
        {
            throw new ArgumentException("The ServiceRequest must be stored (have an id) before sessions are recorded.", nameof(request));
        }

        var now = time.GetUtcNow();
        var issues = new List<OperationOutcome.IssueComponent>();
        CheckTask(request, task, issues);
        var recorded = ReferralTasks.SessionsRecorded(task);
        var prescription = CheckContent(request, session, recorded, now, issues);
        if (issues.Count > 0)
        {
            return new SessionResult { Outcome = Outcomes.From(issues) };
        }

        var moved = ReferralTaskStateMachine.Apply(task, new TaskChange
        {
            To = ReferralTaskState.SessionCompleted,
            Actor = TaskActor.Therapist,
            ActorReference = task.Owner?.Reference,
        }, now);
        if (!moved.Succeeded)
        {
            return new SessionResult { Outcome = moved.Outcome };
        }

        var procedure = BuildProcedure(request, prescription!.Patient, task, session, now);
        var observations = BuildObservations(request, prescription.Patient, task, session, procedure, now);
        var updated = moved.Task!;
        var procedureOutput = Output(SessionOutput.Procedure, procedure);
        if ((procedure.Performed as Period)?.StartElement is { } start)
        {
            procedureOutput.Extension.Add(new Extension(ReferralTasks.SessionStartExtension, (FhirDateTime)start.DeepCopy()));
        }

        updated.Output.Add(procedureOutput);
        updated.Output.AddRange(observations.Select(o => Output(SessionOutput.Observation, o)));

        return new SessionResult
        {
            Outcome = Outcomes.From([]),
            Procedure = procedure,
            Observations = observations,
            Task = updated,
            SessionNumber = recorded + 1,
            RemainingSessions = prescription.Sessions - recorded - 1,
        };
    }

    /// <summary>
    /// The checks of the session itself against the referral, whatever state its Task is in now: the values' ranges,
    /// the prescribed body sites, the validity period. A session sent again is checked by these before it is
    /// recognised as a replay, so a replay with content no session may have is refused like any other.
    /// </summary>
    public OperationOutcome Check(ServiceRequest request, SessionRecord session)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(session);
        var issues = new List<OperationOutcome.IssueComponent>();
        CheckContent(request, session, recorded: null, time.GetUtcNow(), issues);
        return Outcomes.From(issues);
    }

    private Prescription? CheckContent(ServiceRequest request, SessionRecord session, int? recorded, DateTimeOffset now, List<OperationOutcome.IssueComponent> issues)
    {
        var prescription = ReadPrescription(request, issues);
        if (prescription is not null)
        {
            CheckAgainstPrescription(prescription, recorded, session, issues);
        }

        CheckSession(session, now, rules.ClockSkew, issues);
        return prescription;
    }

    /// <summary>What a session is checked against; the validity's dates are days in <see cref="Zone"/>, the practice's.</summary>
    private sealed record Prescription(
        ResourceReference Patient, int Sessions, DateOnly ValidFrom, DateOnly ValidUntil, TimeZoneInfo Zone, DateTimeOffset? Written, IReadOnlyList<BodyArea> Sites);

    private static void CheckTask(ServiceRequest request, Task task, List<OperationOutcome.IssueComponent> issues)
    {
        var state = ReferralTaskStates.StateOf(task);
        if (state is not { } known || !ReferralTaskStates.IsUnderTreatment(known))
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionTaskNotAccepted, IssueType.BusinessRule, "Task.status",
                $"Sessions are recorded only once the therapist has accepted the referral and before it ends; it is {state?.ToString() ?? "in no known state"}."));
        }

        var focus = task.Focus?.Reference;
        if (focus is null || !(focus == "ServiceRequest/" + request.Id || focus.EndsWith("/ServiceRequest/" + request.Id, StringComparison.Ordinal)))
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionTaskFocus, IssueType.Value, "Task.focus",
                $"This Task is for {focus ?? "no referral"}, not for ServiceRequest/{request.Id}."));
        }
    }

    private static Prescription? ReadPrescription(ServiceRequest request, List<OperationOutcome.IssueComponent> issues)
    {
        var repeat = (request.Occurrence as Timing)?.Repeat;
        var bounds = repeat?.Bounds as Period;
        if (repeat?.Count is not { } count || !FhirTime.TryDate(bounds?.Start, out var from) || !FhirTime.TryDate(bounds?.End, out var until))
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionPrescriptionUnreadable, IssueType.Invalid, "ServiceRequest.occurrence",
                "The referral does not state its number of sessions and validity period."));
            return null;
        }

        if (request.Subject is not { } patient)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionPrescriptionUnreadable, IssueType.Invalid, "ServiceRequest.subject",
                "The referral names no patient."));
            return null;
        }

        var sites = new List<BodyArea>();
        foreach (var concept in request.BodySite)
        {
            if (BodyRegions.TryRead(concept, out var site))
            {
                sites.Add(site);
            }
        }

        var written = FhirTime.TryDateTime(request.AuthoredOn, out var authored) ? authored : (DateTimeOffset?)null;
        return new Prescription(patient, count, from, until, PracticeTime.ZoneOf(bounds), written, sites);
    }

    /// <summary>With <paramref name="recorded"/> null (a check of the content alone), the count is not checked.</summary>
    private static void CheckAgainstPrescription(Prescription prescription, int? recorded, SessionRecord session, List<OperationOutcome.IssueComponent> issues)
    {
        if (recorded >= prescription.Sessions)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionCountExceeded, IssueType.BusinessRule, "ServiceRequest.occurrence.repeat.count",
                $"All {prescription.Sessions} prescribed sessions are already recorded."));
        }

        // The session's calendar day where the prescription's dates are days: in the prescribing practice's zone,
        // whatever offset the therapist's system sent the time in.
        var zone = prescription.Zone;
        var day = PracticeTime.DateIn(session.Start, zone);
        if (prescription.Written is { } written && session.Start < written.AddTicks(-(written.Ticks % TimeSpan.TicksPerMinute)))
        {
            // Typed session times have whole minutes: a session in the minute the referral was written is not before it.
            issues.Add(Outcomes.Error(ValidationRules.SessionBeforeReferral, IssueType.BusinessRule, "SessionRecord.start",
                $"The session starts at {FhirTime.DateTime(session.Start)}, before the referral was written ({FhirTime.DateTime(written)})."));
        }
        else if (day < prescription.ValidFrom)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionBeforeValidity, IssueType.BusinessRule, "SessionRecord.start",
                $"The session on {FhirTime.Date(day)} ({zone.Id}) is before the prescription becomes valid ({FhirTime.Date(prescription.ValidFrom)})."));
        }
        else if (day > prescription.ValidUntil)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionAfterValidity, IssueType.BusinessRule, "SessionRecord.start",
                $"The session on {FhirTime.Date(day)} ({zone.Id}) is after the prescription expired ({FhirTime.Date(prescription.ValidUntil)})."));
        }

        for (var i = 0; i < session.BodyAreasTreated.Count; i++)
        {
            var treated = session.BodyAreasTreated[i];
            if (!prescription.Sites.Any(p => BodyRegions.Covers(p, treated)))
            {
                issues.Add(Outcomes.Error(ValidationRules.SessionBodySiteNotPrescribed, IssueType.BusinessRule, $"SessionRecord.bodyAreasTreated[{i}]",
                    $"{treated.Display} is not among the prescribed body sites ({string.Join(", ", prescription.Sites.Select(s => s.Display))})."));
            }
        }
    }

    private static void CheckSession(SessionRecord session, DateTimeOffset now, TimeSpan clockSkew, List<OperationOutcome.IssueComponent> issues)
    {
        if (session.Minutes is < 1 or > MaxMinutes)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionMinutesRange, IssueType.Value, "SessionRecord.minutes",
                $"A session of {session.Minutes} minutes: it lasts 1 to {MaxMinutes}."));
        }
        else if (session.Start.AddMinutes(session.Minutes) is var end && end > now + clockSkew)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionInFuture, IssueType.BusinessRule, "SessionRecord.start",
                $"A session is recorded once it has ended: this one ends at {FhirTime.DateTime(end)}, and this server's clock reads {FhirTime.DateTime(now)}."));
        }

        if (session.BodyAreasTreated.Count == 0)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionBodySiteMissing, IssueType.Required, "SessionRecord.bodyAreasTreated",
                "Name the body sites treated."));
        }

        if (session.Techniques.Count == 0)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionTechniqueMissing, IssueType.Required, "SessionRecord.techniques",
                "Name at least one technique used."));
        }

        CheckPain(session.PainBefore, "SessionRecord.painBefore", issues);
        CheckPain(session.PainAfter, "SessionRecord.painAfter", issues);

        for (var i = 0; i < session.RangeOfMotion.Count; i++)
        {
            var measurement = session.RangeOfMotion[i];
            if (measurement.Degrees is < 0 or > OutcomeMeasures.RangeOfMotionMaximumDegrees)
            {
                issues.Add(Outcomes.Error(ValidationRules.SessionRangeOfMotion, IssueType.Value, $"SessionRecord.rangeOfMotion[{i}].degrees",
                    $"{measurement.Degrees} degrees: a range of motion is 0 to {OutcomeMeasures.RangeOfMotionMaximumDegrees}."));
            }

            if (BodyRegions.IsPaired(measurement.Joint.Region) != (measurement.Joint.Laterality is not null))
            {
                issues.Add(Outcomes.Error(ValidationRules.SessionRangeOfMotion, IssueType.Value, $"SessionRecord.rangeOfMotion[{i}].joint",
                    BodyRegions.IsPaired(measurement.Joint.Region)
                        ? "Say which side the joint is on."
                        : "A midline joint has no side."));
            }
        }

        if (session.FunctionalScore is { } score)
        {
            var scale = OutcomeMeasures.Scale(score.Instrument);
            if (score.Score < scale.Minimum || score.Score > scale.Maximum)
            {
                issues.Add(Outcomes.Error(ValidationRules.SessionFunctionalScoreRange, IssueType.Value, "SessionRecord.functionalScore.score",
                    $"{score.Score} is outside the {OutcomeMeasures.Instruments.For(score.Instrument).Display} scale ({scale.Minimum}-{scale.Maximum})."));
            }
        }
    }

    private static void CheckPain(int pain, string path, List<OperationOutcome.IssueComponent> issues)
    {
        if (pain is < OutcomeMeasures.PainMinimum or > OutcomeMeasures.PainMaximum)
        {
            issues.Add(Outcomes.Error(ValidationRules.SessionPainRange, IssueType.Value, path, $"Pain {pain}: the scale is 0 to 10."));
        }
    }

    private static Procedure BuildProcedure(ServiceRequest request, ResourceReference patient, Task task, SessionRecord session, DateTimeOffset now)
    {
        var procedure = new Procedure
        {
            Id = NewId(now),
            Status = EventStatus.Completed,
            BasedOn = [new ResourceReference("ServiceRequest/" + request.Id)],
            Subject = (ResourceReference)patient.DeepCopy(),
            Code = (CodeableConcept?)request.Code?.DeepCopy(),
            Performed = new Period
            {
                Start = FhirTime.DateTime(session.Start),
                End = FhirTime.DateTime(session.Start.AddMinutes(session.Minutes)),
            },
            BodySite = [.. session.BodyAreasTreated.Select(BodyRegions.ToCodeableConcept)],
            ReasonCode = [.. request.ReasonCode.Select(c => (CodeableConcept)c.DeepCopy())],
        };
        if (task.Owner is not null)
        {
            procedure.Performer.Add(new Procedure.PerformerComponent { Actor = (ResourceReference)task.Owner.DeepCopy() });
        }

        foreach (var technique in session.Techniques.Distinct())
        {
            procedure.Extension.Add(new Extension(Canonicals.ProcedureMethodExtension, MassageTechniques.Codes.For(technique).ToCodeableConcept()));
        }

        if (!string.IsNullOrWhiteSpace(session.Note))
        {
            procedure.Note.Add(new Annotation { Text = session.Note });
        }

        return procedure;
    }

    private static List<Observation> BuildObservations(
        ServiceRequest request, ResourceReference patient, Task task, SessionRecord session, Procedure procedure, DateTimeOffset now)
    {
        var start = session.Start;
        var end = session.Start.AddMinutes(session.Minutes);
        var observations = new List<Observation>
        {
            Observe(OutcomeMeasures.SurveyCategory, OutcomeMeasures.Pain, start, Score(session.PainBefore, "{score}")),
            Observe(OutcomeMeasures.SurveyCategory, OutcomeMeasures.Pain, end, Score(session.PainAfter, "{score}")),
        };

        foreach (var measurement in session.RangeOfMotion)
        {
            var observation = Observe(OutcomeMeasures.TherapyCategory, OutcomeMeasures.RangeOfMotion.For(measurement.Movement), end,
                new Quantity { Value = measurement.Degrees, Unit = "degrees", System = Canonicals.Ucum, Code = "deg" });
            observation.BodySite = BodyRegions.ToCodeableConcept(measurement.Joint);
            observations.Add(observation);
        }

        if (session.FunctionalScore is { } score)
        {
            observations.Add(Observe(OutcomeMeasures.SurveyCategory, OutcomeMeasures.Instruments.For(score.Instrument), start,
                Score(score.Score, OutcomeMeasures.Scale(score.Instrument).UcumUnit)));
        }

        return observations;

        Observation Observe(Concept category, Concept code, DateTimeOffset effective, Quantity value)
        {
            var observation = new Observation
            {
                Id = NewId(now),
                Status = ObservationStatus.Final,
                BasedOn = [new ResourceReference("ServiceRequest/" + request.Id)],
                PartOf = [new ResourceReference("Procedure/" + procedure.Id)],
                Category = [category.ToCodeableConcept()],
                Code = code.ToCodeableConcept(),
                Subject = (ResourceReference)patient.DeepCopy(),
                Effective = new FhirDateTime(FhirTime.DateTime(effective)),
                Issued = now,
                Value = value,
            };
            if (task.Owner is not null)
            {
                observation.Performer.Add((ResourceReference)task.Owner.DeepCopy());
            }

            return observation;
        }
    }

    private static Quantity Score(decimal value, string ucum) =>
        new() { Value = value, Unit = ucum.Trim('{', '}'), System = Canonicals.Ucum, Code = ucum };

    private static Task.OutputComponent Output(SessionOutput type, Resource resource) => new()
    {
        Type = ReferralTasks.OutputTypes.For(type).ToCodeableConcept(),
        Value = new ResourceReference($"{resource.TypeName}/{resource.Id}"),
    };

    /// <summary>Time-ordered ids, so a referral's results sort in the order they were recorded.</summary>
    private static string NewId(DateTimeOffset now) => Guid.CreateVersion7(now).ToString();
}

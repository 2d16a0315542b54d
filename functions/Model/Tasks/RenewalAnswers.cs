using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Referral.Model.Tasks;

public enum RenewalDecision
{
    Approved,
    Declined,
}

/// <summary>
/// The physician's answer to a renewal request: approved with the sessions added and the new end of the validity, or
/// declined with a reason (<see cref="Text"/>).
/// </summary>
public sealed record RenewalAnswer(DateTimeOffset When, RenewalDecision Decision, string Text, int? Sessions, DateOnly? ValidUntil);

/// <summary>The result of answering: the changed Task and, on approval, the revised ServiceRequest; or what was wrong.</summary>
public sealed record RenewalAnswerResult
{
    public required OperationOutcome Outcome { get; init; }

    public Task? Task { get; init; }

    /// <summary>The revised prescription (approval only): the same ServiceRequest, its next version.</summary>
    public ServiceRequest? Request { get; init; }

    public bool Succeeded => Task is not null;
}

/// <summary>
/// The physician's answer to the therapist's renewal request, in one step.
/// <para>
/// How an approval revises the prescription: as a new version of the same ServiceRequest (same id; more sessions in
/// <c>occurrenceTiming.repeat.count</c>, the validity's end moved), not as a new ServiceRequest that <c>replaces</c> the
/// old one. The order is the same order, for the same patient, condition and therapist, only longer; everything
/// already points at it (the Task's focus, each Procedure's and Observation's basedOn, the copy in the EHR, the
/// therapist's inbox row), and the referral, its Task and its results are written in one partition in one transaction,
/// which a second ServiceRequest would split. <c>replaces</c> fits a different order (another therapist, other sites),
/// which is a new referral. The version history is kept where a reader needs it: the Task's output holds the answer
/// (who, when, how many sessions, until when), so "6 of 6, then 4 more approved" reads from the Task.
/// </para>
/// </summary>
public static class RenewalAnswers
{
    /// <summary>On a renewal-answer Task.output: approved or declined (valueCode).</summary>
    public const string DecisionExtension = Canonicals.Base + "/StructureDefinition/renewal-decision";

    /// <summary>On an approval's Task.output: the validity's new last day (valueDate).</summary>
    public const string ValidUntilExtension = Canonicals.Base + "/StructureDefinition/renewal-valid-until";

    public static Concept AnswerType { get; } = new(Canonicals.TaskOutputTypeSystem, "renewal-answer", "Prescription renewal answer");

    /// <summary>
    /// The renewal request waiting for an answer: the latest one, when no answer came after it and the course is still
    /// under treatment (a completed, cancelled or declined course asks nothing of the physician).
    /// </summary>
    public static RenewalRequest? Pending(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!ReferralTasks.CanRequestRenewal(task))
        {
            return null;
        }

        var lastRequest = task.Output.FindLastIndex(o => IsType(o, ReferralTasks.CourseOutputTypes.For(CourseOutput.RenewalRequest)));
        var lastAnswer = task.Output.FindLastIndex(o => IsType(o, AnswerType));
        return lastRequest > lastAnswer ? ReferralTasks.RenewalRequestOf(task) : null;
    }

    /// <summary>Every answer the Task holds, oldest first.</summary>
    public static IReadOnlyList<RenewalAnswer> AnswersOf(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var answers = new List<RenewalAnswer>();
        foreach (var output in task.Output.Where(o => IsType(o, AnswerType)))
        {
            if (output.Value is not Annotation { Text: { Length: > 0 } text } note || !FhirTime.TryDateTime(note.Time, out var when))
            {
                continue;
            }

            var decision = output.GetExtensionValue<Code>(DecisionExtension)?.Value == "approved" ? RenewalDecision.Approved : RenewalDecision.Declined;
            var sessions = output.GetExtensionValue<PositiveInt>(Canonicals.RenewalSessionsExtension)?.Value;
            var until = FhirTime.TryDate(output.GetExtensionValue<Date>(ValidUntilExtension)?.Value, out var day) ? day : (DateOnly?)null;
            answers.Add(new RenewalAnswer(when, decision, text, sessions, until));
        }

        return answers;
    }

    /// <summary>The latest answer, or null when none was given.</summary>
    public static RenewalAnswer? LatestOf(Task task) => AnswersOf(task) is [.., var latest] ? latest : null;

    /// <summary>
    /// What an approval prefills: the sessions the therapist asked for (else as many as were prescribed), and a
    /// validity long enough for them at the prescribed frequency from the later of today and the current end.
    /// </summary>
    public static (int Sessions, DateOnly ValidUntil) Suggestion(ServiceRequest request, RenewalRequest renewal, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(renewal);
        var repeat = (request.Occurrence as Timing)?.Repeat;
        var prescribed = repeat?.Count ?? 1;
        var sessions = Math.Clamp(renewal.AdditionalSessions ?? prescribed, 1, Math.Max(1, MedicalMassageServiceRequest.MaxSessions - prescribed));
        var from = FhirTime.TryDate((repeat?.Bounds as Period)?.End, out var end) && end > today ? end : today;
        var periodDays = (repeat?.Period ?? 1) * (FrequencyUnits.FromUnitsOfTime(repeat?.PeriodUnit) is { } unit ? FrequencyUnits.Days(unit) : 7);
        var days = (int)Math.Ceiling(sessions / (decimal)Math.Max(1, repeat?.Frequency ?? 1) * periodDays);
        var start = FhirTime.TryDate((repeat?.Bounds as Period)?.Start, out var first) ? first : today;
        var until = from.AddDays(days);
        var latest = start.AddDays(MedicalMassageServiceRequest.MaxValidityDays - 1);
        return (sessions, until > latest ? latest : until);
    }

    /// <summary>
    /// Approves the pending request: <paramref name="sessions"/> more sessions, valid until <paramref name="validUntil"/>
    /// (a day in the practice's zone). The Task keeps its state (the course goes on); the answer is added to its output.
    /// </summary>
    public static RenewalAnswerResult Approve(ServiceRequest request, Task task, int sessions, DateOnly validUntil, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(task);
        if (NotPending(task) is { } notPending)
        {
            return notPending;
        }

        var repeat = (request.Occurrence as Timing)?.Repeat;
        var bounds = repeat?.Bounds as Period;
        if (repeat?.Count is not { } prescribed || !FhirTime.TryDate(bounds?.Start, out var start) || bounds is null)
        {
            return Refused(Outcomes.Error(ValidationRules.SessionPrescriptionUnreadable, IssueType.Invalid, "ServiceRequest.occurrence",
                "The referral does not state its number of sessions and validity period."));
        }

        var zone = PracticeTime.ZoneOf(bounds);
        var today = PracticeTime.DateIn(now, zone);
        var issues = new List<OperationOutcome.IssueComponent>();
        var room = MedicalMassageServiceRequest.MaxSessions - prescribed;
        if (sessions < 1 || sessions > room)
        {
            issues.Add(Outcomes.Error(ValidationRules.RenewalSessionsRange, IssueType.Value, "Parameters.parameter.where(name='sessions').value",
                room < 1
                    ? $"The prescription already holds {prescribed} sessions, the most one may hold ({MedicalMassageServiceRequest.MaxSessions}): write a new referral."
                    : $"{sessions} more sessions: approve 1 to {room} ({prescribed} prescribed, at most {MedicalMassageServiceRequest.MaxSessions} in all)."));
        }

        var longest = start.AddDays(MedicalMassageServiceRequest.MaxValidityDays - 1);
        if (validUntil < today)
        {
            issues.Add(Outcomes.Error(ValidationRules.RenewalValidity, IssueType.Value, "Parameters.parameter.where(name='validUntil').value",
                $"The prescription would end on {FhirTime.Date(validUntil)}, before today ({FhirTime.Date(today)}, {zone.Id})."));
        }
        else if (validUntil > longest)
        {
            issues.Add(Outcomes.Error(ValidationRules.RenewalValidity, IssueType.Value, "Parameters.parameter.where(name='validUntil').value",
                $"A prescription is valid at most {MedicalMassageServiceRequest.MaxValidityDays} days: from {FhirTime.Date(start)} it may last until {FhirTime.Date(longest)}."));
        }
        else if (Capacity(repeat, start, validUntil) is { } capacity && prescribed + sessions > capacity)
        {
            issues.Add(Outcomes.Error(ValidationRules.RenewalValidity, IssueType.BusinessRule, "Parameters.parameter.where(name='validUntil').value",
                $"{prescribed + sessions} sessions at the prescribed frequency do not fit before {FhirTime.Date(validUntil)} (at most {capacity}): give a later end."));
        }

        if (issues.Count > 0)
        {
            return new RenewalAnswerResult { Outcome = Outcomes.From(issues) };
        }

        var revised = (ServiceRequest)request.DeepCopy();
        if (revised.Occurrence is Timing { Repeat: { Bounds: Period revisedBounds } revisedRepeat })
        {
            revisedRepeat.Count = prescribed + sessions;
            // The new last day in the zone the validity is written in, as the builder writes both ends.
            revisedBounds.EndElement = PracticeTime.ZoneIdOf(revisedBounds.StartElement) is { } zoneId
                ? PracticeTime.Date(validUntil, zoneId)
                : new FhirDateTime(FhirTime.Date(validUntil));
        }

        var text = $"Approved: {sessions} more sessions ({prescribed + sessions} in all), valid until {FhirTime.Date(validUntil)}.";
        var output = Answer(task, request, RenewalDecision.Approved, text, now);
        output.Extension.Add(new Extension(Canonicals.RenewalSessionsExtension, new PositiveInt(sessions)));
        output.Extension.Add(new Extension(ValidUntilExtension, new Date(FhirTime.Date(validUntil))));
        return Answered(task, output, now, revised);
    }

    /// <summary>Declines the pending request with the physician's reason; the course goes on with what was prescribed.</summary>
    public static RenewalAnswerResult Decline(ServiceRequest request, Task task, string? reason, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(task);
        if (NotPending(task) is { } notPending)
        {
            return notPending;
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            return new RenewalAnswerResult
            {
                Outcome = Outcomes.From([Outcomes.Error(ValidationRules.TaskReasonRequired, IssueType.Required, "Parameters.parameter.where(name='reason')",
                    "Say why the renewal is declined: the therapist reads it.")]),
            };
        }

        return Answered(task, Answer(task, request, RenewalDecision.Declined, reason.Trim(), now), now, null);
    }

    private static RenewalAnswerResult? NotPending(Task task) => Pending(task) is null
        ? Refused(Outcomes.Error(ValidationRules.RenewalNotPending, IssueType.BusinessRule, "Task.output",
            ReferralTasks.CanRequestRenewal(task)
                ? "There is no renewal request waiting for an answer: it was answered already, or none was made."
                : $"The course is {ReferralTaskStates.StateOf(task)?.ToString() ?? "in no known state"}: there is no renewal to answer."))
        : null;

    private static Task.OutputComponent Answer(Task task, ServiceRequest request, RenewalDecision decision, string text, DateTimeOffset now)
    {
        var output = new Task.OutputComponent
        {
            Type = AnswerType.ToCodeableConcept(),
            Value = new Annotation
            {
                Time = FhirTime.DateTime(now),
                Text = text,
                Author = (ResourceReference?)(request.Requester ?? task.Requester)?.DeepCopy(),
            },
        };
        output.Extension.Add(new Extension(DecisionExtension, new Code(decision == RenewalDecision.Approved ? "approved" : "declined")));
        return output;
    }

    private static RenewalAnswerResult Answered(Task task, Task.OutputComponent output, DateTimeOffset now, ServiceRequest? revised)
    {
        var changed = (Task)task.DeepCopy();
        changed.Output.Add(output);
        changed.LastModified = FhirTime.DateTime(now);
        return new RenewalAnswerResult { Outcome = Outcomes.From([]), Task = changed, Request = revised };
    }

    /// <summary>How many sessions fit from <paramref name="start"/> to <paramref name="end"/> at the prescribed frequency, as the validator counts.</summary>
    private static int? Capacity(Timing.RepeatComponent repeat, DateOnly start, DateOnly end)
    {
        if (repeat.Frequency is not { } times || repeat.Period is not { } period || FrequencyUnits.FromUnitsOfTime(repeat.PeriodUnit) is not { } unit)
        {
            return null;
        }

        var periodDays = period * FrequencyUnits.Days(unit);
        var days = end.DayNumber - start.DayNumber + 1;
        return times * (int)Math.Ceiling(days / periodDays);
    }

    private static RenewalAnswerResult Refused(OperationOutcome.IssueComponent issue) => new() { Outcome = Outcomes.From([issue]) };

    private static bool IsType(Task.OutputComponent output, Concept type) => output.Type?.Coding.Any(type.Matches) == true;
}

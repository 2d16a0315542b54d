using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using Referral.Model.Terminology;

namespace Referral.Model.Referrals;

/// <summary>A diagnosis as the physician sent it: its name, its codings (ICD-10-CM first, SNOMED CT where known) and the condition they name, if the catalog knows it.</summary>
public sealed record DiagnosisSummary(string Name, IReadOnlyList<Coding> Codes, MassageCondition? Condition)
{
    /// <summary>The diagnosis in the physician's own words (the reason's text), where there are any.</summary>
    public string? Text { get; init; }

    /// <summary>The ICD-10-CM code, where the diagnosis has one (insurers pay by it).</summary>
    public string? Icd10Cm => Codes.FirstOrDefault(c => c.System == Canonicals.Icd10Cm)?.Code;

    /// <summary>The coding shown with the code: the ICD-10-CM one, else the first (its own display, not the condition's name).</summary>
    public Coding? Shown => Codes.FirstOrDefault(c => c.System == Canonicals.Icd10Cm) ?? (Codes.Count > 0 ? Codes[0] : null);
}

/// <summary>A precaution as the physician sent it: its words, and which known precaution it codes, if any.</summary>
public sealed record PrecautionSummary(string Text, Precaution? Known);

/// <summary>How often the sessions are prescribed: <see cref="Times"/> per <see cref="Period"/> <see cref="Unit"/>s.</summary>
public sealed record PrescribedFrequency(int Times, decimal Period, FrequencyUnit Unit)
{
    /// <summary>"2 per week", "1 per 2 weeks".</summary>
    public string Text => Period == 1
        ? string.Create(CultureInfo.InvariantCulture, $"{Times} per {FrequencyUnits.Codes.For(Unit).Display}")
        : string.Create(CultureInfo.InvariantCulture, $"{Times} per {Period} {FrequencyUnits.Codes.For(Unit).Display}s");
}

/// <summary>
/// One referral read once: the prescription of its ServiceRequest (sessions prescribed and used, frequency, minutes,
/// validity in the practice's zone, sites with laterality, diagnoses, precautions and the training they call for) and
/// where its Task stands, with the moves each side may make from there (the Task state machine's table). Every page and
/// endpoint that shows or checks a referral reads it through this, rather than decoding the FHIR by hand.
/// </summary>
public sealed record ReferralSummary
{
    public required ServiceRequest Request { get; init; }

    /// <summary>The referral's Task; null when it was not read, or the caller may not see it.</summary>
    public required Task? Task { get; init; }

    /// <summary>The ServiceRequest's id, else the Task's; empty when neither has one.</summary>
    public required string Id { get; init; }

    /// <summary>Where the Task stands; null without a Task, or when its status and business status form no known state.</summary>
    public required ReferralTaskState? State { get; init; }

    /// <summary>Why the Task was put on hold, declined or cancelled (Task.statusReason), if it says.</summary>
    public required string? StatusReason { get; init; }

    public required int SessionsPrescribed { get; init; }

    /// <summary>The sessions the Task records (its Procedure outputs); 0 without a Task.</summary>
    public required int SessionsUsed { get; init; }

    public required PrescribedFrequency? Frequency { get; init; }

    public required int? MinutesPerSession { get; init; }

    public required DateOnly? ValidFrom { get; init; }

    public required DateOnly? ValidUntil { get; init; }

    /// <summary>The prescribing practice's zone: the validity's dates are days there (UTC for a referral stored before zones were carried).</summary>
    public required TimeZoneInfo Zone { get; init; }

    /// <summary>The sites the catalog reads (region and laterality); a site it cannot read is left out.</summary>
    public required IReadOnlyList<BodyArea> BodySites { get; init; }

    public required IReadOnlyList<DiagnosisSummary> Diagnoses { get; init; }

    public required IReadOnlyList<PrecautionSummary> Precautions { get; init; }

    /// <summary>The training the known conditions and precautions call for (the model's rule).</summary>
    public required IReadOnlyList<TrainingRequirement> Training { get; init; }

    /// <summary>When the physician sent it (the Task's authoredOn, else the ServiceRequest's).</summary>
    public required DateTimeOffset? Sent { get; init; }

    /// <summary>When the physician wrote the prescription (the ServiceRequest's authoredOn).</summary>
    public required DateTimeOffset? Written { get; init; }

    public int SessionsRemaining => Math.Max(0, SessionsPrescribed - SessionsUsed);

    /// <summary>Accepted and not yet over: sessions may be recorded.</summary>
    public bool IsUnderTreatment => State is { } state && ReferralTaskStates.IsUnderTreatment(state);

    /// <summary>Declined, cancelled or completed.</summary>
    public bool IsClosed => State is { } state && ReferralTaskStates.IsTerminal(state);

    /// <summary>The validity's last day is before the day <paramref name="now"/> falls on in the practice's zone.</summary>
    public bool IsExpiredAt(DateTimeOffset now) => ValidUntil is { } until && until < PracticeTime.DateIn(now, Zone);

    /// <summary>The day <paramref name="now"/> falls on in the practice's zone.</summary>
    public DateOnly TodayAt(DateTimeOffset now) => PracticeTime.DateIn(now, Zone);

    /// <summary>The moves <paramref name="actor"/> may make from where the Task stands (none without a known state): the buttons to show.</summary>
    public IReadOnlyList<TaskTransition> AvailableTo(TaskActor actor) =>
        State is { } state ? ReferralTaskStateMachine.AvailableTo(state, actor) : [];

    /// <summary>Whether <paramref name="actor"/> may move the Task to <paramref name="to"/> from where it stands.</summary>
    public bool Allows(TaskActor actor, ReferralTaskState to) => AvailableTo(actor).Any(t => t.To == to);

    public static ReferralSummary Of(ServiceRequest request, Task? task)
    {
        ArgumentNullException.ThrowIfNull(request);
        var repeat = (request.Occurrence as Timing)?.Repeat;
        var bounds = repeat?.Bounds as Period;
        var sites = new List<BodyArea>();
        foreach (var concept in request.BodySite)
        {
            if (BodyRegions.TryRead(concept, out var site))
            {
                sites.Add(site);
            }
        }

        var diagnoses = request.ReasonCode
            .Select(r => new DiagnosisSummary(
                r.Text ?? r.Coding.FirstOrDefault()?.Display ?? "",
                [.. r.Coding],
                r.Coding.Select(MassageConditions.Find).OfType<MassageCondition>().FirstOrDefault())
            {
                Text = r.Text,
            })
            .ToList();
        var precautions = request.OrderDetail
            .Select(d => new PrecautionSummary(
                d.Text ?? d.Coding.FirstOrDefault()?.Display ?? "",
                Terminology.Precautions.Codes.TryFind(d, out var known) ? known : null))
            .ToList();
        var conditions = request.ReasonCode.SelectMany(r => r.Coding).Select(MassageConditions.Find).OfType<MassageCondition>().Distinct();

        return new ReferralSummary
        {
            Request = request,
            Task = task,
            Id = request.Id ?? task?.Id ?? "",
            State = task is null ? null : ReferralTaskStates.StateOf(task),
            StatusReason = task?.StatusReason?.Text,
            SessionsPrescribed = repeat?.Count ?? 0,
            SessionsUsed = task is null ? 0 : ReferralTasks.SessionsRecorded(task),
            Frequency = repeat?.Frequency is { } times && FrequencyUnits.FromUnitsOfTime(repeat.PeriodUnit) is { } unit
                ? new PrescribedFrequency(times, repeat.Period ?? 1, unit)
                : null,
            MinutesPerSession = repeat?.Duration is { } minutes ? (int)minutes : null,
            ValidFrom = FhirTime.TryDate(bounds?.Start, out var from) ? from : null,
            ValidUntil = FhirTime.TryDate(bounds?.End, out var until) ? until : null,
            Zone = PracticeTime.ZoneOf(bounds),
            BodySites = sites,
            Diagnoses = diagnoses,
            Precautions = precautions,
            Training = TrainingRules.Requirements(conditions, precautions.Select(p => p.Known).OfType<Precaution>()),
            Sent = FhirTime.TryDateTime(task?.AuthoredOn ?? request.AuthoredOn, out var sent) ? sent : null,
            Written = FhirTime.TryDateTime(request.AuthoredOn, out var written) ? written : null,
        };
    }
}

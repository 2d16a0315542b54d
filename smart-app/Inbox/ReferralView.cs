using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using Referral.SmartApp.Referrals;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.SmartApp.Inbox;

/// <summary>A diagnosis as the physician sent it: its name and its codes (ICD-10-CM first, SNOMED CT where known).</summary>
public sealed record DiagnosisView(string Name, IReadOnlyList<string> Codes);

/// <summary>
/// A referral as the therapist reads it, from its ServiceRequest and its Task: everything the physician sent, where the
/// Task stands, the sessions used, and the training the conditions and precautions call for (the model's rule).
/// </summary>
public sealed record ReferralView
{
    /// <summary>The referral as the shared read model decodes it; the properties below are its words for the inbox.</summary>
    public required ReferralSummary Summary { get; init; }

    public required string Id { get; init; }

    public required ServiceRequest Request { get; init; }

    public required FhirTask Task { get; init; }

    public ReferralTaskState? State => Summary.State;

    public required string Patient { get; init; }

    public required string Physician { get; init; }

    public required IReadOnlyList<DiagnosisView> Diagnoses { get; init; }

    public IReadOnlyList<BodyArea> BodySites => Summary.BodySites;

    public int SessionsAuthorized => Summary.SessionsPrescribed;

    public int SessionsUsed => Summary.SessionsUsed;

    public required string? Frequency { get; init; }

    public int? Minutes => Summary.MinutesPerSession;

    public DateOnly? ValidFrom => Summary.ValidFrom;

    public DateOnly? ValidUntil => Summary.ValidUntil;

    public required IReadOnlyList<string> Precautions { get; init; }

    public IReadOnlyList<TrainingRequirement> Training => Summary.Training;

    public DateTimeOffset? Received => Summary.Sent;

    /// <summary>The prescribing practice's time zone: the validity's dates, and <see cref="Today"/>, are days there.</summary>
    public required string ZoneId { get; init; }

    public required DateOnly Today { get; init; }

    /// <summary>How many days before the end of the validity a renewal is suggested.</summary>
    public static readonly int RenewalWarningDays = 14;

    public int SessionsRemaining => Math.Max(0, SessionsAuthorized - SessionsUsed);

    /// <summary>Not answered yet: new, or on hold while the therapist waits for an answer (either way it can be accepted or declined).</summary>
    public bool IsNew => State is ReferralTaskState.Created or ReferralTaskState.OnHold;

    public bool IsOnHold => State == ReferralTaskState.OnHold;

    public bool IsActive => State is { } state && ReferralTaskStates.IsUnderTreatment(state);

    public bool IsClosed => State is { } state && ReferralTaskStates.IsTerminal(state);

    public bool IsExpired => ValidUntil is { } until && until < Today;

    /// <summary>The therapist may accept it (the Task state machine's moves for the therapist decide every button below).</summary>
    public bool CanAccept => Summary.Allows(TaskActor.Therapist, ReferralTaskState.Accepted);

    public bool CanDecline => Summary.Allows(TaskActor.Therapist, ReferralTaskState.Declined);

    public bool CanHold => Summary.Allows(TaskActor.Therapist, ReferralTaskState.OnHold);

    /// <summary>Only a referral on hold moves back to new.</summary>
    public bool CanResume => Summary.Allows(TaskActor.Therapist, ReferralTaskState.Created);

    public bool CanRecordSession => Summary.Allows(TaskActor.Therapist, ReferralTaskState.SessionCompleted);

    /// <summary>Sessions used up, or the prescription ends within <see cref="RenewalWarningDays"/>: time to ask for a renewal.</summary>
    public bool RenewalDue => IsActive && (SessionsRemaining == 0 || (ValidUntil is { } until && until <= Today.AddDays(RenewalWarningDays)));

    public string StatusLabel => IsExpired && !IsClosed ? "Expired" : State switch
    {
        ReferralTaskState.Created => "New",
        ReferralTaskState.OnHold => "On hold",
        ReferralTaskState.Accepted or ReferralTaskState.Scheduled => "Accepted",
        ReferralTaskState.SessionCompleted or ReferralTaskState.NoShow => "In treatment",
        ReferralTaskState.Declined => "Declined",
        ReferralTaskState.Cancelled => "Cancelled by the physician",
        ReferralTaskState.Completed => "Completed",
        _ => "Unknown",
    };

    /// <summary>The css class of <see cref="StatusLabel"/>, shared with the physician's status pages.</summary>
    public string StatusCss => IsExpired && !IsClosed ? "expired" : State switch
    {
        ReferralTaskState.Created => "new",
        ReferralTaskState.OnHold => "on-hold",
        ReferralTaskState.Declined => "declined",
        ReferralTaskState.Cancelled => "cancelled",
        ReferralTaskState.Completed => "completed",
        _ => "accepted",
    };

    public string? StatusReason => Task.StatusReason?.Text;

    public string Validity => ValidFrom is null && ValidUntil is null ? "Not stated"
        : string.Create(CultureInfo.InvariantCulture, $"{Format(ValidFrom)} to {Format(ValidUntil)} ({ZoneId} time)");

    public Coverage? Coverage => Request.Contained.OfType<Coverage>().FirstOrDefault();

    public string? ClaimNumber => Coverage?.Identifier.FirstOrDefault(i => i.System == Canonicals.ClaimNumberSystem)?.Value
        ?? Coverage?.Identifier.FirstOrDefault()?.Value;

    /// <summary>"3 days", "5 hours", "12 minutes": how long the referral has been in the inbox.</summary>
    public string Waited(DateTimeOffset now)
    {
        if (Received is not { } received)
        {
            return "";
        }

        var waited = now - received;
        return waited.TotalDays >= 1 ? Plural((int)waited.TotalDays, "day")
            : waited.TotalHours >= 1 ? Plural((int)waited.TotalHours, "hour")
            : Plural(Math.Max(0, (int)waited.TotalMinutes), "minute");
    }

    /// <summary>The form values of the body sites ("Wrist:Right"), as the body map draws them; both sides draw as left and right.</summary>
    public IReadOnlySet<string> BodyMapSites => BodySites
        .SelectMany(s => s.Laterality == Laterality.Both
            ? [BodyMap.Value(s.Region, Laterality.Left), BodyMap.Value(s.Region, Laterality.Right)]
            : new[] { BodyMap.Value(s.Region, s.Laterality) })
        .ToHashSet(StringComparer.Ordinal);

    public static ReferralView Of(ServiceRequest request, FhirTask task, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(task);
        var summary = ReferralSummary.Of(request, task);
        return new ReferralView
        {
            Summary = summary,
            Id = summary.Id,
            Request = request,
            Task = task,
            Patient = request.Subject?.Display ?? task.For?.Display ?? "Patient",
            Physician = request.Requester?.Display ?? task.Requester?.Display ?? request.Requester?.Reference ?? "",
            Diagnoses = [.. summary.Diagnoses.Select(d => new DiagnosisView(d.Name, [.. d.Codes.Select(c => $"{SystemName(c.System)} {c.Code}")]))],
            Frequency = summary.Frequency?.Text,
            Precautions = [.. summary.Precautions.Select(p => p.Text)],
            ZoneId = summary.Zone.Id,
            Today = summary.TodayAt(now),
        };
    }

    private static string SystemName(string? system) => system switch
    {
        Canonicals.Icd10Cm => "ICD-10-CM",
        Canonicals.Snomed => "SNOMED CT",
        _ => system ?? "",
    };

    private static string Format(DateOnly? date) => date is { } value ? FhirTime.Date(value) : "?";

    private static string Plural(int count, string unit) => string.Create(CultureInfo.InvariantCulture, $"{count} {unit}{(count == 1 ? "" : "s")}");
}

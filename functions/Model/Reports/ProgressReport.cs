using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Model.Referrals;
using Referral.Model.Sessions;
using Referral.Model.Tasks;
using Referral.Model.Terminology;

namespace Referral.Model.Reports;

/// <summary>A progress report while the course runs; the discharge summary once the therapist closed it with an outcome.</summary>
public enum ReportKind
{
    Progress,
    Discharge,
}

/// <summary>The chart's copy (physician, EHR), or the payer's, which adds the coverage and per session the billing.</summary>
public enum ReportCopy
{
    Chart,
    Payer,
}

/// <summary>
/// What a report is written for, so that one rendered later (a queued write-back) says what was true then: after
/// session <see cref="ThroughSession"/> (a progress report of the sessions up to it), a renewal request (a progress
/// report of every session so far), or the discharge (the summary, once the course is closed). Null: as things stand.
/// </summary>
public sealed record ReportOccasion(ReportKind Kind, int? ThroughSession = null)
{
    public static ReportOccasion AfterSession(int number) => new(ReportKind.Progress, number);

    public static ReportOccasion RenewalRequest { get; } = new(ReportKind.Progress);

    public static ReportOccasion Discharge { get; } = new(ReportKind.Discharge);
}

/// <summary>A clinician as the report names them: name, NPI where known (and passing the check), licence for the therapist.</summary>
public sealed record ReportPerson(string Name, string? Npi, string? License = null);

/// <summary>A diagnosis in words with its codes ("ICD-10-CM G56.01").</summary>
public sealed record ReportDiagnosis(string Name, IReadOnlyList<string> Codes);

/// <summary>What an auto or workers' compensation insurer (or health plan) needs to find the claim.</summary>
public sealed record ReportPayer(string CoverageType, string? Payor, string? ClaimNumber, string? Adjuster);

/// <summary>One session's billing line: the CPT code with its units by the 8-minute rule, and the ICD-10-CM codes it treats.</summary>
public sealed record ReportBilling(string Cpt, int Units, IReadOnlyList<string> Icd10Cm)
{
    public string Text => string.Create(CultureInfo.InvariantCulture,
        $"CPT {Cpt} x {Units} unit{(Units == 1 ? "" : "s")}; ICD-10-CM {string.Join(", ", Icd10Cm)}");
}

/// <summary>A session as the report lists it; <see cref="Billing"/> on the payer's copy only.</summary>
public sealed record ReportSession(SessionSummary Session, ReportBilling? Billing);

/// <summary>
/// The one source of the progress report and the discharge summary (issue 19): built from the referral's read model
/// (<see cref="ReferralSummary"/>), its sessions' Procedures and Observations (<see cref="SessionSummaries"/>) and
/// the therapist's directory entry; the PDF and the XHTML renditions both print this record and nothing else.
/// </summary>
public sealed record ProgressReport
{
    public required ReportKind Kind { get; init; }

    public required ReportCopy Copy { get; init; }

    public required DateTimeOffset Issued { get; init; }

    /// <summary>The issue time in the practice's zone, as printed.</summary>
    public required string IssuedText { get; init; }

    public required string ReferralId { get; init; }

    public required string Patient { get; init; }

    public string? PatientBirthDate { get; init; }

    public required ReportPerson Physician { get; init; }

    public required ReportPerson Therapist { get; init; }

    public required IReadOnlyList<ReportDiagnosis> Diagnoses { get; init; }

    /// <summary>The prescribed sites with their laterality ("Left wrist").</summary>
    public required IReadOnlyList<string> Sites { get; init; }

    public required int SessionsPrescribed { get; init; }

    public required int SessionsDone { get; init; }

    public int SessionsRemaining => Math.Max(0, SessionsPrescribed - SessionsDone);

    public string? Frequency { get; init; }

    public DateOnly? ValidFrom { get; init; }

    public DateOnly? ValidUntil { get; init; }

    public required IReadOnlyList<ReportSession> Sessions { get; init; }

    /// <summary>The therapist's assessment: their latest session note.</summary>
    public string? Assessment { get; init; }

    /// <summary>The plan: the discharge recommendations, a pending renewal request, or the sessions left to give.</summary>
    public required string Plan { get; init; }

    public string? DischargeOutcome { get; init; }

    /// <summary>The payer's copy only (null on the chart's, and when the referral names no coverage).</summary>
    public ReportPayer? Payer { get; init; }

    public string Title => Kind == ReportKind.Discharge ? "Medical massage discharge summary" : "Medical massage progress report";

    /// <summary>LOINC 18842-5 discharge summary, 11506-3 progress note: DocumentReference.type.</summary>
    public Concept DocumentType => Kind == ReportKind.Discharge ? DischargeSummaryType : ProgressNoteType;

    public static Concept ProgressNoteType { get; } = new(Canonicals.Loinc, "11506-3", "Progress note");

    public static Concept DischargeSummaryType { get; } = new(Canonicals.Loinc, "18842-5", "Discharge summary");

    /// <summary>The session's change in words ("Pain 7 to 4"), for both renditions.</summary>
    public static string Pain(SessionSummary session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return string.Create(CultureInfo.InvariantCulture, $"Pain {Score(session.PainBefore)} before, {Score(session.PainAfter)} after");

        static string Score(decimal? value) => value is { } v ? v.ToString("0.#", CultureInfo.InvariantCulture) + "/10" : "not recorded";
    }

    /// <summary>
    /// Builds the report. <paramref name="therapist"/> is the directory's entry for the Task's owner (its NPI and licence),
    /// null when the directory no longer holds it. <paramref name="occasion"/> is what it is written for (null: as things
    /// stand): a progress report after session N lists the sessions up to N and plans from there, even when the course
    /// has gone on (or closed) since; only the discharge's is a discharge summary.
    /// </summary>
    public static ProgressReport Build(
        ReferralSummary referral, IEnumerable<Procedure> procedures, IReadOnlyList<Observation> observations,
        PractitionerRole? therapist, ReportCopy copy, DateTimeOffset issued, ReportOccasion? occasion = null)
    {
        ArgumentNullException.ThrowIfNull(referral);
        ArgumentNullException.ThrowIfNull(procedures);
        ArgumentNullException.ThrowIfNull(observations);
        var request = referral.Request;
        var task = referral.Task;
        var sessions = SessionSummaries.Of(referral, procedures, observations);
        if (occasion?.ThroughSession is { } through)
        {
            sessions = [.. sessions.Where(s => s.Number <= through)];
        }

        var discharge = task is null || occasion?.Kind == ReportKind.Progress ? null : ReferralTasks.DischargeSummaryOf(task);
        var done = occasion?.ThroughSession ?? Math.Max(referral.SessionsUsed, sessions.Count);
        var icd10 = request.ReasonCode.SelectMany(c => c.Coding).Where(c => c.System == Canonicals.Icd10Cm && c.Code is not null)
            .Select(c => c.Code!).Distinct(StringComparer.Ordinal).ToList();
        var ordered = MassageProcedures.Cpt.TryFind(request.Code, out var procedure) ? procedure : MassageProcedure.MassageTherapy;
        var lymphDrainage = MassageTechniques.Codes.For(MassageTechnique.ManualLymphDrainage).Display;
        var (_, prescriber, payorContact) = ReferralContacts.Of(request);
        var kind = discharge is not null && referral.IsClosed ? ReportKind.Discharge : ReportKind.Progress;

        return new ProgressReport
        {
            Kind = kind,
            Copy = copy,
            Issued = issued,
            IssuedText = SessionSummaries.When(issued, referral.Zone),
            ReferralId = referral.Id,
            Patient = request.Subject?.Display ?? "Patient",
            PatientBirthDate = ReferralContacts.PatientOf(request)?.BirthDate,
            Physician = new ReportPerson(
                request.Requester?.Display ?? "Referring physician",
                prescriber?.Npi ?? ContactRules.NpiOf(request.Requester?.Identifier is { } id ? [id] : null)),
            Therapist = new ReportPerson(
                therapist?.Practitioner?.Display ?? task?.Owner?.Display ?? request.Performer.FirstOrDefault()?.Display ?? "Massage therapist",
                therapist is null ? null : ContactRules.NpiOf(therapist.Identifier),
                therapist?.Identifier.FirstOrDefault(i => i.System == Canonicals.MassageLicenseSystem)?.Value),
            Diagnoses = [.. referral.Diagnoses.Select(d => new ReportDiagnosis(d.Name, [.. d.Codes.Select(CodeText)]))],
            Sites = [.. referral.BodySites.Select(s => s.Display)],
            SessionsPrescribed = referral.SessionsPrescribed,
            SessionsDone = done,
            Frequency = referral.Frequency?.Text,
            ValidFrom = referral.ValidFrom,
            ValidUntil = referral.ValidUntil,
            Sessions = [.. sessions.Select(s => new ReportSession(s, copy == ReportCopy.Payer && s.Minutes is { } minutes
                ? new ReportBilling(
                    MassageProcedures.Cpt.For(MassageProcedures.Billed(ordered, s.Techniques.Contains(lymphDrainage, StringComparer.Ordinal))).Code,
                    MassageProcedures.BillableUnits(minutes),
                    icd10)
                : null))],
            Assessment = sessions.LastOrDefault(s => s.Note is not null)?.Note,
            Plan = PlanOf(referral, discharge, done, asThingsStand: occasion?.ThroughSession is null),
            DischargeOutcome = discharge?.Outcome,
            Payer = copy == ReportCopy.Payer ? PayerOf(request, payorContact) : null,
        };
    }

    private static string PlanOf(ReferralSummary referral, DischargeSummary? discharge, int done, bool asThingsStand)
    {
        if (discharge is not null)
        {
            return discharge.Recommendations ?? "Discharged; no further recommendations.";
        }

        var remaining = Math.Max(0, referral.SessionsPrescribed - done);
        // A pending renewal request is today's news: a report of an earlier session does not claim it.
        if (asThingsStand && referral.Task is { } task && RenewalAnswers.Pending(task) is { } renewal)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"Renewal requested{(renewal.AdditionalSessions is { } more ? $" ({more} more sessions)" : "")}: {renewal.Reason}");
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"Continue treatment: {remaining} of {referral.SessionsPrescribed} sessions remaining{(referral.Frequency is { } f ? ", " + f.Text : "")}{(referral.ValidUntil is { } until ? $", valid until {until:yyyy-MM-dd}" : "")}.");
    }

    private static ReportPayer? PayerOf(ServiceRequest request, PayorContact? contact)
    {
        var coverage = request.Contained.OfType<Coverage>().FirstOrDefault(c => c.Id == MedicalMassageServiceRequest.ContainedCoverageId);
        if (coverage is null)
        {
            return null;
        }

        var type = CoverageTypes.Codes.TryFind(coverage.Type, out var known)
            ? CoverageTypes.Label(known)
            : coverage.Type?.Text ?? coverage.Type?.Coding.FirstOrDefault()?.Display ?? "Not stated";
        return new ReportPayer(
            type,
            coverage.Payor.FirstOrDefault()?.Display,
            coverage.Identifier.FirstOrDefault(i => i.System == Canonicals.ClaimNumberSystem)?.Value,
            contact?.AdjusterName);
    }

    private static string CodeText(Coding coding) => coding.System switch
    {
        Canonicals.Icd10Cm => "ICD-10-CM " + coding.Code,
        Canonicals.Snomed => "SNOMED CT " + coding.Code,
        _ => coding.Code ?? "",
    };
}

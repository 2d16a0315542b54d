using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;

namespace Referral.SmartApp.Referrals;

/// <summary>A problem with the form, next to the field it concerns ("" for the page as a whole).</summary>
public sealed record FieldIssue(string Field, string Message, bool Blocking)
{
    /// <summary>The element the functions API named (FHIRPath in issue.expression), for an issue that came from the API.</summary>
    public string? Element { get; init; }

    /// <summary>The issues of an OperationOutcome from the API: errors block, warnings do not, information is not a problem.</summary>
    public static IReadOnlyList<FieldIssue> From(OperationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return
        [
            .. outcome.Issue
                .Where(i => i.Severity is not OperationOutcome.IssueSeverity.Information)
                .Select(i => new FieldIssue(
                    ReferralForm.FieldOf(i.Expression.FirstOrDefault()),
                    i.Details?.Text ?? i.Diagnostics ?? "The referral service refused this referral.",
                    i.Severity is not OperationOutcome.IssueSeverity.Warning)
                {
                    Element = i.Expression.FirstOrDefault(),
                })
                .Distinct(),
        ];
    }
}

/// <summary>
/// The form judged exactly as the functions API will judge the referral: the shared builder makes the
/// ServiceRequest and the shared validator checks it (with the directory's training), and each issue's FHIRPath
/// says which field it goes next to.
/// </summary>
public sealed class FormChecks(ReferralBuilder builder, ReferralValidator validator, EhrRegistry registry, TimeProvider time)
{
    public ServiceRequest Build(FormState state, LaunchContext launch, PatientRecord record, IReadOnlyList<PractitionerRole> therapists) =>
        builder.Build(ReferralForm.Draft(state, launch, record, therapists, DayOf(launch)));

    /// <summary>Today where the physician prescribes: in the time zone of the practice behind the launching EHR.</summary>
    public PracticeDay DayOf(LaunchContext launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var zoneId = registry.Find(launch.Iss)?.TimeZone ?? "UTC";
        var zone = PracticeTime.TryFindZone(zoneId, out var found) ? found : TimeZoneInfo.Utc;
        return new PracticeDay(PracticeTime.Today(time, zone), zone.Id);
    }

    /// <summary>The form's issues, each next to its field: <paramref name="built"/> is the form's referral (<see cref="Build"/>).</summary>
    public IReadOnlyList<FieldIssue> Check(FormState state, ServiceRequest built, PatientRecord record, IReadOnlyList<PractitionerRole> therapists)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(built);
        var issues = new List<FieldIssue>();
        var noTherapist = string.IsNullOrEmpty(state.Input.Therapist);
        if (noTherapist)
        {
            issues.Add(new FieldIssue(nameof(ReferralInput.Therapist), "Choose the therapist to send the referral to.", true));
        }

        if (TherapistList.Refusal(therapists, state.Input, record) is { } refusal)
        {
            issues.Add(new FieldIssue(nameof(ReferralInput.Therapist), refusal, true));
        }

        // At least one diagnosis and one body site, 1 to 52 sessions: the FHIR package's cardinalities and limits, which the API judges with Firely's
        // validator; the form names them next to their fields before anything is sent.
        if (built.ReasonCode.Count == 0)
        {
            issues.Add(new FieldIssue(nameof(ReferralInput.Diagnoses), "Medical massage is prescribed for a diagnosis: the referral needs at least one (ICD-10-CM).", true));
        }

        if (built.BodySite.Count == 0)
        {
            issues.Add(new FieldIssue(nameof(ReferralInput.Sites), "Medical massage is applied only to the body sites the prescription names: the referral needs at least one.", true));
        }

        if (state.Input.Sessions is < MedicalMassageServiceRequest.MinSessions or > MedicalMassageServiceRequest.MaxSessions)
        {
            issues.Add(new FieldIssue(nameof(ReferralInput.Sessions),
                $"{state.Input.Sessions} sessions: a referral prescribes {MedicalMassageServiceRequest.MinSessions} to {MedicalMassageServiceRequest.MaxSessions}.", true));
        }

        var outcome = validator.Validate(built, reference =>
            therapists.FirstOrDefault(t => "PractitionerRole/" + t.Id == reference) is { } role ? [.. ReferralForm.TrainingOf(role)] : null);
        foreach (var issue in outcome.Issue.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal or OperationOutcome.IssueSeverity.Warning))
        {
            var field = ReferralForm.FieldOf(issue.Expression.FirstOrDefault());
            if (noTherapist && field == nameof(ReferralInput.Therapist))
            {
                continue;
            }

            issues.Add(new FieldIssue(field, issue.Details?.Text ?? issue.Diagnostics ?? "This is not valid.", issue.Severity != OperationOutcome.IssueSeverity.Warning));
        }

        return issues;
    }
}

/// <summary>A calendar day in a practice's IANA time zone: the dates a physician sees and the referral carries.</summary>
public sealed record PracticeDay(DateOnly Date, string ZoneId);

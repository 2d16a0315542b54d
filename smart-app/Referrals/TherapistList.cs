using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;
using Referral.SmartApp.Ehr;

namespace Referral.SmartApp.Referrals;

/// <summary>A therapist offered for this referral, with what a physician needs to choose: why they qualify, where, whether they can take it.</summary>
public sealed record TherapistChoice(
    string Id,
    string Name,
    IReadOnlyList<TherapistTraining> Training,
    IReadOnlyList<TrainingRequirement> Matched,
    bool AcceptsNewReferrals,
    bool? AcceptsCoverage,
    string? CoverageName,
    IReadOnlyList<string> Bills,
    double? DistanceKm,
    string? Practice,
    string? Address,
    string? Phone,
    IReadOnlyList<string> Languages)
{
    /// <summary>Why this therapist cannot be chosen for this referral, or null when they can.</summary>
    public string? NotSelectableBecause =>
        !AcceptsNewReferrals ? "Not taking new referrals"
        : AcceptsCoverage == false ? $"Does not bill {CoverageName}"
        : null;

    public bool Selectable => NotSelectableBecause is null;

    public string Distance => DistanceKm switch
    {
        null => "Distance unknown",
        < 1 => string.Create(CultureInfo.InvariantCulture, $"{DistanceKm * 1000:0} m from the patient's home"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{DistanceKm:0.0} km from the patient's home"),
    };
}

/// <summary>The therapist list as the form shows it, and as the browser fetches it again when a diagnosis, precaution or insurance changes.</summary>
public sealed record TherapistListView(
    IReadOnlyList<TherapistChoice> Choices,
    bool ForDiagnoses,
    string? Selected,
    bool PatientHasPosition,
    string RefreshUrl);

/// <summary>
/// Which therapists to offer and in what order: the one ranking, run on the server for the page and for the partial
/// the browser asks for when the diagnoses change, so it cannot drift between the two.
/// </summary>
public static class TherapistList
{
    public const string GeolocationExtension = "http://hl7.org/fhir/StructureDefinition/geolocation";

    /// <summary>
    /// The therapists to offer: only those trained for every diagnosis and precaution (the rest are not offered at
    /// all). With a diagnosis ticked they come best first: taking new referrals, billing the chosen insurance, nearest;
    /// with none, nearest first (nothing is "best" for no diagnosis).
    /// </summary>
    public static IReadOnlyList<TherapistChoice> Rank(IEnumerable<PractitionerRole> roles, ReferralInput input, PatientRecord record)
    {
        ArgumentNullException.ThrowIfNull(roles);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(record);
        var conditions = input.Diagnoses.Select(d => MassageConditions.Find(Canonicals.Icd10Cm, d)).OfType<MassageCondition>().ToList();
        var requirements = TrainingRules.Requirements(conditions, input.Precautions);
        var coverage = record.Coverages.FirstOrDefault(c => c.Id is not null && c.Id == input.CoverageId);
        CoverageType? coverageType = coverage is null ? null : ReferralForm.TypeOf(coverage);
        var home = PositionOf(record.Patient);
        var offered = roles.Where(r => r.Active != false && r.Id is not null)
            .Select(r => (Role: r, Training: ReferralForm.TrainingOf(r)))
            .Where(x => TrainingRules.Unmet(requirements, x.Training).Count == 0)
            .Select(x => Choice(x.Role, x.Training, requirements, coverageType, home));
        var ordered = conditions.Count > 0
            ? offered.OrderByDescending(t => t.AcceptsNewReferrals).ThenByDescending(t => t.AcceptsCoverage ?? true).ThenBy(t => t.DistanceKm ?? double.MaxValue)
            : offered.OrderBy(t => t.DistanceKm ?? double.MaxValue);
        return [.. ordered.ThenBy(t => t.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The list to show: the physician's own choice while it can still be chosen; otherwise, once a diagnosis is
    /// ticked, the only or best therapist who can take the referral.
    /// </summary>
    public static TherapistListView View(IEnumerable<PractitionerRole> roles, ReferralInput input, PatientRecord record, string contextId)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(record);
        var choices = Rank(roles, input, record);
        var forDiagnoses = input.Diagnoses.Any(d => MassageConditions.Find(Canonicals.Icd10Cm, d) is not null);
        var selected = choices.FirstOrDefault(c => c.Id == input.Therapist && c.Selectable)?.Id
            ?? (forDiagnoses ? choices.FirstOrDefault(c => c.Selectable)?.Id : null);
        return new TherapistListView(choices, forDiagnoses, selected, PositionOf(record.Patient) is not null,
            $"/context/{Uri.EscapeDataString(contextId)}/referral?handler=Therapists");
    }

    /// <summary>
    /// The server's refusal of a therapist the form would not let a physician pick: one not taking new referrals, or
    /// not billing the chosen insurance (the browser's disabled radio is no guarantee). Null when the choice stands.
    /// </summary>
    public static string? Refusal(IEnumerable<PractitionerRole> roles, ReferralInput input, PatientRecord record)
    {
        ArgumentNullException.ThrowIfNull(roles);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(record);
        if (string.IsNullOrEmpty(input.Therapist) || roles.FirstOrDefault(r => r.Id == input.Therapist) is not { } role)
        {
            return null;
        }

        var coverage = record.Coverages.FirstOrDefault(c => c.Id is not null && c.Id == input.CoverageId);
        var choice = Choice(role, ReferralForm.TrainingOf(role), [], coverage is null ? null : ReferralForm.TypeOf(coverage), null);
        return choice.NotSelectableBecause switch
        {
            null => null,
            _ when !choice.AcceptsNewReferrals => $"Therapist: {choice.Name} is not taking new referrals. Choose another therapist.",
            _ => $"Therapist: {choice.Name} does not bill {choice.CoverageName}. Choose another therapist, or another insurance.",
        };
    }

    /// <summary>The patient's home position from FHIR's geolocation extension on their address, if the EHR gives one.</summary>
    public static (double Latitude, double Longitude)? PositionOf(Patient patient)
    {
        ArgumentNullException.ThrowIfNull(patient);
        var geolocation = patient.Address.Select(a => a.GetExtension(GeolocationExtension)).FirstOrDefault(e => e is not null);
        var latitude = (geolocation?.GetExtensionValue<FhirDecimal>("latitude"))?.Value;
        var longitude = (geolocation?.GetExtensionValue<FhirDecimal>("longitude"))?.Value;
        return latitude is { } lat && longitude is { } lon ? ((double)lat, (double)lon) : null;
    }

    private static TherapistChoice Choice(PractitionerRole role, IReadOnlyList<TherapistTraining> training, IReadOnlyList<TrainingRequirement> requirements,
        CoverageType? coverageType, (double Latitude, double Longitude)? home)
    {
        Concept? coverageCode = coverageType is { } chosen ? CoverageTypes.Codes.For(chosen) : null;
        var billed = role.GetExtensions(ReferralForm.CoverageTypeAcceptedExtension).Select(e => e.Value).OfType<Coding>().ToList();
        var location = role.Contained.OfType<Location>().FirstOrDefault();
        var address = location?.Address;
        return new TherapistChoice(
            role.Id!,
            role.Practitioner?.Display ?? role.Id!,
            training,
            [.. requirements.Where(r => training.Contains(r.Training))],
            role.Active != false && (role.GetExtensionValue<FhirBoolean>(ReferralForm.AcceptingNewReferralsExtension)?.Value ?? false),
            coverageCode is null ? null : billed.Any(coverageCode.Matches),
            // In a physician's words ("Auto insurance"), not the codes' displays ("automobile insurance policy").
            coverageType is { } type ? CoverageTypes.Label(type).ToLowerInvariant() : null,
            [.. billed.Select(c => CoverageTypes.Codes.TryFind(c, out var billedType) ? CoverageTypes.Label(billedType) : c.Display ?? c.Code ?? "").Where(d => d.Length > 0)],
            home is { } point ? PracticeDistance.Km(role, point.Latitude, point.Longitude) : null,
            location?.Name,
            address is null ? null : string.Join(", ", address.Line.Append(address.City).Where(p => !string.IsNullOrWhiteSpace(p))),
            role.Telecom.FirstOrDefault(t => t.System == ContactPoint.ContactPointSystem.Phone)?.Value,
            Referral.Model.Terminology.Languages.SpokenBy(role));
    }
}

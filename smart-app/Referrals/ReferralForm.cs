using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;

namespace Referral.SmartApp.Referrals;

/// <summary>What the form posts. Defaults are the common prescription: 6 sessions, once a week, 60 minutes, valid 90 days.</summary>
public sealed class ReferralInput
{
    /// <summary>ICD-10-CM codes.</summary>
    public List<string> Diagnoses { get; set; } = [];

    /// <summary>The type-ahead's text, for a diagnosis not on the problem list.</summary>
    public string? DiagnosisSearch { get; set; }

    /// <summary>"Wrist:Right", "Wrist:Left", "Neck": left and right together mean both sides.</summary>
    public List<string> Sites { get; set; } = [];

    public int Sessions { get; set; } = 6;

    public int FrequencyTimes { get; set; } = 1;

    public FrequencyUnit FrequencyUnit { get; set; } = FrequencyUnit.Week;

    public int Minutes { get; set; } = 60;

    public int ValidityDays { get; set; } = 90;

    public List<MassageTechnique> Techniques { get; set; } = [];

    public List<Precaution> Precautions { get; set; } = [];

    public string? Note { get; set; }

    public string? PatientInstructions { get; set; }

    /// <summary>The chosen Coverage's id, or empty for none.</summary>
    public string? CoverageId { get; set; }

    /// <summary>Claim numbers by Coverage id (workers' comp and auto need one).</summary>
    public Dictionary<string, string?> ClaimNumbers { get; set; } = [];

    /// <summary>The chosen therapist's PractitionerRole id.</summary>
    public string? Therapist { get; set; }
}

/// <summary>The form of one launched context, on the server: its placer id is made when the form is first shown, so a retried send is the same order.</summary>
public sealed record FormState
{
    public required string PlacerId { get; init; }

    public required ReferralInput Input { get; init; }

    /// <summary>Set once the functions API has the referral: a second "Sign and send" only shows it.</summary>
    public string? SentId { get; init; }

    public static string Key(string contextId) => "form:" + contextId;
}

/// <summary>A problem-list entry offered as a one-click diagnosis.</summary>
public sealed record ProblemChoice(string Icd10Cm, string Display, string ConditionId, MassageCondition Condition, IReadOnlyList<string> SuggestedSites);

/// <summary>
/// The referral form's logic, kept out of the pages: what the record suggests (the therapists are TherapistList's), the draft
/// built from the input, and the validator's issues placed next to the fields they concern.
/// </summary>
public static class ReferralForm
{
    /// <summary>Must match the functions directory's extensions (TherapistDirectory); a contract test checks they do.</summary>
    public const string AcceptingNewReferralsExtension = Canonicals.Base + "/StructureDefinition/accepting-new-referrals";

    public const string CoverageTypeAcceptedExtension = Canonicals.Base + "/StructureDefinition/coverage-type-accepted";

    public const string NoCoverage = "none";

    /// <summary>The patient's problem-list conditions that medical massage treats, first on the form.</summary>
    public static IReadOnlyList<ProblemChoice> Problems(PatientRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var choices = new List<ProblemChoice>();
        foreach (var condition in record.Conditions)
        {
            var codings = condition.Code?.Coding ?? [];
            var icd = codings.Where(c => c.System == Canonicals.Icd10Cm && c.Code is not null)
                .Select(c => MassageConditions.FindIcd10Cm(c.Code!)).FirstOrDefault(c => c is not null);
            var known = icd is null ? codings.Select(MassageConditions.Find).FirstOrDefault(c => c is not null) : MassageConditions.Find(icd.System, icd.Code);
            icd ??= known is { Icd10Cm.Count: > 0 } ? known.Icd10Cm[0] : null;
            if (known is null || icd is null || condition.Id is null || choices.Any(c => c.Icd10Cm == icd.Code))
            {
                continue;
            }

            choices.Add(new ProblemChoice(icd.Code, condition.Code?.Text ?? icd.Display, condition.Id, known, SuggestedSites(icd.Code)));
        }

        return choices;
    }

    /// <summary>
    /// The body sites a diagnosis makes obvious: its condition's regions (carpal tunnel: wrist, hand; sciatica: lower
    /// back, buttock, thigh), on the side its code names. A paired region is left for the physician when the code names no side.
    /// </summary>
    public static IReadOnlyList<string> SuggestedSites(string icd10Cm)
    {
        var concept = MassageConditions.FindIcd10Cm(icd10Cm);
        if (concept is null)
        {
            return [];
        }

        var side = MassageConditions.LateralityOf(concept);
        var sites = new List<string>();
        foreach (var region in MassageConditions.SuggestBodyRegions(Canonicals.Icd10Cm, icd10Cm))
        {
            if (!BodyRegions.IsPaired(region))
            {
                sites.Add(region.ToString());
            }
            else if (side is Laterality.Both)
            {
                sites.Add($"{region}:{Laterality.Left}");
                sites.Add($"{region}:{Laterality.Right}");
            }
            else if (side is { } known)
            {
                sites.Add($"{region}:{known}");
            }
        }

        return sites;
    }

    /// <summary>The form as first shown: the one massage diagnosis on the problem list picked with its sites, precautions and coverage from the record.</summary>
    public static ReferralInput Initial(PatientRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var input = new ReferralInput();
        var problems = Problems(record);
        if (problems.Count == 1)
        {
            input.Diagnoses.Add(problems[0].Icd10Cm);
            input.Sites.AddRange(problems[0].SuggestedSites);
        }

        input.Precautions.AddRange(RecordSuggestions.Precautions(record).Keys);
        foreach (var coverage in record.Coverages.Where(c => c.Id is not null))
        {
            input.ClaimNumbers[coverage.Id!] = ClaimNumberOf(coverage);
        }

        if (record.Coverages.Count == 1)
        {
            input.CoverageId = record.Coverages[0].Id;
        }

        return input;
    }

    /// <summary>Adds the sites a newly picked diagnosis suggests, never removing what the physician chose.</summary>
    public static void AddSuggestedSites(ReferralInput input, IEnumerable<string> newDiagnoses)
    {
        ArgumentNullException.ThrowIfNull(input);
        foreach (var site in newDiagnoses.SelectMany(SuggestedSites))
        {
            if (!input.Sites.Contains(site))
            {
                input.Sites.Add(site);
            }
        }
    }

    /// <summary>A type-ahead text as one diagnosis: a leading ICD-10-CM code, or the one condition the words match.</summary>
    public static (string? Code, string? Error) ResolveSearch(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = text.Trim().Split([' ', '\u2014'], 2, StringSplitOptions.RemoveEmptyEntries);
        var first = words.Length > 0 ? words[0] : "";
        if (MassageConditions.FindIcd10Cm(first.ToUpperInvariant()) is { } exact)
        {
            return (exact.Code, null);
        }

        var matches = ValueSetExpander.Match(ReferralValueSets.Conditions, text).Where(c => c.System == Canonicals.Icd10Cm).ToList();
        return matches.Count switch
        {
            1 => (matches[0].Code, null),
            0 => (null, $"No medical-massage diagnosis matches \"{text.Trim()}\"."),
            _ => (null, $"{matches.Count} diagnoses match \"{text.Trim()}\": type more of it, or choose one from the suggestions."),
        };
    }

    public static string? ClaimNumberOf(Coverage coverage)
    {
        ArgumentNullException.ThrowIfNull(coverage);
        return coverage.Identifier.FirstOrDefault(i =>
                (i.System?.Contains("claim", StringComparison.OrdinalIgnoreCase) ?? false)
                || (i.Type?.Text?.Contains("claim", StringComparison.OrdinalIgnoreCase) ?? false)
                || i.Type?.Coding.Any(c => c.Display?.Contains("claim", StringComparison.OrdinalIgnoreCase) == true) == true)?.Value;
    }

    public static CoverageType TypeOf(Coverage coverage)
    {
        ArgumentNullException.ThrowIfNull(coverage);
        // A plan type the catalog does not list (an HMO, a PPO) is a health plan for billing purposes.
        return CoverageTypes.Codes.TryFind(coverage.Type, out var type) ? type : CoverageType.HealthPlan;
    }

    public static string PayorOf(Coverage coverage)
    {
        ArgumentNullException.ThrowIfNull(coverage);
        return coverage.Payor.FirstOrDefault()?.Display is { Length: > 0 } payor ? payor : CoverageTypes.Codes.For(TypeOf(coverage)).Display;
    }

    public static IReadOnlyList<TherapistTraining> TrainingOf(PractitionerRole role)
    {
        ArgumentNullException.ThrowIfNull(role);
        var held = new List<TherapistTraining>();
        foreach (var coding in role.Specialty.SelectMany(s => s.Coding))
        {
            if (TherapistTrainings.Codes.TryFind(coding, out var training))
            {
                held.Add(training);
            }
        }

        return held;
    }

    /// <summary>The draft the shared builder turns into the ServiceRequest.</summary>
    public static ReferralDraft Draft(FormState state, LaunchContext launch, PatientRecord record, IReadOnlyList<PractitionerRole> therapists, PracticeDay today)
    {
        ArgumentNullException.ThrowIfNull(today);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(therapists);
        var input = state.Input;
        var problems = Problems(record);
        var coverage = record.Coverages.FirstOrDefault(c => c.Id is not null && c.Id == input.CoverageId);
        var therapist = therapists.FirstOrDefault(t => t.Id == input.Therapist);
        var days = Math.Max(1, input.ValidityDays);
        var note = input.Note?.Trim();
        if (input.Techniques.Count > 0)
        {
            var techniques = "Requested techniques: " + string.Join(", ", input.Techniques.Distinct().Select(t => MassageTechniques.Codes.For(t).Display)) + ".";
            note = string.IsNullOrEmpty(note) ? techniques : note + "\n" + techniques;
        }

        return new ReferralDraft
        {
            PlacerId = state.PlacerId,
            Patient = new ResourceRef("Patient/" + launch.PatientId, record.PatientName),
            Requester = new ResourceRef(launch.FhirUser, record.UserName),
            Diagnoses =
            [
                .. input.Diagnoses.Distinct(StringComparer.Ordinal).Select(code => new Diagnosis(code,
                    problems.FirstOrDefault(p => p.Icd10Cm == code) is { } problem ? new ResourceRef($"{launch.Iss}/Condition/{problem.ConditionId}", problem.Display) : null)),
            ],
            BodySites = Sites(input.Sites),
            Sessions = input.Sessions,
            Frequency = new SessionFrequency(input.FrequencyTimes, 1, input.FrequencyUnit),
            MinutesPerSession = input.Minutes,
            ValidFrom = today.Date,
            ValidUntil = today.Date.AddDays(days - 1),
            TimeZone = today.ZoneId,
            Precautions = [.. input.Precautions.Distinct()],
            Coverage = coverage is null ? null : new CoverageDraft
            {
                Type = TypeOf(coverage),
                PayorName = PayorOf(coverage),
                Payor = coverage.Payor.FirstOrDefault()?.Reference is { } payor ? new ResourceRef(Absolute(launch, payor), PayorOf(coverage)) : null,
                ClaimNumber = input.ClaimNumbers.GetValueOrDefault(coverage.Id!)?.Trim() is { Length: > 0 } claim ? claim : null,
                SubscriberId = coverage.SubscriberId,
            },
            Therapist = new ResourceRef("PractitionerRole/" + (therapist?.Id ?? input.Therapist ?? ""), therapist?.Practitioner?.Display),
            Note = string.IsNullOrWhiteSpace(note) ? null : note,
            HomeCare = string.IsNullOrWhiteSpace(input.PatientInstructions) ? null : input.PatientInstructions.Trim(),
        };
    }

    /// <summary>The posted site values as body areas: left and right of one region together are "both".</summary>
    public static IReadOnlyList<BodyArea> Sites(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var areas = new List<BodyArea>();
        foreach (var group in values.Select(Parse).OfType<(BodyRegion Region, Laterality? Side)>().GroupBy(s => s.Region))
        {
            var sides = group.Select(s => s.Side).OfType<Laterality>().Distinct().ToList();
            Laterality? side = !BodyRegions.IsPaired(group.Key) ? null
                : sides.Contains(Laterality.Both) || (sides.Contains(Laterality.Left) && sides.Contains(Laterality.Right)) ? Laterality.Both
                : sides.FirstOrDefault() is var only && sides.Count == 1 ? only : null;
            areas.Add(new BodyArea(group.Key, side));
        }

        return areas;
    }

    private static (BodyRegion, Laterality?)? Parse(string value)
    {
        var parts = value.Split(':');
        if (!Enum.TryParse<BodyRegion>(parts[0], out var region) || !Enum.IsDefined(region))
        {
            return null;
        }

        if (parts.Length == 1)
        {
            return (region, null);
        }

        return Enum.TryParse<Laterality>(parts[1], out var side) && Enum.IsDefined(side) ? (region, side) : null;
    }

    /// <summary>Which form field a validator issue (its FHIRPath) belongs next to; "" for the summary only.</summary>
    public static string FieldOf(string? expression)
    {
        var path = expression ?? "";
        static bool Has(string path, string part) => path.Contains(part, StringComparison.Ordinal);
        return path switch
        {
            _ when Has(path, "ServiceRequest.reasonCode") || Has(path, "ServiceRequest.reasonReference") => nameof(ReferralInput.Diagnoses),
            _ when Has(path, "ServiceRequest.bodySite") => nameof(ReferralInput.Sites),
            _ when Has(path, "ServiceRequest.occurrence") && Has(path, ".count") => nameof(ReferralInput.Sessions),
            _ when Has(path, "ServiceRequest.occurrence") && (Has(path, ".frequency") || Has(path, ".period")) => nameof(ReferralInput.FrequencyTimes),
            _ when Has(path, "ServiceRequest.occurrence") && Has(path, ".duration") => nameof(ReferralInput.Minutes),
            _ when Has(path, "ServiceRequest.occurrence") && Has(path, ".bounds") => nameof(ReferralInput.ValidityDays),
            _ when Has(path, "ServiceRequest.occurrence") => nameof(ReferralInput.Sessions),
            _ when Has(path, "ServiceRequest.orderDetail") => nameof(ReferralInput.Precautions),
            _ when Has(path, "ServiceRequest.performer") => nameof(ReferralInput.Therapist),
            _ when Has(path, "ServiceRequest.contained") && Has(path, "identifier") => nameof(ReferralInput.ClaimNumbers),
            _ when Has(path, "ServiceRequest.contained") || Has(path, "ServiceRequest.insurance") => nameof(ReferralInput.CoverageId),
            _ when Has(path, "ServiceRequest.note") => nameof(ReferralInput.Note),
            _ when Has(path, "ServiceRequest.patientInstruction") => nameof(ReferralInput.PatientInstructions),
            _ => "",
        };
    }

    public static string Describe(FrequencyUnit unit, int times) =>
        string.Create(CultureInfo.InvariantCulture, $"{times} {(times == 1 ? "time" : "times")} a {FrequencyUnits.Codes.For(unit).Display}");

    private static string Absolute(LaunchContext launch, string reference) =>
        Uri.TryCreate(reference, UriKind.Absolute, out _) ? reference : launch.Iss + "/" + reference.TrimStart('/');
}

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

    /// <summary>The code the physician chose among those a typed phrase matched (a button per choice); wins over the text.</summary>
    public string? DiagnosisChoice { get; set; }

    /// <summary>"Wrist:Right", "Wrist:Left", "Neck": left and right together mean both sides.</summary>
    public List<string> Sites { get; set; } = [];

    /// <summary>The diagnoses whose suggested sites were already ticked once (hidden fields): a suggestion is made once, when a diagnosis is first picked.</summary>
    public List<string> SuggestionsApplied { get; set; } = [];

    /// <summary>The sites the physician unticked (hidden fields): the app never ticks them again.</summary>
    public List<string> Unticked { get; set; } = [];

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

/// <summary>What a typed diagnosis resolved to: one code, or an error with the codes to choose from when it matched several.</summary>
public sealed record DiagnosisSearchResult(string? Code, string? Error, IReadOnlyList<Concept> Choices);

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

            choices.Add(new ProblemChoice(icd.Code, condition.Code?.Text ?? icd.Display, condition.Id, known, SuggestedSites(icd.Code, SideOf(condition))));
        }

        return choices;
    }

    /// <summary>
    /// The body sites a diagnosis makes obvious, as form values: its condition's default sites (the shared model's
    /// reviewed table, <see cref="MassageConditions.SiteDefaults"/>), on the side its code names, else the side
    /// <paramref name="recordSide"/> (the problem-list entry's). A paired region with no side known is left for the physician.
    /// </summary>
    public static IReadOnlyList<string> SuggestedSites(string icd10Cm, Laterality? recordSide = null)
    {
        var sites = new List<string>();
        foreach (var area in MassageConditions.DefaultSites(icd10Cm, recordSide))
        {
            if (area.Laterality is Laterality.Both)
            {
                sites.Add(BodyMap.Value(area.Region, Laterality.Right));
                sites.Add(BodyMap.Value(area.Region, Laterality.Left));
            }
            else
            {
                sites.Add(BodyMap.Value(area.Region, area.Laterality));
            }
        }

        return sites;
    }

    /// <summary>The side a problem-list entry names: its body site ("Right foot"), else its text ("Plantar fasciitis, right foot").</summary>
    public static Laterality? SideOf(Condition condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var texts = condition.BodySite.SelectMany(b => b.Coding.Select(c => c.Display).Append(b.Text)).Append(condition.Code?.Text);
        return texts.Select(MassageConditions.LateralityOf).FirstOrDefault(s => s is not null);
    }

    /// <summary>
    /// Whether the launch's visit names a problem: the encounter's reasonReference points at its Condition, a reasonCode
    /// coding is one of its condition's codes, or the reason's text names the condition (its name, a synonym, the
    /// problem's own text), as "Neck pain and headaches after a rear-end car accident" names neck pain, tension-type
    /// headache and whiplash.
    /// </summary>
    public static bool NamedByVisit(ProblemChoice problem, Encounter? visit)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (visit is null)
        {
            return false;
        }

        if (visit.ReasonReference.Any(r => r.Reference is { } reference
                && (reference == "Condition/" + problem.ConditionId || reference.EndsWith("/Condition/" + problem.ConditionId, StringComparison.Ordinal))))
        {
            return true;
        }

        if (visit.ReasonCode.SelectMany(c => c.Coding).Any(c => MassageConditions.Find(c) == problem.Condition))
        {
            return true;
        }

        var reasons = visit.ReasonCode.Select(c => c.Text).Concat(visit.ReasonCode.SelectMany(c => c.Coding).Select(c => c.Display))
            .Concat(visit.ReasonReference.Select(r => r.Display)).Where(t => !string.IsNullOrWhiteSpace(t)).ToList();
        IEnumerable<string> names = [problem.Condition.Display, problem.Display, .. problem.Condition.Icd10Cm.SelectMany(c => c.Synonyms)];
        return names.Where(n => n.Length > 2).Any(name => reasons.Any(reason =>
            System.Text.RegularExpressions.Regex.IsMatch(reason!, $@"\b{System.Text.RegularExpressions.Regex.Escape(name)}", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)));
    }

    /// <summary>
    /// The form as first shown: the diagnoses picked (the one the launch's appContext names when the active problem
    /// list holds it; else the one massage diagnosis on the problem list, else those the visit's reason names) with their
    /// suggested sites, precautions and coverage from the record. An appContext diagnosis the record does not hold is
    /// ignored: it came through the EHR from a CDS card, and the record is what the referral rests on.
    /// </summary>
    public static ReferralInput Initial(PatientRecord record, string? contextDiagnosis = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        var input = new ReferralInput();
        var problems = Problems(record);
        var chosen = contextDiagnosis is null ? null
            : problems.FirstOrDefault(p => p.Icd10Cm == contextDiagnosis)
              ?? problems.FirstOrDefault(p => MassageConditions.Find(Canonicals.Icd10Cm, contextDiagnosis) is { } named && p.Condition.Key == named.Key);
        IReadOnlyList<ProblemChoice> picked = chosen is not null ? [chosen]
            : problems.Count == 1 ? problems : problems.Where(p => NamedByVisit(p, record.Encounter)).ToList();
        foreach (var problem in picked)
        {
            input.Diagnoses.Add(problem.Icd10Cm);
            input.Sites.AddRange(problem.SuggestedSites.Where(s => !input.Sites.Contains(s)));
        }

        input.SuggestionsApplied.AddRange(input.Diagnoses);

        input.Precautions.AddRange(RecordPrecautions.Find(record.Conditions, record.Medications).Keys);
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

    /// <summary>
    /// The one-time suggestion, on the server as in the browser: a diagnosis ticked for the first time ticks its suggested
    /// sites, except those the physician unticked; a diagnosis whose suggestion was applied before never ticks a site again.
    /// <paramref name="saved"/> is the form as last kept: a site ticked there and missing from the post was unticked (the
    /// no-JavaScript path), added to what the browser says it unticked. A site the physician ticks again is theirs again.
    /// </summary>
    public static void ApplySuggestions(ReferralInput input, ReferralInput saved, IReadOnlyList<ProblemChoice> problems)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(saved);
        ArgumentNullException.ThrowIfNull(problems);
        var unticked = new HashSet<string>(input.Unticked.Concat(saved.Unticked), StringComparer.Ordinal);
        unticked.UnionWith(saved.Sites.Where(s => !input.Sites.Contains(s)));
        unticked.ExceptWith(input.Sites);
        var applied = new HashSet<string>(input.SuggestionsApplied.Concat(saved.SuggestionsApplied), StringComparer.Ordinal);
        foreach (var code in input.Diagnoses.Distinct(StringComparer.Ordinal).Where(d => !applied.Contains(d)).ToList())
        {
            var suggested = problems.FirstOrDefault(p => p.Icd10Cm == code)?.SuggestedSites ?? SuggestedSites(code);
            input.Sites.AddRange(suggested.Where(s => !unticked.Contains(s) && !input.Sites.Contains(s)));
            applied.Add(code);
        }

        input.SuggestionsApplied = [.. applied.Order(StringComparer.Ordinal)];
        input.Unticked = [.. unticked.Order(StringComparer.Ordinal)];
    }

    /// <summary>The most choices offered when a typed phrase matches several diagnoses.</summary>
    public const int MaxChoices = 12;

    /// <summary>
    /// A type-ahead text as one diagnosis: a leading ICD-10-CM code, or the one code the words match. When the words match
    /// several codes, none is picked: the physician gets the choices (at most <see cref="MaxChoices"/>).
    /// </summary>
    public static DiagnosisSearchResult ResolveSearch(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = text.Trim().Split([' ', '\u2014'], 2, StringSplitOptions.RemoveEmptyEntries);
        var first = words.Length > 0 ? words[0] : "";
        if (MassageConditions.FindIcd10Cm(first.ToUpperInvariant()) is { } exact)
        {
            return new DiagnosisSearchResult(exact.Code, null, []);
        }

        var matches = ValueSetExpander.Match(ReferralValueSets.Conditions, text).Where(c => c.System == Canonicals.Icd10Cm).ToList();
        return matches.Count switch
        {
            1 => new DiagnosisSearchResult(matches[0].Code, null, []),
            0 => new DiagnosisSearchResult(null, $"No medical-massage diagnosis matches \"{text.Trim()}\".", []),
            > MaxChoices => new DiagnosisSearchResult(null, $"{matches.Count} diagnoses match \"{text.Trim()}\": choose one of the first {MaxChoices} below, or type more of it.", [.. matches.Take(MaxChoices)]),
            _ => new DiagnosisSearchResult(null, $"{matches.Count} diagnoses match \"{text.Trim()}\": choose one below.", matches),
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
        return coverage.Payor.FirstOrDefault()?.Display is { Length: > 0 } payor ? payor : CoverageTypes.Label(TypeOf(coverage));
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
                PayorContact = ReferralContacts.FromPayor(record.PayorOf(coverage)),
            },
            Therapist = new ResourceRef("PractitionerRole/" + (therapist?.Id ?? input.Therapist ?? ""), therapist?.Practitioner?.Display),
            Note = string.IsNullOrWhiteSpace(note) ? null : note,
            HomeCare = string.IsNullOrWhiteSpace(input.PatientInstructions) ? null : input.PatientInstructions.Trim(),
            // What the therapist needs to reach people, as the EHR holds it and no more (ReferralContacts).
            PatientContact = ReferralContacts.FromPatient(record.Patient),
            PrescriberContact = ReferralContacts.FromPrescriber(record.User as Practitioner, record.User as PractitionerRole),
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

    private static string Absolute(LaunchContext launch, string reference) =>
        Uri.TryCreate(reference, UriKind.Absolute, out _) ? reference : launch.Iss + "/" + reference.TrimStart('/');
}

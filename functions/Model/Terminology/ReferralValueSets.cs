using Hl7.Fhir.Model;
using Referral.Model.Tasks;

namespace Referral.Model.Terminology;

/// <summary>One of the product's ValueSets, defined by the catalogs in this folder (never by a second hand-kept list).</summary>
public sealed record ValueSetDefinition(string Id, string Name, string Title, string Description, IReadOnlyList<Concept> Concepts)
{
    public string Canonical => Canonicals.ValueSet(Id);
}

/// <summary>Every ValueSet the apps use and the functions app serves, as FHIR ValueSet resources.</summary>
public static class ReferralValueSets
{
    public const string Version = "0.1.0";

    public static ValueSetDefinition Conditions { get; } = new("medical-massage-conditions", "MedicalMassageConditions",
        "Medical-massage conditions", "Diagnoses medical massage is prescribed for: ICD-10-CM codes, with SNOMED CT where known.",
        [.. MassageConditions.All.SelectMany(c => c.Concepts)]);

    public static ValueSetDefinition BodyRegionSet { get; } = new("body-regions", "BodyRegions",
        "Body regions", "Body regions a medical-massage prescription can name (SNOMED CT body structures).",
        BodyRegions.Regions.Concepts);

    public static ValueSetDefinition LateralitySet { get; } = new("laterality", "Laterality",
        "Laterality", "The side of a paired body region (SNOMED CT qualifier values).",
        BodyRegions.Lateralities.Concepts);

    public static ValueSetDefinition Procedures { get; } = new("massage-procedures", "MassageProcedures",
        "Medical-massage procedures", "What a referral orders and a session bills: CPT 97124, 97140 and SNOMED CT massage.",
        MassageProcedures.All);

    public static ValueSetDefinition FrequencyUnitSet { get; } = new("session-frequency-units", "SessionFrequencyUnits",
        "Session frequency units", "The period of a session frequency (UCUM units of time).",
        FrequencyUnits.Codes.Concepts);

    public static ValueSetDefinition CoverageTypeSet { get; } = new("coverage-types", "CoverageTypes",
        "Coverage types", "Who pays for medical massage: workers' compensation, auto insurance or a health plan (v3 ActCode).",
        CoverageTypes.Codes.Concepts);

    public static ValueSetDefinition TrainingSet { get; } = new("therapist-training", "TherapistTraining",
        "Therapist training", "Training a massage therapist may hold that some conditions require.",
        TherapistTrainings.Codes.Concepts);

    public static ValueSetDefinition TechniqueSet { get; } = new("massage-techniques", "MassageTechniques",
        "Massage techniques", "Techniques a therapist reports per session.",
        MassageTechniques.Codes.Concepts);

    public static ValueSetDefinition PrecautionSet { get; } = new("massage-precautions", "MassagePrecautions",
        "Massage precautions", "What the therapist must know before treating the patient.",
        Precautions.Codes.Concepts);

    public static ValueSetDefinition OutcomeMeasureSet { get; } = new("session-outcome-measures", "SessionOutcomeMeasures",
        "Session outcome measures", "What a session records: pain (LOINC), functional scores (LOINC or local) and range of motion (local).",
        [OutcomeMeasures.Pain, .. OutcomeMeasures.Instruments.Concepts, .. OutcomeMeasures.RangeOfMotion.Concepts]);

    public static ValueSetDefinition TaskBusinessStatusSet { get; } = new("referral-task-business-status", "ReferralTaskBusinessStatus",
        "Referral task business status", "The BSeR business statuses a referral's Task moves through.",
        ReferralTaskStates.BusinessStatusConcepts);

    public static IReadOnlyList<ValueSetDefinition> All { get; } =
    [
        Conditions,
        BodyRegionSet,
        LateralitySet,
        Procedures,
        FrequencyUnitSet,
        CoverageTypeSet,
        TrainingSet,
        TechniqueSet,
        PrecautionSet,
        OutcomeMeasureSet,
        TaskBusinessStatusSet,
    ];

    private static readonly Dictionary<string, ValueSetDefinition> ByCanonical =
        All.ToDictionary(v => v.Canonical, StringComparer.Ordinal);

    /// <summary>Looks a ValueSet up by its canonical URL, with or without a "|version" suffix.</summary>
    public static ValueSetDefinition? Find(string canonical)
    {
        ArgumentNullException.ThrowIfNull(canonical);
        var bar = canonical.IndexOf('|', StringComparison.Ordinal);
        return ByCanonical.GetValueOrDefault(bar < 0 ? canonical : canonical[..bar]);
    }

    /// <summary>The definition as a FHIR ValueSet: one compose.include per code system, each concept with its display and synonyms.</summary>
    public static ValueSet ToValueSet(ValueSetDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var valueSet = Header(definition);
        valueSet.Compose = new ValueSet.ComposeComponent
        {
            Include =
            [
                .. definition.Concepts.GroupBy(c => c.System).Select(system => new ValueSet.ConceptSetComponent
                {
                    System = system.Key,
                    Concept = [.. system.Select(ToReference)],
                }),
            ],
        };
        return valueSet;
    }

    /// <summary>A ValueSet resource with the definition's metadata and no content, for compose or expansion.</summary>
    internal static ValueSet Header(ValueSetDefinition definition) => new()
    {
        Id = definition.Id,
        Url = definition.Canonical,
        Version = Version,
        Name = definition.Name,
        Title = definition.Title,
        Status = PublicationStatus.Active,
        Experimental = false,
        Publisher = "Medical-massage referral",
        Description = definition.Description,
    };

    internal static Coding SynonymUse { get; } = new(Canonicals.Snomed, "900000000000013009", "Synonym");

    private static ValueSet.ConceptReferenceComponent ToReference(Concept concept) => new()
    {
        Code = concept.Code,
        Display = concept.Display,
        Designation =
        [
            .. concept.Synonyms.Select(s => new ValueSet.DesignationComponent { Use = (Coding)SynonymUse.DeepCopy(), Value = s }),
        ],
    };
}

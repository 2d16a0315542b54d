namespace Referral.Model.Terminology;

/// <summary>Who pays: medical massage is billed to workers' compensation, auto insurance or a health plan.</summary>
public enum CoverageType
{
    WorkersCompensation,
    Auto,
    HealthPlan,
}

public static class CoverageTypes
{
    /// <summary>
    /// HL7 v3 ActCode. HIP's display was seen in published resources; WCBPOL's and AUTOPOL's are from the
    /// v3 code system as remembered and not checked here.
    /// </summary>
    public static ConceptMap<CoverageType> Codes { get; } = new(new Dictionary<CoverageType, Concept>
    {
        [CoverageType.WorkersCompensation] = new Concept(Canonicals.V3ActCode, "WCBPOL", "worker's compensation") { Unchecked = true, Synonyms = ["workers comp", "work injury"] },
        [CoverageType.Auto] = new Concept(Canonicals.V3ActCode, "AUTOPOL", "automobile insurance policy") { Unchecked = true, Synonyms = ["car accident", "motor vehicle"] },
        [CoverageType.HealthPlan] = new Concept(Canonicals.V3ActCode, "HIP", "health insurance plan policy") { Synonyms = ["health insurance"] },
    });

    /// <summary>Who pays, in a physician's words: the code displays ("automobile insurance policy") are for machines.</summary>
    public static string Label(CoverageType type) => type switch
    {
        CoverageType.WorkersCompensation => "Workers' compensation",
        CoverageType.Auto => "Auto insurance",
        CoverageType.HealthPlan => "Health insurance",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Workers' comp and auto insurers pay against a claim, so the referral must carry its number.</summary>
    public static bool NeedsClaimNumber(CoverageType type) => type is CoverageType.WorkersCompensation or CoverageType.Auto;
}

namespace Referral.Model.Terminology;

/// <summary>What is ordered (ServiceRequest.code) and billed per session (Procedure.code).</summary>
public enum MassageProcedure
{
    /// <summary>CPT 97124, with SNOMED CT 387854002 as an equivalent coding.</summary>
    MassageTherapy,

    /// <summary>CPT 97140: manual therapy techniques, which include manual lymph drainage.</summary>
    ManualTherapy,
}

public static class MassageProcedures
{
    // CPT descriptors are licensed by the AMA; these displays paraphrase them and are not checked against it.
    public static ConceptMap<MassageProcedure> Cpt { get; } = new(new Dictionary<MassageProcedure, Concept>
    {
        [MassageProcedure.MassageTherapy] = new Concept(Canonicals.Cpt, "97124", "Massage therapy, each 15 minutes") { Unchecked = true, Synonyms = ["massage"] },
        [MassageProcedure.ManualTherapy] = new Concept(Canonicals.Cpt, "97140", "Manual therapy techniques, each 15 minutes") { Unchecked = true, Synonyms = ["MLD", "manual lymph drainage"] },
    });

    /// <summary>
    /// DESIGN.md asked to verify this display: SNOMED's term for 387854002 is "Therapeutic massage"
    /// (seen in a published value set), not "Massage".
    /// </summary>
    public static Concept SnomedMassage { get; } = new(Canonicals.Snomed, "387854002", "Therapeutic massage") { Synonyms = ["massage"] };

    /// <summary>Every code a referral's ServiceRequest.code may carry.</summary>
    public static IReadOnlyList<Concept> All { get; } = [.. Cpt.Concepts, SnomedMassage];

    public static Hl7.Fhir.Model.CodeableConcept ToCodeableConcept(MassageProcedure procedure)
    {
        var concept = Cpt.For(procedure).ToCodeableConcept();
        if (procedure == MassageProcedure.MassageTherapy)
        {
            concept.Coding.Add(SnomedMassage.ToCoding());
        }

        return concept;
    }

    /// <summary>Minutes in one billing unit of a time-based CPT code (97124, 97140: "each 15 minutes").</summary>
    public const int MinutesPerUnit = 15;

    /// <summary>The least remainder that still bills one more unit under the 8-minute rule.</summary>
    public const int MinimumMinutesForUnit = 8;

    /// <summary>
    /// The units one time-based service bills for <paramref name="minutes"/> of treatment, by CMS's 8-minute rule: a
    /// unit for each full 15 minutes, and one more when what remains is 8 minutes or longer (7 minutes bill nothing,
    /// 8 to 22 one unit, 23 to 37 two, 38 to 52 three). One service per session, so the remainder is not pooled across codes.
    /// </summary>
    public static int BillableUnits(int minutes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minutes);
        return (minutes / MinutesPerUnit) + (minutes % MinutesPerUnit >= MinimumMinutesForUnit ? 1 : 0);
    }

    /// <summary>
    /// The CPT code a session bills: 97140 when manual lymph drainage was its technique (or the referral ordered 97140),
    /// else 97124.
    /// </summary>
    public static MassageProcedure Billed(MassageProcedure ordered, bool lymphDrainage) =>
        lymphDrainage ? MassageProcedure.ManualTherapy : ordered;
}

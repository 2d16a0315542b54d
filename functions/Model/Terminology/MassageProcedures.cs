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
}

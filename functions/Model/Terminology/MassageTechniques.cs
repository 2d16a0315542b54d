namespace Referral.Model.Terminology;

/// <summary>Techniques a therapist reports per session (local code system).</summary>
public enum MassageTechnique
{
    MyofascialRelease,
    NeuromuscularTherapy,
    TriggerPointTherapy,
    ManualLymphDrainage,
    CrossFiberFriction,
    Petrissage,
    DeepTissue,
    StrainCounterstrain,
    PositionalRelease,
    RehabilitativeStretching,
}

public static class MassageTechniques
{
    public static ConceptMap<MassageTechnique> Codes { get; } = new(new Dictionary<MassageTechnique, Concept>
    {
        [MassageTechnique.MyofascialRelease] = Local("myofascial-release", "Myofascial release") with { Synonyms = ["MFR"] },
        [MassageTechnique.NeuromuscularTherapy] = Local("neuromuscular-therapy", "Neuromuscular therapy") with { Synonyms = ["NMT"] },
        [MassageTechnique.TriggerPointTherapy] = Local("trigger-point-therapy", "Trigger point therapy"),
        [MassageTechnique.ManualLymphDrainage] = Local("manual-lymph-drainage", "Manual lymph drainage") with { Synonyms = ["MLD"] },
        [MassageTechnique.CrossFiberFriction] = Local("cross-fiber-friction", "Cross-fiber friction") with { Synonyms = ["transverse friction"] },
        [MassageTechnique.Petrissage] = Local("petrissage", "Petrissage") with { Synonyms = ["kneading"] },
        [MassageTechnique.DeepTissue] = Local("deep-tissue", "Deep tissue massage"),
        [MassageTechnique.StrainCounterstrain] = Local("strain-counterstrain", "Strain-counterstrain"),
        [MassageTechnique.PositionalRelease] = Local("positional-release", "Positional release"),
        [MassageTechnique.RehabilitativeStretching] = Local("rehabilitative-stretching", "Rehabilitative stretching"),
    });

    private static Concept Local(string code, string display) => new(Canonicals.MassageTechniqueSystem, code, display);
}

namespace Referral.Model.Terminology;

/// <summary>What the therapist must know before touching the patient (local code system, in ServiceRequest.orderDetail).</summary>
public enum Precaution
{
    Anticoagulants,
    RecentSurgery,
    Pregnancy,
    Cancer,
    LymphNodeRemoval,
    Osteoporosis,
    DeepVeinThrombosisHistory,
    FragileSkin,
}

public static class Precautions
{
    public static ConceptMap<Precaution> Codes { get; } = new(new Dictionary<Precaution, Concept>
    {
        [Precaution.Anticoagulants] = Local("anticoagulants", "Takes anticoagulants (bruising risk)") with { Synonyms = ["blood thinners", "warfarin"] },
        [Precaution.RecentSurgery] = Local("recent-surgery", "Recent surgery"),
        [Precaution.Pregnancy] = Local("pregnancy", "Pregnancy"),
        [Precaution.Cancer] = Local("cancer", "Cancer or cancer treatment"),
        [Precaution.LymphNodeRemoval] = Local("lymph-node-removal", "Lymph nodes removed or irradiated (lymphedema risk)"),
        [Precaution.Osteoporosis] = Local("osteoporosis", "Osteoporosis (fracture risk)"),
        [Precaution.DeepVeinThrombosisHistory] = Local("dvt-history", "History of deep vein thrombosis") with { Synonyms = ["DVT"] },
        [Precaution.FragileSkin] = Local("fragile-skin", "Fragile skin"),
    });

    private static Concept Local(string code, string display) => new(Canonicals.PrecautionSystem, code, display);
}

namespace Referral.Model.Terminology;

/// <summary>Post-graduate training a therapist may hold that some conditions require (local code system).</summary>
public enum TherapistTraining
{
    OncologyMassage,
    ManualLymphDrainage,
    Prenatal,
    TraumaInformed,
    Sports,
    Geriatric,
    Pediatric,
}

public static class TherapistTrainings
{
    public static ConceptMap<TherapistTraining> Codes { get; } = new(new Dictionary<TherapistTraining, Concept>
    {
        [TherapistTraining.OncologyMassage] = Local("oncology-massage", "Oncology massage"),
        [TherapistTraining.ManualLymphDrainage] = Local("manual-lymph-drainage", "Manual lymph drainage (certified lymphedema therapist)") with { Synonyms = ["MLD", "CLT"] },
        [TherapistTraining.Prenatal] = Local("prenatal", "Prenatal massage") with { Synonyms = ["pregnancy"] },
        [TherapistTraining.TraumaInformed] = Local("trauma-informed", "Trauma-informed care"),
        [TherapistTraining.Sports] = Local("sports", "Sports massage"),
        [TherapistTraining.Geriatric] = Local("geriatric", "Geriatric massage"),
        [TherapistTraining.Pediatric] = Local("pediatric", "Pediatric massage"),
    });

    private static Concept Local(string code, string display) => new(Canonicals.TherapistTrainingSystem, code, display);
}

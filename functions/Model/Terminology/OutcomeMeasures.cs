namespace Referral.Model.Terminology;

/// <summary>A functional outcome questionnaire a therapist may score at a session.</summary>
public enum FunctionalInstrument
{
    PromisPainInterference,
    NeckDisabilityIndex,
    OswestryDisabilityIndex,
    QuickDash,
    PatientSpecificFunctionalScale,
}

/// <summary>The movement a range-of-motion measurement is of; the joint is the Observation's bodySite.</summary>
public enum JointMovement
{
    Flexion,
    Extension,
    Abduction,
    Adduction,
    InternalRotation,
    ExternalRotation,
    Rotation,
    LateralFlexion,
    Pronation,
    Supination,
    Dorsiflexion,
    PlantarFlexion,
}

/// <summary>The scale of a functional instrument: its range and UCUM unit.</summary>
public sealed record InstrumentScale(decimal Minimum, decimal Maximum, string UcumUnit);

public static class OutcomeMeasures
{
    /// <summary>LOINC 72514-3, pain on a 0-10 numeric rating scale (display checked against published profiles).</summary>
    public static Concept Pain { get; } = new(Canonicals.Loinc, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported");

    public const int PainMinimum = 0;
    public const int PainMaximum = 10;

    /// <summary>
    /// PROMIS has a LOINC total-score code (checked). NDI, Oswestry, QuickDASH and PSFS have no confirmed LOINC
    /// total-score code (DESIGN.md §4), so they use the local outcome-measure code system.
    /// </summary>
    public static ConceptMap<FunctionalInstrument> Instruments { get; } = new(new Dictionary<FunctionalInstrument, Concept>
    {
        [FunctionalInstrument.PromisPainInterference] = new Concept(Canonicals.Loinc, "77865-4", "PROMIS pain interference - version 1.0 Tscore") { Synonyms = ["PROMIS"] },
        [FunctionalInstrument.NeckDisabilityIndex] = Local("ndi-total", "Neck Disability Index total score") with { Synonyms = ["NDI"] },
        [FunctionalInstrument.OswestryDisabilityIndex] = Local("odi-percent", "Oswestry Disability Index score (percent)") with { Synonyms = ["ODI", "Oswestry"] },
        [FunctionalInstrument.QuickDash] = Local("quickdash-score", "QuickDASH disability/symptom score") with { Synonyms = ["DASH"] },
        [FunctionalInstrument.PatientSpecificFunctionalScale] = Local("psfs-average", "Patient-Specific Functional Scale average score") with { Synonyms = ["PSFS"] },
    });

    public static InstrumentScale Scale(FunctionalInstrument instrument) => instrument switch
    {
        // PROMIS T-scores centre on 50 with SD 10; the short forms span roughly 38-78, the bank 20-80.
        FunctionalInstrument.PromisPainInterference => new InstrumentScale(20, 80, "{T-score}"),
        FunctionalInstrument.NeckDisabilityIndex => new InstrumentScale(0, 50, "{score}"),
        FunctionalInstrument.OswestryDisabilityIndex => new InstrumentScale(0, 100, "%"),
        FunctionalInstrument.QuickDash => new InstrumentScale(0, 100, "{score}"),
        FunctionalInstrument.PatientSpecificFunctionalScale => new InstrumentScale(0, 10, "{score}"),
        _ => throw new ArgumentOutOfRangeException(nameof(instrument), instrument, null),
    };

    /// <summary>Range of motion per movement; no single LOINC code exists per joint and movement, so these are local.</summary>
    public static ConceptMap<JointMovement> RangeOfMotion { get; } = new(new Dictionary<JointMovement, Concept>
    {
        [JointMovement.Flexion] = Rom("flexion", "flexion"),
        [JointMovement.Extension] = Rom("extension", "extension"),
        [JointMovement.Abduction] = Rom("abduction", "abduction"),
        [JointMovement.Adduction] = Rom("adduction", "adduction"),
        [JointMovement.InternalRotation] = Rom("internal-rotation", "internal rotation"),
        [JointMovement.ExternalRotation] = Rom("external-rotation", "external rotation"),
        [JointMovement.Rotation] = Rom("rotation", "rotation"),
        [JointMovement.LateralFlexion] = Rom("lateral-flexion", "lateral flexion"),
        [JointMovement.Pronation] = Rom("pronation", "pronation"),
        [JointMovement.Supination] = Rom("supination", "supination"),
        [JointMovement.Dorsiflexion] = Rom("dorsiflexion", "dorsiflexion"),
        [JointMovement.PlantarFlexion] = Rom("plantar-flexion", "plantar flexion"),
    });

    public const decimal RangeOfMotionMaximumDegrees = 360;

    public static Concept SurveyCategory { get; } = new(Canonicals.ObservationCategory, "survey", "Survey");

    public static Concept TherapyCategory { get; } = new(Canonicals.ObservationCategory, "therapy", "Therapy");

    private static Concept Local(string code, string display) => new(Canonicals.OutcomeMeasureSystem, code, display);

    private static Concept Rom(string code, string movement) =>
        Local("rom-" + code, "Range of motion, " + movement) with { Synonyms = ["ROM"] };
}

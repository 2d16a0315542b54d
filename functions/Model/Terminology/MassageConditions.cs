using Hl7.Fhir.Model;

namespace Referral.Model.Terminology;

/// <summary>
/// A condition medical massage is prescribed for: its billable ICD-10-CM codes (one per laterality where
/// ICD-10-CM has them), its SNOMED CT concept where known, the body regions a physician usually prescribes
/// for it, and the therapist training it requires.
/// </summary>
public sealed record MassageCondition
{
    public required string Key { get; init; }

    public required string Display { get; init; }

    public required IReadOnlyList<Concept> Icd10Cm { get; init; }

    public Concept? Snomed { get; init; }

    public IReadOnlyList<BodyRegion> SuggestedRegions { get; init; } = [];

    public IReadOnlyList<TherapistTraining> RequiredTraining { get; init; } = [];

    /// <summary>The sites ticked when this diagnosis is first picked, and how their side is chosen (<see cref="MassageConditions.SiteDefaults"/>).</summary>
    public required SiteDefault Defaults { get; init; }

    /// <summary>Every code of this condition, ICD-10-CM first.</summary>
    public IEnumerable<Concept> Concepts => Snomed is null ? Icd10Cm : Icd10Cm.Append(Snomed);
}

/// <summary>How the side of a default paired site (shoulder, foot) is chosen.</summary>
public enum SideRule
{
    /// <summary>The side the ICD-10-CM code names, else the side the problem-list entry names (its body site or text); with no side known, a paired region is left for the physician.</summary>
    OfDiagnosis,

    /// <summary>Both sides: a condition of the whole body or both sides at once (fibromyalgia, whiplash).</summary>
    BothSides,
}

/// <summary>A condition's default sites: the regions ticked when the diagnosis is first picked, and the side rule for the paired ones.</summary>
public sealed record SiteDefault(IReadOnlyList<BodyRegion> Regions, SideRule Sides = SideRule.OfDiagnosis);

public static class MassageConditions
{
    /// <summary>
    /// The reviewed table of default sites, one row per condition (a missing row stops the type from loading; a test
    /// asserts every row). Defaults are the affected area only: the prescription names only the areas to treat, so a
    /// neighbouring region the physician may add (the calf with plantar fasciitis) is not ticked for them. A condition
    /// with no site of its own (pregnancy, cancer, PTSD, an unspecified site) ticks nothing: its site comes from the
    /// complaint that goes with it, or the physician.
    /// </summary>
    public static IReadOnlyDictionary<string, SiteDefault> SiteDefaults { get; } = new Dictionary<string, SiteDefault>(StringComparer.Ordinal)
    {
        ["carpal-tunnel"] = new([BodyRegion.Wrist, BodyRegion.Hand, BodyRegion.Forearm]),
        ["sciatica"] = new([BodyRegion.LumbarRegion, BodyRegion.Buttock, BodyRegion.Thigh]),
        ["piriformis-syndrome"] = new([BodyRegion.Buttock, BodyRegion.Hip]),
        // The swollen limb is the record's or the physician's: I89.0 names neither arm nor leg.
        ["lymphedema"] = new([]),
        ["postmastectomy-lymphedema"] = new([BodyRegion.UpperArm, BodyRegion.Forearm, BodyRegion.Hand]),
        ["whiplash"] = new([BodyRegion.Neck, BodyRegion.Shoulder], SideRule.BothSides),
        ["rotator-cuff"] = new([BodyRegion.Shoulder, BodyRegion.UpperArm]),
        ["tmj-disorder"] = new([BodyRegion.TemporomandibularJoint, BodyRegion.Jaw]),
        ["bursitis"] = new([]),
        ["kyphosis"] = new([BodyRegion.ThoracicSpine]),
        ["lordosis"] = new([BodyRegion.LumbarRegion]),
        ["scoliosis"] = new([BodyRegion.ThoracicSpine, BodyRegion.LumbarRegion]),
        ["osteoarthritis"] = new([]),
        ["knee-osteoarthritis"] = new([BodyRegion.Knee]),
        ["migraine"] = new([BodyRegion.Head, BodyRegion.Neck]),
        ["tension-headache"] = new([BodyRegion.Head, BodyRegion.Neck]),
        ["fibromyalgia"] = new([BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.ThoracicSpine, BodyRegion.LumbarRegion, BodyRegion.Hip], SideRule.BothSides),
        ["frozen-shoulder"] = new([BodyRegion.Shoulder, BodyRegion.UpperArm]),
        ["medial-epicondylitis"] = new([BodyRegion.Elbow, BodyRegion.Forearm]),
        ["lateral-epicondylitis"] = new([BodyRegion.Elbow, BodyRegion.Forearm]),
        ["low-back-pain"] = new([BodyRegion.LumbarRegion]),
        ["neck-pain"] = new([BodyRegion.Neck]),
        ["plantar-fasciitis"] = new([BodyRegion.Foot]),
        ["anxiety"] = new([BodyRegion.Neck, BodyRegion.Shoulder], SideRule.BothSides),
        ["stress"] = new([BodyRegion.Neck, BodyRegion.Shoulder], SideRule.BothSides),
        ["bicipital-tendinitis"] = new([BodyRegion.Shoulder, BodyRegion.UpperArm]),
        ["achilles-tendinitis"] = new([BodyRegion.LowerLeg, BodyRegion.Ankle]),
        ["patellar-tendinitis"] = new([BodyRegion.Knee]),
        ["de-quervain"] = new([BodyRegion.Wrist, BodyRegion.Hand]),
        ["iliotibial-band-syndrome"] = new([BodyRegion.Thigh, BodyRegion.Knee]),
        ["surgery-recovery"] = new([]),
        // Pregnancy needs prenatal training, not a site: the low back pain that goes with it ticks the lower back.
        ["pregnancy"] = new([]),
        ["cancer"] = new([]),
        ["chemotherapy-neuropathy"] = new([BodyRegion.Hand, BodyRegion.Foot], SideRule.BothSides),
        ["parkinsons"] = new([BodyRegion.Neck, BodyRegion.Shoulder], SideRule.BothSides),
        ["ptsd"] = new([]),
        ["thoracic-outlet-syndrome"] = new([BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.UpperArm]),
        ["back-spasm"] = new([BodyRegion.ThoracicSpine, BodyRegion.LumbarRegion]),
        ["myalgia"] = new([]),
        ["thoracic-spine-pain"] = new([BodyRegion.ThoracicSpine]),
        ["cervical-radiculopathy"] = new([BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.UpperArm, BodyRegion.Forearm, BodyRegion.Hand]),
        ["lumbar-radiculopathy"] = new([BodyRegion.LumbarRegion, BodyRegion.Buttock, BodyRegion.Thigh, BodyRegion.LowerLeg]),
        ["neck-strain"] = new([BodyRegion.Neck]),
        ["low-back-strain"] = new([BodyRegion.LumbarRegion]),
        ["shoulder-pain"] = new([BodyRegion.Shoulder]),
        ["hip-pain"] = new([BodyRegion.Hip]),
        ["knee-pain"] = new([BodyRegion.Knee]),
        ["torticollis"] = new([BodyRegion.Neck]),
        ["chronic-pain"] = new([]),
    };

    /// <summary>
    /// The seed conditions of DESIGN.md §4. The code families DESIGN.md lists were checked there against published
    /// value sets; the billable children and their displays follow ICD-10-CM (FY2025). Concepts added beyond
    /// DESIGN.md carry <see cref="Concept.Unchecked"/>, except those confirmed here against published code lists
    /// (G20.A1/A2/C, M79.1x, M26.60x, SNOMED 414033006).
    /// </summary>
    public static IReadOnlyList<MassageCondition> All { get; } =
    [
        Condition("carpal-tunnel", "Carpal tunnel syndrome", ["CTS"],
            [BodyRegion.Wrist, BodyRegion.Hand, BodyRegion.Forearm],
            Sct("57406009", "Carpal tunnel syndrome"),
            Icd("G56.00", "Carpal tunnel syndrome, unspecified upper limb"),
            Icd("G56.01", "Carpal tunnel syndrome, right upper limb"),
            Icd("G56.02", "Carpal tunnel syndrome, left upper limb"),
            Icd("G56.03", "Carpal tunnel syndrome, bilateral upper limbs")),
        Condition("sciatica", "Sciatica", [],
            [BodyRegion.LumbarRegion, BodyRegion.Buttock, BodyRegion.Thigh],
            Sct("23056005", "Sciatica"),
            Icd("M54.30", "Sciatica, unspecified side"),
            Icd("M54.31", "Sciatica, right side"),
            Icd("M54.32", "Sciatica, left side")),
        Condition("piriformis-syndrome", "Piriformis syndrome", ["sciatic nerve"],
            [BodyRegion.Buttock, BodyRegion.Hip, BodyRegion.Thigh],
            null,
            Icd("G57.00", "Lesion of sciatic nerve, unspecified lower limb"),
            Icd("G57.01", "Lesion of sciatic nerve, right lower limb"),
            Icd("G57.02", "Lesion of sciatic nerve, left lower limb"),
            Icd("G57.03", "Lesion of sciatic nerve, bilateral lower limbs")),
        Condition("lymphedema", "Lymphedema", ["lymphoedema", "swelling"],
            [BodyRegion.UpperArm, BodyRegion.Forearm, BodyRegion.Hand, BodyRegion.Thigh, BodyRegion.LowerLeg, BodyRegion.Foot],
            Sct("234097001", "Lymphedema"),
            Icd("I89.0", "Lymphedema, not elsewhere classified")) with
        { RequiredTraining = [TherapistTraining.ManualLymphDrainage] },
        Condition("postmastectomy-lymphedema", "Lymphedema after mastectomy", ["breast cancer", "lymphoedema"],
            [BodyRegion.UpperArm, BodyRegion.Forearm, BodyRegion.Hand, BodyRegion.Chest],
            null,
            Icd("I97.2", "Postmastectomy lymphedema syndrome", isUnchecked: true)) with
        { RequiredTraining = [TherapistTraining.ManualLymphDrainage, TherapistTraining.OncologyMassage] },
        Condition("whiplash", "Whiplash injury", ["neck sprain", "car accident"],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.ThoracicSpine, BodyRegion.Head],
            Sct("39848009", "Whiplash injury to neck"),
            Icd("S13.4XXA", "Sprain of ligaments of cervical spine, initial encounter"),
            Icd("S13.4XXD", "Sprain of ligaments of cervical spine, subsequent encounter")),
        Condition("rotator-cuff", "Rotator cuff disorder", ["shoulder"],
            [BodyRegion.Shoulder, BodyRegion.UpperArm, BodyRegion.Neck],
            Sct("414033006", "Disorder of rotator cuff"),
            Icd("M75.100", "Unspecified rotator cuff tear or rupture of unspecified shoulder, not specified as traumatic"),
            Icd("M75.101", "Unspecified rotator cuff tear or rupture of right shoulder, not specified as traumatic"),
            Icd("M75.102", "Unspecified rotator cuff tear or rupture of left shoulder, not specified as traumatic")),
        Condition("tmj-disorder", "Temporomandibular joint disorder", ["TMJ", "TMD", "jaw pain"],
            [BodyRegion.TemporomandibularJoint, BodyRegion.Jaw, BodyRegion.Neck, BodyRegion.Head],
            Sct("41888000", "Temporomandibular joint disorder"),
            Icd("M26.601", "Right temporomandibular joint disorder, unspecified"),
            Icd("M26.602", "Left temporomandibular joint disorder, unspecified"),
            Icd("M26.603", "Bilateral temporomandibular joint disorder, unspecified"),
            Icd("M26.609", "Unspecified temporomandibular joint disorder, unspecified side")),
        Condition("bursitis", "Bursitis", [],
            [BodyRegion.Shoulder, BodyRegion.Elbow, BodyRegion.Hip, BodyRegion.Knee],
            Sct("84017003", "Bursitis"),
            Icd("M71.9", "Bursopathy, unspecified")),
        Condition("kyphosis", "Kyphosis", ["hunchback", "rounded back"],
            [BodyRegion.ThoracicSpine, BodyRegion.Neck, BodyRegion.Shoulder],
            null,
            Icd("M40.204", "Unspecified kyphosis, thoracic region"),
            Icd("M40.209", "Unspecified kyphosis, site unspecified")),
        Condition("lordosis", "Lordosis", ["swayback"],
            [BodyRegion.LumbarRegion, BodyRegion.Hip, BodyRegion.Thigh],
            null,
            Icd("M40.50", "Lordosis, unspecified, site unspecified"),
            Icd("M40.56", "Lordosis, unspecified, lumbar region")),
        Condition("scoliosis", "Scoliosis", [],
            [BodyRegion.ThoracicSpine, BodyRegion.LumbarRegion, BodyRegion.Shoulder],
            Sct("298382003", "Scoliosis deformity of spine"),
            Icd("M41.9", "Scoliosis, unspecified")),
        Condition("osteoarthritis", "Osteoarthritis", ["OA", "arthritis"],
            [BodyRegion.Knee, BodyRegion.Hip, BodyRegion.Hand],
            Sct("396275006", "Osteoarthritis"),
            Icd("M19.90", "Unspecified osteoarthritis, unspecified site")),
        Condition("knee-osteoarthritis", "Osteoarthritis of knee", ["OA", "arthritis"],
            [BodyRegion.Knee, BodyRegion.Thigh, BodyRegion.LowerLeg],
            null,
            Icd("M17.0", "Bilateral primary osteoarthritis of knee", isUnchecked: true),
            Icd("M17.11", "Unilateral primary osteoarthritis, right knee", isUnchecked: true),
            Icd("M17.12", "Unilateral primary osteoarthritis, left knee", isUnchecked: true)),
        Condition("migraine", "Migraine", ["headache"],
            [BodyRegion.Head, BodyRegion.Neck, BodyRegion.Shoulder],
            Sct("37796009", "Migraine"),
            Icd("G43.909", "Migraine, unspecified, not intractable, without status migrainosus")),
        Condition("tension-headache", "Tension-type headache", ["headache"],
            [BodyRegion.Head, BodyRegion.Neck, BodyRegion.Shoulder],
            Sct("398057008", "Tension-type headache"),
            Icd("G44.209", "Tension-type headache, unspecified, not intractable")),
        Condition("fibromyalgia", "Fibromyalgia", [],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.ThoracicSpine, BodyRegion.LumbarRegion, BodyRegion.Hip],
            Sct("203082005", "Fibromyalgia"),
            Icd("M79.7", "Fibromyalgia")),
        Condition("frozen-shoulder", "Frozen shoulder", ["adhesive capsulitis"],
            [BodyRegion.Shoulder, BodyRegion.UpperArm],
            Sct("399114005", "Adhesive capsulitis of shoulder"),
            Icd("M75.00", "Adhesive capsulitis of unspecified shoulder"),
            Icd("M75.01", "Adhesive capsulitis of right shoulder"),
            Icd("M75.02", "Adhesive capsulitis of left shoulder")),
        Condition("medial-epicondylitis", "Medial epicondylitis", ["golfer's elbow"],
            [BodyRegion.Elbow, BodyRegion.Forearm, BodyRegion.Wrist],
            null,
            Icd("M77.00", "Medial epicondylitis, unspecified elbow"),
            Icd("M77.01", "Medial epicondylitis, right elbow"),
            Icd("M77.02", "Medial epicondylitis, left elbow")),
        Condition("lateral-epicondylitis", "Lateral epicondylitis", ["tennis elbow"],
            [BodyRegion.Elbow, BodyRegion.Forearm, BodyRegion.Wrist],
            null,
            Icd("M77.10", "Lateral epicondylitis, unspecified elbow"),
            Icd("M77.11", "Lateral epicondylitis, right elbow"),
            Icd("M77.12", "Lateral epicondylitis, left elbow")),
        Condition("low-back-pain", "Low back pain", ["lumbago", "lower back"],
            [BodyRegion.LumbarRegion, BodyRegion.SacroiliacJoint, BodyRegion.Buttock, BodyRegion.Hip],
            Sct("279039007", "Low back pain"),
            Icd("M54.50", "Low back pain, unspecified"),
            Icd("M54.51", "Vertebrogenic low back pain"),
            Icd("M54.59", "Other low back pain")),
        Condition("neck-pain", "Neck pain", ["cervicalgia"],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.ThoracicSpine, BodyRegion.Head],
            Sct("81680005", "Neck pain"),
            Icd("M54.2", "Cervicalgia")),
        Condition("plantar-fasciitis", "Plantar fasciitis", ["heel pain"],
            [BodyRegion.Foot, BodyRegion.Ankle, BodyRegion.LowerLeg],
            Sct("202882003", "Plantar fasciitis"),
            Icd("M72.2", "Plantar fascial fibromatosis")),
        Condition("anxiety", "Anxiety", [],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.Head],
            null,
            Icd("F41.9", "Anxiety disorder, unspecified")),
        Condition("stress", "Stress", [],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.Head],
            null,
            Icd("Z73.3", "Stress, not elsewhere classified")),
        Condition("bicipital-tendinitis", "Bicipital tendinitis", ["tendonitis", "biceps"],
            [BodyRegion.Shoulder, BodyRegion.UpperArm],
            null,
            Icd("M75.20", "Bicipital tendinitis, unspecified shoulder", isUnchecked: true),
            Icd("M75.21", "Bicipital tendinitis, right shoulder", isUnchecked: true),
            Icd("M75.22", "Bicipital tendinitis, left shoulder", isUnchecked: true)),
        Condition("achilles-tendinitis", "Achilles tendinitis", ["tendonitis"],
            [BodyRegion.LowerLeg, BodyRegion.Ankle, BodyRegion.Foot],
            null,
            Icd("M76.60", "Achilles tendinitis, unspecified leg", isUnchecked: true),
            Icd("M76.61", "Achilles tendinitis, right leg", isUnchecked: true),
            Icd("M76.62", "Achilles tendinitis, left leg", isUnchecked: true)),
        Condition("patellar-tendinitis", "Patellar tendinitis", ["tendonitis", "jumper's knee"],
            [BodyRegion.Knee, BodyRegion.Thigh],
            null,
            Icd("M76.50", "Patellar tendinitis, unspecified knee", isUnchecked: true),
            Icd("M76.51", "Patellar tendinitis, right knee", isUnchecked: true),
            Icd("M76.52", "Patellar tendinitis, left knee", isUnchecked: true)),
        Condition("de-quervain", "De Quervain's tenosynovitis", ["tendonitis", "thumb"],
            [BodyRegion.Wrist, BodyRegion.Forearm, BodyRegion.Hand],
            null,
            Icd("M65.4", "Radial styloid tenosynovitis [de Quervain]", isUnchecked: true)),
        Condition("iliotibial-band-syndrome", "Iliotibial band syndrome", ["IT band", "ITBS"],
            [BodyRegion.Thigh, BodyRegion.Hip, BodyRegion.Knee],
            null,
            Icd("M76.30", "Iliotibial band syndrome, unspecified leg", isUnchecked: true),
            Icd("M76.31", "Iliotibial band syndrome, right leg", isUnchecked: true),
            Icd("M76.32", "Iliotibial band syndrome, left leg", isUnchecked: true)),
        Condition("surgery-recovery", "Recovery after surgery", ["post-operative", "joint replacement", "aftercare"],
            [BodyRegion.Shoulder, BodyRegion.Hip, BodyRegion.Knee],
            null,
            Icd("Z47.1", "Aftercare following joint replacement surgery", isUnchecked: true),
            Icd("Z47.89", "Encounter for other orthopedic aftercare", isUnchecked: true)),
        Condition("pregnancy", "Pregnancy", ["prenatal", "pregnant"],
            [BodyRegion.LumbarRegion, BodyRegion.SacroiliacJoint, BodyRegion.Hip, BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.LowerLeg],
            Sct("77386006", "Pregnancy", isUnchecked: true),
            Icd("Z33.1", "Pregnant state, incidental", isUnchecked: true)) with
        { RequiredTraining = [TherapistTraining.Prenatal] },
        Condition("cancer", "Cancer", ["oncology", "malignant", "tumor"],
            [],
            Sct("363346000", "Malignant neoplastic disease", isUnchecked: true),
            Icd("C80.1", "Malignant (primary) neoplasm, unspecified", isUnchecked: true),
            Icd("Z85.9", "Personal history of malignant neoplasm, unspecified", isUnchecked: true),
            // Breast cancer, the commonest cause of the lymphedema referrals this product sees (the sandbox's patient has it).
            Icd("C50.912", "Malignant neoplasm of unspecified site of left female breast", isUnchecked: true),
            Icd("C50.911", "Malignant neoplasm of unspecified site of right female breast", isUnchecked: true),
            Icd("Z85.3", "Personal history of malignant neoplasm of breast", isUnchecked: true)) with
        { RequiredTraining = [TherapistTraining.OncologyMassage] },
        Condition("chemotherapy-neuropathy", "Chemotherapy-induced peripheral neuropathy", ["cancer", "CIPN"],
            [BodyRegion.Hand, BodyRegion.Foot],
            null,
            Icd("G62.0", "Drug-induced polyneuropathy", isUnchecked: true)) with
        { RequiredTraining = [TherapistTraining.OncologyMassage] },
        Condition("parkinsons", "Parkinson's disease", ["parkinsonism"],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.ThoracicSpine, BodyRegion.LowerLeg],
            Sct("49049000", "Parkinson's disease", isUnchecked: true),
            Icd("G20.A1", "Parkinson's disease without dyskinesia, without mention of fluctuations"),
            Icd("G20.A2", "Parkinson's disease without dyskinesia, with fluctuations"),
            Icd("G20.C", "Parkinsonism, unspecified")),
        Condition("ptsd", "Post-traumatic stress disorder", ["PTSD", "trauma"],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.Head],
            Sct("47505003", "Posttraumatic stress disorder", isUnchecked: true),
            Icd("F43.10", "Post-traumatic stress disorder, unspecified", isUnchecked: true),
            Icd("F43.12", "Post-traumatic stress disorder, chronic", isUnchecked: true)) with
        { RequiredTraining = [TherapistTraining.TraumaInformed] },
        Condition("thoracic-outlet-syndrome", "Thoracic outlet syndrome", ["TOS", "brachial plexus"],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.UpperArm, BodyRegion.Chest],
            null,
            Icd("G54.0", "Brachial plexus disorders", isUnchecked: true)),
        Condition("back-spasm", "Muscle spasm of back", ["back spasm"],
            [BodyRegion.ThoracicSpine, BodyRegion.LumbarRegion],
            null,
            Icd("M62.830", "Muscle spasm of back", isUnchecked: true)),
        Condition("myalgia", "Myalgia (myofascial pain)", ["myofascial pain syndrome", "muscle pain", "trigger points"],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.ThoracicSpine, BodyRegion.LumbarRegion],
            null,
            Icd("M79.10", "Myalgia, unspecified site"),
            Icd("M79.12", "Myalgia of auxiliary muscles, head and neck"),
            Icd("M79.18", "Myalgia, other site")),
        Condition("thoracic-spine-pain", "Thoracic back pain", ["upper back pain", "mid back pain"],
            [BodyRegion.ThoracicSpine, BodyRegion.Shoulder, BodyRegion.Chest],
            null,
            Icd("M54.6", "Pain in thoracic spine", isUnchecked: true)),
        Condition("cervical-radiculopathy", "Cervical radiculopathy", ["pinched nerve"],
            [BodyRegion.Neck, BodyRegion.Shoulder, BodyRegion.UpperArm, BodyRegion.Forearm, BodyRegion.Hand],
            null,
            Icd("M54.12", "Radiculopathy, cervical region", isUnchecked: true)),
        Condition("lumbar-radiculopathy", "Lumbar radiculopathy", ["pinched nerve"],
            [BodyRegion.LumbarRegion, BodyRegion.Buttock, BodyRegion.Thigh, BodyRegion.LowerLeg],
            null,
            Icd("M54.16", "Radiculopathy, lumbar region", isUnchecked: true)),
        Condition("neck-strain", "Neck strain", ["work injury", "car accident"],
            [BodyRegion.Neck, BodyRegion.Shoulder],
            null,
            Icd("S16.1XXA", "Strain of muscle, fascia and tendon at neck level, initial encounter", isUnchecked: true),
            Icd("S16.1XXD", "Strain of muscle, fascia and tendon at neck level, subsequent encounter", isUnchecked: true)),
        Condition("low-back-strain", "Low back strain", ["work injury", "lifting injury"],
            [BodyRegion.LumbarRegion, BodyRegion.Buttock],
            null,
            Icd("S39.012A", "Strain of muscle, fascia and tendon of lower back, initial encounter", isUnchecked: true),
            Icd("S39.012D", "Strain of muscle, fascia and tendon of lower back, subsequent encounter", isUnchecked: true)),
        Condition("shoulder-pain", "Shoulder pain", [],
            [BodyRegion.Shoulder, BodyRegion.UpperArm, BodyRegion.Neck],
            null,
            Icd("M25.511", "Pain in right shoulder", isUnchecked: true),
            Icd("M25.512", "Pain in left shoulder", isUnchecked: true),
            Icd("M25.519", "Pain in unspecified shoulder", isUnchecked: true)),
        Condition("hip-pain", "Hip pain", [],
            [BodyRegion.Hip, BodyRegion.Buttock, BodyRegion.Thigh],
            null,
            Icd("M25.551", "Pain in right hip", isUnchecked: true),
            Icd("M25.552", "Pain in left hip", isUnchecked: true),
            Icd("M25.559", "Pain in unspecified hip", isUnchecked: true)),
        Condition("knee-pain", "Knee pain", [],
            [BodyRegion.Knee, BodyRegion.Thigh, BodyRegion.LowerLeg],
            null,
            Icd("M25.561", "Pain in right knee", isUnchecked: true),
            Icd("M25.562", "Pain in left knee", isUnchecked: true),
            Icd("M25.569", "Pain in unspecified knee", isUnchecked: true)),
        Condition("torticollis", "Torticollis", ["wry neck", "stiff neck"],
            [BodyRegion.Neck, BodyRegion.Shoulder],
            null,
            Icd("M43.6", "Torticollis", isUnchecked: true)),
        Condition("chronic-pain", "Chronic pain", [],
            [],
            null,
            Icd("G89.29", "Other chronic pain", isUnchecked: true),
            Icd("G89.4", "Chronic pain syndrome", isUnchecked: true)),
    ];

    private static readonly Dictionary<(string System, string Code), MassageCondition> ByCode =
        All.SelectMany(c => c.Concepts.Select(concept => (Key: (concept.System, concept.Code), Condition: c)))
           .ToDictionary(x => x.Key, x => x.Condition);

    private static readonly Dictionary<string, MassageCondition> ByKey = All.ToDictionary(c => c.Key, StringComparer.Ordinal);

    /// <summary>The condition an ICD-10-CM or SNOMED CT code belongs to.</summary>
    public static MassageCondition? Find(string? system, string? code) =>
        system is not null && code is not null && ByCode.TryGetValue((system, code), out var condition) ? condition : null;

    public static MassageCondition? Find(Coding? coding) => Find(coding?.System, coding?.Code);

    public static MassageCondition? FindByKey(string key) => ByKey.GetValueOrDefault(key);

    /// <summary>The ICD-10-CM concept for a code, or null when the code is not one of the seed conditions.</summary>
    public static Concept? FindIcd10Cm(string code) =>
        Find(Canonicals.Icd10Cm, code)?.Icd10Cm.FirstOrDefault(c => string.Equals(c.Code, code, StringComparison.Ordinal));

    /// <summary>Body regions to offer first once a diagnosis is picked (carpal tunnel: wrist, hand; sciatica: lower back, buttock, thigh).</summary>
    public static IReadOnlyList<BodyRegion> SuggestBodyRegions(string system, string code) =>
        Find(system, code)?.SuggestedRegions ?? [];

    /// <summary>The side an ICD-10-CM code names ("right upper limb", "bilateral"), or null when it names none.</summary>
    public static Laterality? LateralityOf(Concept icd10Cm)
    {
        ArgumentNullException.ThrowIfNull(icd10Cm);
        return LateralityOf(icd10Cm.Display);
    }

    /// <summary>The side a text names ("Right foot", "left arm", "bilateral"), or null when it names none or both apart.</summary>
    public static Laterality? LateralityOf(string? text)
    {
        var words = (text ?? "").Split([' ', ',', '[', ']', '-', '(', ')', '.', ';'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Any(w => w.Equals("bilateral", StringComparison.OrdinalIgnoreCase)))
        {
            return Laterality.Both;
        }

        if (words.Any(w => w.Equals("right", StringComparison.OrdinalIgnoreCase)))
        {
            return Laterality.Right;
        }

        return words.Any(w => w.Equals("left", StringComparison.OrdinalIgnoreCase)) ? Laterality.Left : null;
    }

    /// <summary>
    /// The sites ticked when an ICD-10-CM diagnosis is first picked: its condition's default regions (<see cref="SiteDefaults"/>),
    /// paired ones on the side its rule gives: both sides, or the side the code names, else <paramref name="recordSide"/>
    /// (the side the problem-list entry names); a paired region with no side known is left for the physician.
    /// </summary>
    public static IReadOnlyList<BodyArea> DefaultSites(string icd10Cm, Laterality? recordSide = null)
    {
        var concept = FindIcd10Cm(icd10Cm);
        if (concept is null)
        {
            return [];
        }

        var defaults = Find(Canonicals.Icd10Cm, icd10Cm)!.Defaults;
        var side = defaults.Sides == SideRule.BothSides ? Laterality.Both : LateralityOf(concept) ?? recordSide;
        var sites = new List<BodyArea>();
        foreach (var region in defaults.Regions)
        {
            if (!BodyRegions.IsPaired(region))
            {
                sites.Add(new BodyArea(region));
            }
            else if (side is { } known)
            {
                sites.Add(new BodyArea(region, known));
            }
        }

        return sites;
    }

    private static MassageCondition Condition(
        string key, string display, string[] synonyms, BodyRegion[] regions, Concept? snomed, params Concept[] icd10Cm)
    {
        // A type-ahead finds every code of a condition by the condition's own name and synonyms.
        string[] names = [display, .. synonyms];
        return new MassageCondition
        {
            Key = key,
            Display = display,
            Icd10Cm = [.. icd10Cm.Select(c => c with { Synonyms = names })],
            Snomed = snomed is null ? null : snomed with { Synonyms = names },
            SuggestedRegions = regions,
            Defaults = SiteDefaults[key],
        };
    }

    private static Concept Icd(string code, string display, bool isUnchecked = false) =>
        new(Canonicals.Icd10Cm, code, display) { Unchecked = isUnchecked };

    private static Concept Sct(string code, string display, bool isUnchecked = false) =>
        new(Canonicals.Snomed, code, display) { Unchecked = isUnchecked };
}

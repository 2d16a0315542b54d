namespace SandboxEhr.Data;

/// <summary>Code system URLs used by the synthetic records.</summary>
public static class CodeSystems
{
    public const string Icd10Cm = "http://hl7.org/fhir/sid/icd-10-cm";
    public const string Snomed = "http://snomed.info/sct";
    public const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
    public const string ActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    public const string ConditionClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    public const string ConditionVerification = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
    public const string ConditionCategory = "http://terminology.hl7.org/CodeSystem/condition-category";
    public const string PractitionerRole = "http://terminology.hl7.org/CodeSystem/practitioner-role";
    public const string SubscriberRelationship = "http://terminology.hl7.org/CodeSystem/subscriber-relationships";
    public const string OrganizationType = "http://terminology.hl7.org/CodeSystem/organization-type";
    public const string IdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203";
    public const string Npi = "http://hl7.org/fhir/sid/us-npi";
    public const string Bcp47 = "urn:ietf:bcp:47";

    /// <summary>
    /// The local code system for therapist training of DESIGN.md §4. It is this project's own, so its
    /// URL is on the reserved .example domain: nothing outside the project resolves it.
    /// </summary>
    public const string TherapistTraining = "https://medical-massage-referral.example/fhir/CodeSystem/therapist-training";

    /// <summary>
    /// The sandbox's stand-in for an identity provider's app roles (Entra ID's <c>roles</c> claim): a PractitionerRole
    /// coded with one of these signs in with that app role, e.g. <c>referral-admin</c> for the app's administrators.
    /// </summary>
    public const string SandboxAppRole = "https://sandbox-ehr.example/fhir/CodeSystem/app-role";

    /// <summary>Identifiers only the sandbox issues (medical record numbers, claim numbers, member ids).</summary>
    public const string SandboxIdentifiers = "https://sandbox-ehr.example/fhir/sid";
}

/// <summary>A diagnosis as the problem list codes it: ICD-10-CM for billing, SNOMED CT where DESIGN.md §4 names one.</summary>
public sealed record Diagnosis(string Icd10Code, string Icd10Display, string? SnomedCode, string? SnomedDisplay, string Text);

/// <summary>
/// The diagnoses of the synthetic patients, taken from the seed conditions of DESIGN.md §4. §4 names
/// pregnancy and cancer without a code; the codes for those two were added here from memory of the
/// published code systems and could not be checked in this workplace (marked below).
/// </summary>
public static class Diagnoses
{
    public static readonly Diagnosis CarpalTunnelRight = new("G56.01", "Carpal tunnel syndrome, right upper limb", "57406009", "Carpal tunnel syndrome", "Carpal tunnel syndrome, right wrist");
    public static readonly Diagnosis Whiplash = new("S13.4XXA", "Sprain of ligaments of cervical spine, initial encounter", "39848009", "Whiplash injury to neck", "Whiplash injury to neck");
    public static readonly Diagnosis NeckPain = new("M54.2", "Cervicalgia", "81680005", "Neck pain", "Neck pain");
    public static readonly Diagnosis TensionHeadache = new("G44.209", "Tension-type headache, unspecified, not intractable", "398057008", "Tension-type headache", "Tension-type headache");
    public static readonly Diagnosis Lymphedema = new("I89.0", "Lymphedema, not elsewhere classified", "234097001", "Lymphedema", "Lymphedema of left arm after breast cancer treatment");

    // Not checked here: §4 names cancer but gives no code.
    public static readonly Diagnosis BreastCancerLeft = new("C50.912", "Malignant neoplasm of unspecified site of left female breast", "254837009", "Malignant neoplasm of breast", "Breast cancer, left, after mastectomy and radiotherapy");

    // Not checked here: §4 names pregnancy but gives no code.
    public static readonly Diagnosis Pregnancy = new("Z33.1", "Pregnant state, incidental", "77386006", "Pregnancy", "Pregnancy, second trimester");

    public static readonly Diagnosis LowBackPain = new("M54.50", "Low back pain, unspecified", "279039007", "Low back pain", "Low back pain");
    public static readonly Diagnosis SciaticaRight = new("M54.31", "Sciatica, right side", "23056005", "Sciatica", "Sciatica, right side");
    public static readonly Diagnosis PiriformisRight = new("G57.01", "Lesion of sciatic nerve, right lower limb", null, null, "Piriformis syndrome, right");
    public static readonly Diagnosis Fibromyalgia = new("M79.7", "Fibromyalgia", "203082005", "Fibromyalgia", "Fibromyalgia");
    public static readonly Diagnosis Anxiety = new("F41.9", "Anxiety disorder, unspecified", null, null, "Anxiety");
    public static readonly Diagnosis Stress = new("Z73.3", "Stress, not elsewhere classified", null, null, "Work-related stress");
    public static readonly Diagnosis FrozenShoulderLeft = new("M75.02", "Adhesive capsulitis of left shoulder", "399114005", "Adhesive capsulitis of shoulder", "Frozen shoulder, left");
    public static readonly Diagnosis Osteoarthritis = new("M19.90", "Unspecified osteoarthritis, unspecified site", "396275006", "Osteoarthritis", "Osteoarthritis");
    public static readonly Diagnosis PlantarFasciitis = new("M72.2", "Plantar fascial fibromatosis", "202882003", "Plantar fasciitis", "Plantar fasciitis, right foot");
}

/// <summary>SNOMED CT body structures from DESIGN.md §4.</summary>
public static class BodySites
{
    public static readonly (string Code, string Display) Neck = ("45048000", "Neck structure");
    public static readonly (string Code, string Display) Shoulder = ("16982005", "Shoulder region structure");
    public static readonly (string Code, string Display) UpperArm = ("40983000", "Upper arm structure");
    public static readonly (string Code, string Display) Wrist = ("74670003", "Wrist region structure");
    public static readonly (string Code, string Display) LumbarRegion = ("52612000", "Lumbar region structure");
    public static readonly (string Code, string Display) Buttock = ("46862004", "Buttock structure");
    public static readonly (string Code, string Display) Foot = ("56459004", "Foot structure");
    public static readonly (string Code, string Display) Head = ("69536005", "Head structure");
}

/// <summary>Codes of the local therapist-training code system (DESIGN.md §4), the same as Referral.Model's TherapistTrainings.</summary>
public static class TherapistTraining
{
    public static readonly (string Code, string Display) OncologyMassage = ("oncology-massage", "Oncology massage");
    public static readonly (string Code, string Display) LymphDrainage = ("manual-lymph-drainage", "Manual lymph drainage (certified lymphedema therapist)");
    public static readonly (string Code, string Display) Prenatal = ("prenatal", "Prenatal massage");
    public static readonly (string Code, string Display) TraumaInformed = ("trauma-informed", "Trauma-informed care");
    public static readonly (string Code, string Display) Sports = ("sports", "Sports massage");
    public static readonly (string Code, string Display) Geriatric = ("geriatric", "Geriatric massage");
    public static readonly (string Code, string Display) Pediatric = ("pediatric", "Pediatric massage");
}

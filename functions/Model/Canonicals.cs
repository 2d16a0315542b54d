namespace Referral.Model;

/// <summary>
/// Every code system, extension, identifier system and canonical URL the model uses, in one place.
/// Local URLs hang off <see cref="Base"/>: change it (before the first production data) and every
/// ValueSet, CodeSystem, profile and identifier moves with it.
/// </summary>
public static class Canonicals
{
    /// <summary>The product's own canonical base. The reserved .example domain marks it as not yet registered.</summary>
    public const string Base = "https://medical-massage-referral.example/fhir";

    // Published code systems.
    public const string Snomed = "http://snomed.info/sct";
    public const string Icd10Cm = "http://hl7.org/fhir/sid/icd-10-cm";
    public const string Cpt = "http://www.ama-assn.org/go/cpt";
    public const string Loinc = "http://loinc.org";
    public const string Ucum = "http://unitsofmeasure.org";
    public const string V3ActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    public const string V2IdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203";
    public const string ObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category";
    public const string TaskCode = "http://hl7.org/fhir/CodeSystem/task-code";
    public const string BserTaskBusinessStatus = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS";

    // Published extensions.
    /// <summary>mCODE's laterality qualifier, made for exactly this: a laterality on a bodySite CodeableConcept.</summary>
    public const string LateralityExtension = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier";

    /// <summary>FHIR core extension for how a Procedure was done: here, the massage techniques used.</summary>
    public const string ProcedureMethodExtension = "http://hl7.org/fhir/StructureDefinition/procedure-method";

    // Local code systems.
    public const string TherapistTrainingSystem = Base + "/CodeSystem/therapist-training";
    public const string MassageTechniqueSystem = Base + "/CodeSystem/massage-technique";
    public const string PrecautionSystem = Base + "/CodeSystem/massage-precaution";
    public const string OutcomeMeasureSystem = Base + "/CodeSystem/outcome-measure";
    public const string TaskOutputTypeSystem = Base + "/CodeSystem/task-output-type";
    public const string ValidationRuleSystem = Base + "/CodeSystem/validation-rule";

    // Local extensions.
    /// <summary>On a renewal-request Task.output: how many more sessions the therapist asks for (positiveInt).</summary>
    public const string RenewalSessionsExtension = Base + "/StructureDefinition/renewal-additional-sessions";

    // Local identifier systems.
    /// <summary>The app's own id for an order; a retried submission carries the same value.</summary>
    public const string PlacerIdentifierSystem = Base + "/sid/referral-placer-id";
    public const string ClaimNumberSystem = Base + "/sid/insurance-claim-number";

    /// <summary>A massage therapist's state licence number, on their PractitionerRole (the state boards publish no FHIR system).</summary>
    public const string MassageLicenseSystem = Base + "/sid/massage-therapist-license";

    /// <summary>CMS's National Provider Identifier.</summary>
    public const string Npi = "http://hl7.org/fhir/sid/us-npi";

    // Profiles and artifacts.
    public const string MedicalMassageServiceRequestProfile = Base + "/StructureDefinition/MedicalMassageServiceRequest";
    public const string CapabilityStatement = Base + "/CapabilityStatement/referral-functions";

    /// <summary>The canonical URL of a local ValueSet, from its id.</summary>
    public static string ValueSet(string id) => Base + "/ValueSet/" + id;
}

using Hl7.Fhir.Model;

namespace SandboxEhr.Fhir;

/// <summary>
/// The few search parameters a referral app needs, per type. Token values take the FHIR forms <c>code</c>,
/// <c>system|code</c> and <c>|code</c>; reference values <c>Type/id</c>, an absolute URL or a bare id; a comma means "or".
/// </summary>
public static class FhirSearch
{
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> Parameters = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        ["Patient"] = ["_id"],
        ["Condition"] = ["_id", "patient", "subject", "clinical-status", "category", "code", "encounter"],
        ["Observation"] = ["_id", "patient", "subject", "code", "category", "status", "based-on", "identifier"],
        ["Encounter"] = ["_id", "patient", "subject", "status"],
        ["Coverage"] = ["_id", "patient", "beneficiary", "status"],
        ["MedicationRequest"] = ["_id", "patient", "subject", "status"],
        ["ServiceRequest"] = ["_id", "patient", "subject", "status", "identifier"],
        ["Procedure"] = ["_id", "patient", "subject", "status", "based-on"],
        ["Task"] = ["_id", "patient", "owner", "status", "focus"],
        ["DocumentReference"] = ["_id", "patient", "subject", "status", "type", "category", "related", "identifier"],
        ["Practitioner"] = ["_id"],
        ["PractitionerRole"] = ["_id", "practitioner", "specialty"],
        ["Organization"] = ["_id"],
    };

    /// <summary>The parameters that name a patient (all resolve to the record's patient).</summary>
    public static readonly IReadOnlySet<string> PatientParameters = new HashSet<string>(StringComparer.Ordinal) { "patient", "subject", "beneficiary" };

    public static bool Matches(Resource resource, string name, string value)
    {
        var alternatives = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return alternatives.Any(alternative => name switch
        {
            "_id" => resource.Id == alternative,
            "patient" or "subject" or "beneficiary" => PatientCompartment.PatientOf(resource) is { } id && id == PatientCompartment.IdIn(alternative, "Patient"),
            "status" => Status(resource) == alternative,
            "clinical-status" => resource is Condition c && Token(c.ClinicalStatus, alternative),
            "category" => resource switch
            {
                Condition c => c.Category.Any(x => Token(x, alternative)),
                Observation o => o.Category.Any(x => Token(x, alternative)),
                DocumentReference d => d.Category.Any(x => Token(x, alternative)),
                _ => false,
            },
            "code" => resource switch
            {
                Condition c => Token(c.Code, alternative),
                Observation o => Token(o.Code, alternative),
                _ => false,
            },
            "type" => resource is DocumentReference d && Token(d.Type, alternative),
            "related" => resource is DocumentReference d && d.Context?.Related.Any(r => Reference(r, "ServiceRequest", alternative)) == true,
            "encounter" => resource is Condition c && Reference(c.Encounter, "Encounter", alternative),
            "based-on" => resource switch
            {
                Observation o => o.BasedOn.Any(r => Reference(r, "ServiceRequest", alternative)),
                Procedure p => p.BasedOn.Any(r => Reference(r, "ServiceRequest", alternative)),
                _ => false,
            },
            "owner" => resource is Hl7.Fhir.Model.Task t && Reference(t.Owner, "PractitionerRole", alternative),
            "focus" => resource is Hl7.Fhir.Model.Task t && Reference(t.Focus, "ServiceRequest", alternative),
            "practitioner" => resource is PractitionerRole r && Reference(r.Practitioner, "Practitioner", alternative),
            "specialty" => resource is PractitionerRole r && r.Specialty.Any(x => Token(x, alternative)),
            "identifier" => resource switch
            {
                Observation o => o.Identifier.Any(i => Token(i, alternative)),
                ServiceRequest s => s.Identifier.Any(i => Token(i, alternative)),
                DocumentReference d => d.Identifier.Any(i => Token(i, alternative)),
                _ => false,
            },
            _ => false,
        });
    }

    private static string? Status(Resource resource) => (resource switch
    {
        Observation o => o.StatusElement,
        Encounter e => e.StatusElement,
        Coverage c => c.StatusElement,
        MedicationRequest m => m.StatusElement,
        ServiceRequest s => s.StatusElement,
        Procedure p => p.StatusElement,
        Hl7.Fhir.Model.Task t => t.StatusElement,
        DocumentReference d => d.StatusElement,
        _ => (PrimitiveType?)null,
    })?.JsonValue as string;

    private static bool Token(CodeableConcept? concept, string value)
    {
        if (concept is null)
        {
            return false;
        }

        var bar = value.IndexOf('|', StringComparison.Ordinal);
        if (bar < 0)
        {
            return concept.Coding.Any(c => c.Code == value);
        }

        var system = value[..bar];
        var code = value[(bar + 1)..];
        return concept.Coding.Any(c =>
            (system.Length == 0 ? string.IsNullOrEmpty(c.System) : c.System == system)
            && (code.Length == 0 || c.Code == code));
    }

    private static bool Token(Identifier identifier, string value) =>
        Token(new CodeableConcept { Coding = [new Coding(identifier.System, identifier.Value)] }, value);

    private static bool Reference(ResourceReference? reference, string type, string value) =>
        PatientCompartment.IdIn(reference?.Reference, type) is { } id && id == PatientCompartment.IdIn(value, type);
}

using Hl7.Fhir.Model;

namespace SandboxEhr.Fhir;

/// <summary>Which patient a record belongs to, for patient-level scopes and <c>?patient=</c> searches.</summary>
public static class PatientCompartment
{
    /// <summary>The types this server holds per patient; other types (Practitioner, Organization, ...) belong to no patient.</summary>
    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        "Patient", "Condition", "Observation", "Encounter", "Coverage", "MedicationRequest", "ServiceRequest", "Procedure", "Task", "DocumentReference",
    };

    public static bool Contains(string type) => Types.Contains(type);

    public static string? PatientOf(Resource resource) => resource switch
    {
        Patient patient => patient.Id,
        Condition condition => PatientId(condition.Subject),
        Observation observation => PatientId(observation.Subject),
        Encounter encounter => PatientId(encounter.Subject),
        Coverage coverage => PatientId(coverage.Beneficiary),
        MedicationRequest request => PatientId(request.Subject),
        ServiceRequest request => PatientId(request.Subject),
        Procedure procedure => PatientId(procedure.Subject),
        Hl7.Fhir.Model.Task task => PatientId(task.For),
        DocumentReference document => PatientId(document.Subject),
        _ => null,
    };

    /// <summary>The id in a reference to a Patient, relative (<c>Patient/x</c>) or absolute (<c>.../fhir/Patient/x</c>).</summary>
    public static string? PatientId(ResourceReference? reference) => IdIn(reference?.Reference, "Patient");

    /// <summary>The id in <c>Type/id</c>, <c>.../Type/id</c> or a bare id.</summary>
    public static string? IdIn(string? reference, string type)
    {
        if (string.IsNullOrEmpty(reference))
        {
            return null;
        }

        var parts = reference.Split('/');
        if (parts.Length == 1)
        {
            return parts[0];
        }

        return parts.Length >= 2 && parts[^2] == type && parts[^1].Length > 0 ? parts[^1] : null;
    }
}

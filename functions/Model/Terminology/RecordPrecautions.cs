using Hl7.Fhir.Model;

namespace Referral.Model.Terminology;

/// <summary>
/// The precautions a patient's record shows (anticoagulants among the active medications, pregnancy or cancer on the
/// problem list), each with the record's own words for it. Shared by the smart-app's form (which ticks them) and the
/// CDS Hooks service (whose card names them).
/// </summary>
public static class RecordPrecautions
{
    /// <summary>Direct oral anticoagulants, vitamin K antagonists and heparins, by the words of their names.</summary>
    private static readonly string[] Anticoagulants =
        ["apixaban", "rivaroxaban", "edoxaban", "dabigatran", "warfarin", "coumadin", "eliquis", "xarelto", "pradaxa", "heparin", "enoxaparin", "dalteparin", "fondaparinux"];

    public static IReadOnlyDictionary<Precaution, string> Find(IEnumerable<Condition> conditions, IEnumerable<MedicationRequest> medications)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentNullException.ThrowIfNull(medications);
        var found = new Dictionary<Precaution, string>();
        foreach (var medication in medications)
        {
            var text = MedicationText(medication);
            if (Anticoagulants.Any(a => text.Contains(a, StringComparison.OrdinalIgnoreCase)))
            {
                found.TryAdd(Precaution.Anticoagulants, FirstNonEmpty((medication.Medication as CodeableConcept)?.Text, text));
            }
        }

        foreach (var condition in conditions)
        {
            var known = condition.Code?.Coding.Select(MassageConditions.Find).FirstOrDefault(c => c is not null);
            var icd = condition.Code?.Coding.FirstOrDefault(c => c.System == Canonicals.Icd10Cm)?.Code ?? "";
            var label = condition.Code?.Text ?? known?.Display ?? icd;
            if (known?.Key == "pregnancy" || icd.StartsWith("Z33", StringComparison.Ordinal) || icd.StartsWith('O'))
            {
                found.TryAdd(Precaution.Pregnancy, label);
            }

            if (known?.RequiredTraining.Contains(TherapistTraining.OncologyMassage) == true || icd.StartsWith('C'))
            {
                found.TryAdd(Precaution.Cancer, label);
            }
        }

        return found;
    }

    private static string MedicationText(MedicationRequest medication) => medication.Medication switch
    {
        CodeableConcept concept => string.Join(' ', concept.Coding.Select(c => c.Display).Append(concept.Text).Where(t => t is not null)),
        ResourceReference reference => reference.Display ?? "",
        _ => "",
    };

    private static string FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v)) ?? "";
}

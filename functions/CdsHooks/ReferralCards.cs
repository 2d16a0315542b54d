using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.Functions.CdsHooks;

/// <summary>
/// What the cards say. They name the condition and precautions by the catalog's words (the record's words stay in
/// the EHR), so a card carries no more patient data than the EHR sent, and less: no name, no dates, no notes.
/// </summary>
public static class ReferralCards
{
    public const string SourceLabel = "Medical-massage referral";

    /// <summary>At most this many "refer for" links on one card.</summary>
    private const int MaxLinks = 3;

    /// <summary>One active problem the referral's condition value set holds, with the ICD-10-CM code the app will preselect.</summary>
    public sealed record Candidate(MassageCondition Condition, string Icd10Cm);

    /// <summary>The record's active problems in the referral's condition value set, one per condition, as the record codes them.</summary>
    public static IReadOnlyList<Candidate> Candidates(IEnumerable<Condition> conditions)
    {
        var found = new List<Candidate>();
        foreach (var condition in conditions)
        {
            var codings = condition.Code?.Coding ?? [];
            var known = codings.Select(MassageConditions.Find).FirstOrDefault(c => c is not null);
            if (known is null || found.Any(f => f.Condition.Key == known.Key))
            {
                continue;
            }

            // The record's own ICD-10-CM code where it is one of the condition's; else the condition's first.
            var icd = codings.FirstOrDefault(c => c.System == Canonicals.Icd10Cm && known.Icd10Cm.Any(k => k.Code == c.Code))?.Code
                      ?? known.Icd10Cm[0].Code;
            found.Add(new Candidate(known, icd));
        }

        return found;
    }

    /// <summary>The patient-view card for the candidates no open referral covers; none when there are none.</summary>
    public static CdsCard? PatientView(IReadOnlyList<Candidate> uncovered, HookRecord record, string launchUrl)
    {
        ArgumentNullException.ThrowIfNull(uncovered);
        ArgumentNullException.ThrowIfNull(record);
        if (uncovered.Count == 0)
        {
            return null;
        }

        var names = string.Join(", ", uncovered.Select(c => c.Condition.Display));
        var lines = new List<string>
        {
            $"On the active problem list, with no open medical-massage referral: **{names}**.",
        };
        lines.AddRange(TrainingLines(uncovered.Select(c => c.Condition), record));
        lines.Add(PrecautionLine(record));
        return new CdsCard
        {
            Uuid = Guid.NewGuid().ToString("D"),
            Summary = Summary("Consider a medical-massage referral: " + names),
            Detail = string.Join("\n\n", lines),
            Indicator = "info",
            Source = new CdsSource(SourceLabel),
            Links = [.. uncovered.Take(MaxLinks).Select(c => Link("Refer for " + c.Condition.Display, launchUrl, c.Icd10Cm))],
        };
    }

    /// <summary>
    /// The order-select card for a massage order being drafted: finish it in the app (with its diagnosis, or the
    /// record's), and what it still lacks: a diagnosis, a body site, a note for a precaution the record shows.
    /// </summary>
    public static CdsCard OrderSelect(ServiceRequest draft, HookRecord? record, string launchUrl)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var missing = new List<string>();
        var diagnosis = draft.ReasonCode.SelectMany(r => r.Coding).Select(c => (coding: c, condition: MassageConditions.Find(c)))
            .FirstOrDefault(x => x.condition is not null);
        if (draft.ReasonCode.Count == 0 && draft.ReasonReference.Count == 0)
        {
            missing.Add("No diagnosis: a medical-massage order names the condition it treats (reason).");
        }

        if (draft.BodySite.Count == 0)
        {
            missing.Add("No body site: the therapist treats only the areas the order names.");
        }

        var precautions = record is null ? new Dictionary<Precaution, string>() : RecordPrecautions.Find(record.Conditions, record.Medications);
        if (precautions.Count > 0 && draft.Note.All(n => string.IsNullOrWhiteSpace(n.Text)))
        {
            missing.Add("Precaution in the record with no note for the therapist: "
                        + string.Join("; ", precautions.Keys.Select(p => Precautions.Codes.For(p).Display)) + ".");
        }

        var icd = diagnosis.coding?.System == Canonicals.Icd10Cm
            ? diagnosis.coding.Code
            : diagnosis.condition?.Icd10Cm[0].Code ?? (record is null ? null : Candidates(record.Conditions) is [var first, ..] ? first.Icd10Cm : null);
        var lines = new List<string> { "Finish this massage order in the referral app: it checks the order, finds a trained therapist near the patient and sends it." };
        lines.AddRange(missing.Select(m => "- " + m));
        if (diagnosis.condition is { } condition && record is not null)
        {
            lines.AddRange(TrainingLines([condition], record));
        }

        return new CdsCard
        {
            Uuid = Guid.NewGuid().ToString("D"),
            Summary = Summary(missing.Count == 0 ? "Finish the massage order in the referral app" : $"The massage order lacks {missing.Count} part{(missing.Count == 1 ? "" : "s")}: finish it in the referral app"),
            Detail = string.Join("\n\n", lines),
            Indicator = missing.Count == 0 ? "info" : "warning",
            Source = new CdsSource(SourceLabel),
            Links = [Link("Finish in the referral app", launchUrl, icd)],
        };
    }

    /// <summary>True when the order's code is one a medical-massage referral carries (CPT 97124/97140, SNOMED 387854002).</summary>
    public static bool IsMassageOrder(ServiceRequest request) =>
        request.Code?.Coding.Any(c => MassageProcedures.All.Any(p => p.Matches(c))) == true;

    private static IEnumerable<string> TrainingLines(IEnumerable<MassageCondition> conditions, HookRecord record)
    {
        var precautions = RecordPrecautions.Find(record.Conditions, record.Medications).Keys;
        var needs = TrainingRules.Requirements(conditions, precautions);
        if (needs.Count == 0)
        {
            yield break;
        }

        yield return "Therapist training needed: "
                     + string.Join("; ", needs.GroupBy(n => n.Training).Select(g => $"{TherapistTrainings.Codes.For(g.Key).Display} ({string.Join(", ", g.Select(n => n.Reason))})"))
                     + ".";
    }

    private static string PrecautionLine(HookRecord record)
    {
        var precautions = RecordPrecautions.Find(record.Conditions, record.Medications).Keys.ToList();
        return precautions.Count == 0
            ? "No precautions (anticoagulants, pregnancy, active cancer) found in the record."
            : "Precautions found in the record: " + string.Join("; ", precautions.Select(p => Precautions.Codes.For(p).Display)) + ".";
    }

    private static CdsLink Link(string label, string launchUrl, string? icd10Cm) => new()
    {
        Label = label,
        Url = launchUrl,
        Type = "smart",
        AppContext = icd10Cm is null ? null : new ReferralAppContext(icd10Cm).Serialize(),
    };

    /// <summary>CDS Hooks: a summary is under 140 characters.</summary>
    private static string Summary(string text) => text.Length < 140 ? text : text[..136] + "...";
}

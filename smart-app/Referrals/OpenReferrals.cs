using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.SmartApp.Referrals;

/// <summary>An open referral of the same physician for the same patient and diagnosis as the one about to be sent.</summary>
public sealed record OpenReferral(string Id, string Diagnosis, string? Therapist, DateOnly? Sent);

/// <summary>
/// Before "Sign and send": the physician's open referrals for this patient (asked of the functions API) that treat a
/// diagnosis this one treats. Sending another needs the physician's explicit confirmation.
/// </summary>
public static class OpenReferrals
{
    /// <summary>The form's field for the confirmation (a checkbox on the review page).</summary>
    public const string ConfirmField = "ConfirmDuplicate";

    /// <summary>
    /// The open referrals that share a diagnosis with the form: the same ICD-10-CM code, or another code of the same
    /// condition (carpal tunnel of the right or the left wrist: asking once too often costs a tick). The form's own
    /// referral (its placer id: an earlier attempt that reached the API) is not a duplicate of itself, and one whose
    /// validity ended before <paramref name="now"/> (in its practice's time zone, as the status page counts it) is no
    /// longer open.
    /// </summary>
    public static IReadOnlyList<OpenReferral> Matching(IEnumerable<ServiceRequest> open, FormState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(state);
        var wanted = state.Input.Diagnoses.Select(Identity).ToHashSet(StringComparer.Ordinal);
        var found = new List<OpenReferral>();
        foreach (var request in open.Where(r => r.Id is not null && r.Status == RequestStatus.Active
                     && !r.Identifier.Any(i => i.System == Canonicals.PlacerIdentifierSystem && i.Value == state.PlacerId)))
        {
            var summary = ReferralSummary.Of(request, null);
            if (summary.IsExpiredAt(now)
                || summary.Diagnoses.FirstOrDefault(d => d.Icd10Cm is { } code && wanted.Contains(Identity(code))) is not { Icd10Cm: { } code } shared)
            {
                continue;
            }

            found.Add(new OpenReferral(
                request.Id!,
                shared.Text ?? MassageConditions.FindIcd10Cm(code)?.Display ?? code,
                request.Performer.FirstOrDefault()?.Display,
                summary.Written is { } written ? DateOnly.FromDateTime(written.UtcDateTime) : null));
        }

        return found;
    }

    /// <summary>What the physician must confirm to send it all the same (the open referrals, where they could be listed).</summary>
    public static string Refusal(IReadOnlyList<OpenReferral> duplicates)
    {
        ArgumentNullException.ThrowIfNull(duplicates);
        var first = duplicates.Count > 0 ? duplicates[0] : null;
        return "Send it anyway: this patient already has an open referral from you for "
            + (first is null ? "this diagnosis" : first.Diagnosis + (first.Therapist is null ? "" : $" (to {first.Therapist})"))
            + ". Tick \"Send it anyway\" to send a second one, or change the referral.";
    }

    /// <summary>
    /// The same question as <see cref="Matching"/>, asked of the API at the moment of the send: the search parameters
    /// of a conditional create (<c>If-None-Exist</c>) that match an open referral of this physician for this patient
    /// and a diagnosis of the same condition as <paramref name="request"/>'s: <c>status=active</c>, every ICD-10-CM code
    /// of those conditions (<c>reason-code</c>), and a validity still running today in the referral's practice zone
    /// (<c>occurrence=ge</c>). The API creates the referral only when none matches, so a duplicate sent from another tab
    /// since the review is caught too.
    /// </summary>
    public static string Criteria(ServiceRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        var summary = ReferralSummary.Of(request, null);
        var codes = summary.Diagnoses
            .Select(d => d.Icd10Cm).OfType<string>()
            .SelectMany(code => MassageConditions.Find(Canonicals.Icd10Cm, code)?.Icd10Cm.Select(c => c.Code) ?? [code])
            .Distinct(StringComparer.Ordinal)
            .Select(code => $"{Canonicals.Icd10Cm}|{code}");
        var criteria = new Dictionary<string, string?>
        {
            ["patient"] = FunctionsApi.TypeAndId(request.Subject?.Reference ?? ""),
            ["requester"] = FunctionsApi.TypeAndId(request.Requester?.Reference ?? ""),
            ["status"] = "active",
            ["reason-code"] = string.Join(',', codes),
            ["occurrence"] = "ge" + summary.TodayAt(now).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        };
        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString("", criteria).TrimStart('?');
    }

    /// <summary>A code's condition (its key), so codes of one condition match; a code the catalog does not know stands for itself.</summary>
    private static string Identity(string icd10Cm) =>
        MassageConditions.Find(Canonicals.Icd10Cm, icd10Cm)?.Key ?? icd10Cm;
}

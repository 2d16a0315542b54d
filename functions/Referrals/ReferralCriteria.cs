using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Functions.Security;
using Referral.Model.Fhir;
using Referral.Model.Referrals;

namespace Referral.Functions.Referrals;

/// <summary>
/// What a ServiceRequest search (or a conditional create's <c>If-None-Exist</c>) asks of a referral: its patient,
/// requester, performer, status, a diagnosis (<c>reason-code</c>, any of a comma-separated list of <c>system|code</c>
/// or bare codes) and a validity still running on a day (<c>occurrence=ge[date]</c>: the prescription's last day is
/// on or after it, FHIR's "the range above the value overlaps the target's"). One parse and one match for both.
/// </summary>
public sealed record ReferralCriteria
{
    public string? Patient { get; init; }

    public string? Requester { get; init; }

    public string? Performer { get; init; }

    public RequestStatus? Status { get; init; }

    /// <summary>The diagnoses asked for: (system, code), a null system matching any.</summary>
    public IReadOnlyList<(string? System, string Code)> ReasonCodes { get; init; } = [];

    /// <summary>The first day the validity must still run on (<c>occurrence=ge</c>).</summary>
    public DateOnly? ValidOn { get; init; }

    /// <summary>The criteria in <paramref name="query"/>; <paramref name="error"/> (a 400 naming the parameter) when one is malformed.</summary>
    public static ReferralCriteria? Parse(IQueryCollection query, out FhirResult? error)
    {
        ArgumentNullException.ThrowIfNull(query);
        var patient = SearchQuery.Reference(query, "patient", "Patient", out error);
        if (error is not null)
        {
            return null;
        }

        // FHIR's requester is any of several types; a physician is a Practitioner or a PractitionerRole.
        var requesterType = SearchQuery.Value(query, "requester") is { } given && FhirReference.Key(given).StartsWith("PractitionerRole/", StringComparison.Ordinal)
            ? "PractitionerRole"
            : "Practitioner";
        var requester = SearchQuery.Reference(query, "requester", requesterType, out error);
        var performer = error is null ? SearchQuery.Reference(query, "performer", "PractitionerRole", out error) : null;
        if (error is not null)
        {
            return null;
        }

        RequestStatus? status = null;
        if (SearchQuery.Value(query, "status") is { } statusText)
        {
            if (Hl7.Fhir.Utility.EnumUtility.ParseLiteral<RequestStatus>(statusText) is not { } parsed)
            {
                error = Outcome.BadRequest("status must be a ServiceRequest status code (active, completed, revoked, ...).", "status");
                return null;
            }

            status = parsed;
        }

        var reasons = new List<(string? System, string Code)>();
        foreach (var token in SearchQuery.Value(query, "reason-code")?.Split(',') ?? [])
        {
            var bar = token.IndexOf('|', StringComparison.Ordinal);
            var (system, code) = bar < 0 ? (null, token) : (token[..bar], token[(bar + 1)..]);
            if (code.Length == 0 || code.Length > 64 || system?.Length > 256)
            {
                error = Outcome.BadRequest("reason-code takes [system]|[code] or [code], comma-separated.", "reason-code");
                return null;
            }

            reasons.Add((string.IsNullOrEmpty(system) ? null : system, code));
        }

        DateOnly? validOn = null;
        if (SearchQuery.Value(query, "occurrence") is { } occurrence)
        {
            if (!occurrence.StartsWith("ge", StringComparison.Ordinal) || !FhirTime.TryDate(occurrence[2..], out var day))
            {
                error = Outcome.BadRequest("occurrence takes ge[date] (YYYY-MM-DD): referrals whose validity still runs on that day.", "occurrence");
                return null;
            }

            validOn = day;
        }

        return new ReferralCriteria
        {
            Patient = patient,
            Requester = requester,
            Performer = performer,
            Status = status,
            ReasonCodes = reasons,
            ValidOn = validOn,
        };
    }

    public bool Matches(StoredReferral referral)
    {
        ArgumentNullException.ThrowIfNull(referral);
        var request = referral.Request;
        return (Patient is null || FhirReference.Key(request.Subject?.Reference ?? "") == Patient)
            && (Requester is null || FhirReference.Key(request.Requester?.Reference ?? "") == Requester)
            && (Performer is null || referral.Owner == FhirReference.IdOf(Performer))
            && (Status is null || request.Status == Status)
            && (ReasonCodes.Count == 0 || request.ReasonCode.SelectMany(r => r.Coding)
                .Any(c => ReasonCodes.Any(wanted => wanted.Code == c.Code && (wanted.System is null || wanted.System == c.System))))
            && (ValidOn is not { } day || ReferralSummary.Of(request, null).ValidUntil is not { } until || until >= day);
    }
}

using System.Globalization;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Referral.Functions.Fhir;
using Referral.Model.Fhir;

namespace Referral.Functions.Therapists;

/// <summary>
/// <c>GET /api/fhir/PractitionerRole</c>: the therapist directory the referral form ranks from.
/// Search parameters: <c>specialty</c> (training, <c>code</c> or <c>system|code</c>; commas mean "any of",
/// repeats mean "all of"), <c>accepting-new-referrals</c>, <c>coverage-type</c>, <c>address-postalcode</c>
/// (prefix), <c>near</c> (<c>latitude|longitude|distance|km</c>, nearest first), <c>_count</c>.
/// </summary>
public static class DirectoryEndpoints
{
    public static SearchDeclaration Search { get; } = new("PractitionerRole",
    [
        new("specialty", SearchParamType.Token, "Therapist training (comma: any of; repeated: all of)."),
        new("accepting-new-referrals", SearchParamType.Token, "true or false."),
        new("coverage-type", SearchParamType.Token, "Insurance billed: WCBPOL, AUTOPOL, HIP (v3 ActCode)."),
        new("address-postalcode", SearchParamType.String, "Practice postal code (prefix)."),
        new("near", SearchParamType.Special, "latitude|longitude|distance|km, nearest first."),
    ], DefaultCount: 50, MaxCount: 200)
    {
        TotalDocumentation = "total is exact on every page.",
    };

    public static IEndpointRouteBuilder MapTherapistDirectory(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/fhir/PractitionerRole", SearchAsync).RequireAuthorization().WithName("practitionerrole-search").WithMetadata(Search);
        app.MapGet("/api/fhir/PractitionerRole/{id}", ReadAsync).RequireAuthorization().WithName("practitionerrole-read");
        return app;
    }

    private static readonly FhirJsonSerializer Serializer = new();

    private static async Task<FhirResult> ReadAsync(string id, TherapistDirectory directory, CancellationToken cancellationToken)
    {
        if (await directory.FindAsync(id, cancellationToken) is not { } stored)
        {
            return Outcome.NotFound("PractitionerRole", id);
        }

        var role = Versioned(stored);
        return new FhirResult(role) { ETag = $"W/\"{role.Meta!.VersionId}\"" };
    }

    /// <summary>
    /// The role as served, with <c>meta.versionId</c> (the ETag of its read): the directory keeps no version counter, so
    /// the version is derived from the content (SHA-256 of the role as serialized, first 16 hex digits) and changes
    /// exactly when the role does. The stored role is not changed.
    /// </summary>
    private static PractitionerRole Versioned(PractitionerRole stored)
    {
        var role = (PractitionerRole)stored.DeepCopy();
        role.Meta = null;
        var hash = System.Security.Cryptography.SHA256.HashData(Serializer.SerializeToBytes(role));
        role.Meta = new Meta { VersionId = Convert.ToHexStringLower(hash.AsSpan(0, 8)) };
        return role;
    }

    private static async Task<FhirResult> SearchAsync(HttpContext http, TherapistDirectory directory, PageTokens pages, CancellationToken cancellationToken)
    {
        var (search, searchError) = await Fhir.Search.ReadAsync(http, Search, pages);
        if (searchError is not null)
        {
            return searchError;
        }

        var query = search!.Query;

        bool? accepting = null;
        if (query.TryGetValue("accepting-new-referrals", out var acceptingText))
        {
            if (!bool.TryParse(acceptingText, out var value))
            {
                return Outcome.BadRequest("accepting-new-referrals must be true or false.", "accepting-new-referrals");
            }

            accepting = value;
        }

        (double Latitude, double Longitude, double Km)? near = null;
        if (query.TryGetValue("near", out var nearText))
        {
            if (ParseNear(nearText.ToString()) is not { } parsed)
            {
                return Outcome.BadRequest("near must be latitude|longitude|distance|km, e.g. 59.33|18.06|25|km.", "near");
            }

            near = parsed;
        }

        var roles = (await directory.AllAsync(cancellationToken)).Values.Where(r => r.Active != false);
        foreach (var specialty in query["specialty"])
        {
            var wanted = (specialty ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            roles = roles.Where(r => TherapistDirectory.Trainings(r).Any(t => wanted.Any(w => TokenMatches(t, w))));
        }

        foreach (var coverage in query["coverage-type"])
        {
            var wanted = (coverage ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            roles = roles.Where(r => TherapistDirectory.CoverageTypesAccepted(r).Any(t => wanted.Any(w => TokenMatches(t, w))));
        }

        if (accepting is { } acceptingValue)
        {
            roles = roles.Where(r => TherapistDirectory.AcceptsNewReferrals(r) == acceptingValue);
        }

        if (query.TryGetValue("address-postalcode", out var postalCode))
        {
            var prefix = postalCode.ToString().Replace(" ", "", StringComparison.Ordinal);
            roles = roles.Where(r => (TherapistDirectory.PracticeLocation(r)?.Address?.PostalCode ?? "")
                .Replace(" ", "", StringComparison.Ordinal).StartsWith(prefix, StringComparison.OrdinalIgnoreCase));
        }

        var ranked = near is { } point
            ? roles.Select(r => (Role: r, Km: PracticeDistance.Km(r, point.Latitude, point.Longitude)))
                .Where(x => x.Km <= point.Km).OrderBy(x => x.Km).Select(x => x.Role)
            : roles.OrderBy(r => r.Practitioner?.Display, StringComparer.Ordinal);

        return new FhirResult(await search.PagedBundleAsync([.. ranked.Select(Versioned)]));
    }

    private static bool TokenMatches(Coding coding, string token)
    {
        var bar = token.IndexOf('|', StringComparison.Ordinal);
        return bar < 0
            ? string.Equals(coding.Code, token, StringComparison.Ordinal)
            : string.Equals(coding.System, token[..bar], StringComparison.Ordinal) && string.Equals(coding.Code, token[(bar + 1)..], StringComparison.Ordinal);
    }

    private static (double, double, double)? ParseNear(string text)
    {
        var parts = text.Split('|');
        if (parts.Length is < 2 or > 4
            || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var latitude) || latitude is < -90 or > 90
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var longitude) || longitude is < -180 or > 180)
        {
            return null;
        }

        var km = 50.0;
        if (parts.Length >= 3 && (!double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out km) || km <= 0))
        {
            return null;
        }

        if (parts.Length == 4 && parts[3] is not ("km" or "[mi_i]" or "mi"))
        {
            return null;
        }

        return (latitude, longitude, parts.Length == 4 && parts[3] != "km" ? km * 1.609344 : km);
    }
}

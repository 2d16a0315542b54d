using System.Globalization;

namespace Referral.Functions.Fhir;

/// <summary>
/// The rules every search of this API shares: unknown parameters are refused rather than ignored (a typo must not
/// widen a search), <c>_count</c> is bounded, and ids are FHIR ids before they go anywhere near storage.
/// </summary>
public static class SearchQuery
{
    public static FhirResult? RejectUnknown(IQueryCollection query, IReadOnlyList<string> supported)
    {
        ArgumentNullException.ThrowIfNull(query);
        var unknown = query.Keys.FirstOrDefault(k => !supported.Contains(k, StringComparer.Ordinal));
        return unknown is null ? null : Outcome.BadRequest($"The search parameter '{unknown}' is not supported; use {string.Join(", ", supported)}.", unknown);
    }

    /// <summary><c>_count</c>, or <paramref name="fallback"/> when absent; the 400 that refuses it when it is not 1 to <paramref name="max"/>.</summary>
    public static FhirResult? Count(IQueryCollection query, int fallback, int max, out int count)
    {
        ArgumentNullException.ThrowIfNull(query);
        count = fallback;
        if (query.TryGetValue("_count", out var text) && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1 || count > max))
        {
            return Outcome.BadRequest($"_count must be a whole number from 1 to {max}.", "_count");
        }

        return null;
    }

    public static string? Value(IQueryCollection query, string name)
    {
        ArgumentNullException.ThrowIfNull(query);
        return query.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
    }

    /// <summary>FHIR's id rule: 1-64 of A-Z, a-z, 0-9, '-' and '.'. Anything else (slashes, quotes, OData) is refused before it reaches storage.</summary>
    public static bool IsFhirId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');
}

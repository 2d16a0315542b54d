namespace Referral.Functions.Fhir;

/// <summary>Search values: a parameter's single value, and FHIR ids checked before they go anywhere near storage (<see cref="Search"/> reads the request).</summary>
public static class SearchQuery
{
    public static string? Value(IQueryCollection query, string name)
    {
        ArgumentNullException.ThrowIfNull(query);
        return query.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
    }

    /// <summary>FHIR's id rule: 1-64 of A-Z, a-z, 0-9, '-' and '.'. Anything else (slashes, quotes, OData) is refused before it reaches storage.</summary>
    public static bool IsFhirId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');
}

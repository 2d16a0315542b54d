using Referral.Functions.Security;

namespace Referral.Functions.Fhir;

/// <summary>Search values: a parameter's single value, and FHIR ids checked before they go anywhere near storage (<see cref="Search"/> reads the request).</summary>
public static class SearchQuery
{
    public static string? Value(IQueryCollection query, string name)
    {
        ArgumentNullException.ThrowIfNull(query);
        return query.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
    }

    /// <summary>
    /// A reference search value as <c>Type/id</c>, whether given as an id, a relative or an absolute reference;
    /// <paramref name="error"/> when it is no reference to a <paramref name="type"/> with a valid id.
    /// </summary>
    public static string? Reference(IQueryCollection query, string name, string type, out FhirResult? error)
    {
        error = null;
        if (Value(query, name) is not { } value)
        {
            return null;
        }

        var key = FhirReference.Key(value.Contains('/', StringComparison.Ordinal) ? value : $"{type}/{value}");
        if (!key.StartsWith(type + "/", StringComparison.Ordinal) || !IsFhirId(key[(type.Length + 1)..]))
        {
            error = Outcome.BadRequest($"{name} must be a {type} id or reference ({type}/[id]; ids are letters, digits, '-' and '.').", name);
            return null;
        }

        return key;
    }

    /// <summary>FHIR's id rule: 1-64 of A-Z, a-z, 0-9, '-' and '.'. Anything else (slashes, quotes, OData) is refused before it reaches storage.</summary>
    public static bool IsFhirId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');
}

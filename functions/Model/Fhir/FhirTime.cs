using System.Globalization;
using Hl7.Fhir.Model;

namespace Referral.Model.Fhir;

/// <summary>FHIR date and dateTime strings, written at second precision and read back strictly.</summary>
public static class FhirTime
{
    public static string DateTime(DateTimeOffset value) =>
        value.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    public static string Date(DateOnly value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Reads a full dateTime (with time and offset); partial dates are not instants and fail.</summary>
    public static bool TryDateTime(string? value, out DateTimeOffset result)
    {
        result = default;
        return value is not null && value.Contains('T', StringComparison.Ordinal)
            && new FhirDateTime(value).TryToDateTimeOffset(out result);
    }

    /// <summary>Reads the calendar day of a date or dateTime ("2025-03-01" or "2025-03-01T09:00:00+01:00").</summary>
    public static bool TryDate(string? value, out DateOnly result)
    {
        result = default;
        return value is { Length: >= 10 }
            && (value.Length == 10 || value[10] == 'T')
            && DateOnly.TryParseExact(value.AsSpan(0, 10), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out result);
    }
}

using System.Diagnostics.CodeAnalysis;
using Hl7.Fhir.Model;

namespace Referral.Model.Fhir;

/// <summary>
/// A practice's calendar. Physicians and therapists see and type dates, not instants, and a date means a different
/// stretch of time in Honolulu than in Kiritimati: a referral's validity is a pair of dates in the prescribing
/// practice's IANA time zone, carried on those dates with FHIR's <c>tz-code</c> extension, so every reader (the API,
/// the inbox, the physician's pages) counts the same days.
/// </summary>
public static class PracticeTime
{
    /// <summary>FHIR's Timezone Code extension (R4, on date, dateTime and instant): an IANA time zone id.</summary>
    public const string TzCodeExtension = "http://hl7.org/fhir/StructureDefinition/tz-code";

    /// <summary>The zone of an IANA id (such as <c>America/Chicago</c>); false for an unknown id or a Windows-only name.</summary>
    public static bool TryFindZone(string? id, [NotNullWhen(true)] out TimeZoneInfo? zone)
    {
        zone = null;
        if (string.IsNullOrWhiteSpace(id) || !TimeZoneInfo.TryFindSystemTimeZoneById(id, out var found) || !found.HasIanaId)
        {
            return false;
        }

        zone = found;
        return true;
    }

    /// <summary>The calendar day an instant falls on in the zone.</summary>
    public static DateOnly DateIn(DateTimeOffset instant, TimeZoneInfo zone) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, zone).DateTime);

    /// <summary>Today in the zone, by the given clock.</summary>
    public static DateOnly Today(TimeProvider time, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(time);
        return DateIn(time.GetUtcNow(), zone);
    }

    /// <summary>A FHIR date in the named zone: the date, with a tz-code extension naming the zone.</summary>
    public static FhirDateTime Date(DateOnly date, string zoneId)
    {
        var element = new FhirDateTime(FhirTime.Date(date));
        element.Extension.Add(new Extension(TzCodeExtension, new Code(zoneId)));
        return element;
    }

    /// <summary>The IANA id a date carries in its tz-code extension, or null when it carries none.</summary>
    public static string? ZoneIdOf(Element? date) =>
        date?.Extension.FirstOrDefault(e => e.Url == TzCodeExtension)?.Value is Code { Value: { } id } ? id : null;

    /// <summary>
    /// The zone of a validity period: the one its start names (the builder writes the same on both ends), else UTC,
    /// which is what a referral stored before zones were carried meant.
    /// </summary>
    public static TimeZoneInfo ZoneOf(Period? validity) =>
        TryFindZone(ZoneIdOf(validity?.StartElement), out var zone) ? zone : TimeZoneInfo.Utc;
}

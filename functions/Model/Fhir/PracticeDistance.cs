using Hl7.Fhir.Model;

namespace Referral.Model.Fhir;

/// <summary>How far a therapist's practice is from a point (the patient's home, a search's <c>near</c>).</summary>
public static class PracticeDistance
{
    private const double EarthRadiusKm = 6371.0;

    /// <summary>
    /// Great-circle distance in kilometres from a point to the practice's position (the role's first contained
    /// Location), or null when the practice has no position.
    /// </summary>
    public static double? Km(PractitionerRole role, double latitude, double longitude)
    {
        ArgumentNullException.ThrowIfNull(role);
        var position = role.Contained.OfType<Location>().FirstOrDefault()?.Position;
        if (position?.Latitude is not { } lat || position.Longitude is not { } lon)
        {
            return null;
        }

        static double Radians(double degrees) => degrees * Math.PI / 180;
        var dLat = Radians((double)lat - latitude);
        var dLon = Radians((double)lon - longitude);
        var a = Math.Pow(Math.Sin(dLat / 2), 2) + (Math.Cos(Radians(latitude)) * Math.Cos(Radians((double)lat)) * Math.Pow(Math.Sin(dLon / 2), 2));
        return 2 * EarthRadiusKm * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }
}

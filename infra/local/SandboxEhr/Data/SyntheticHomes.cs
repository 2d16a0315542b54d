using Hl7.Fhir.Model;

namespace SandboxEhr.Data;

/// <summary>
/// Where the synthetic patients live: made-up house numbers on real Portland streets, each with its position in FHIR's
/// geolocation extension (read off a map to about a block, not geocoded by a service), so an app can say how far a
/// therapist's practice is from the patient.
/// </summary>
public static class SyntheticHomes
{
    public const string GeolocationExtension = "http://hl7.org/fhir/StructureDefinition/geolocation";

    private static readonly Dictionary<string, (string Street, string PostalCode, decimal Latitude, decimal Longitude)> Homes = new(StringComparer.Ordinal)
    {
        [SyntheticIds.WorkersCompWristPatient] = ("2415 NE Alberta St", "97211", 45.5590m, -122.6412m),
        [SyntheticIds.AutoWhiplashPatient] = ("5130 SE Woodstock Blvd", "97206", 45.4790m, -122.6110m),
        [SyntheticIds.LymphedemaPatient] = ("1830 NW Lovejoy St", "97209", 45.5300m, -122.6898m),
        [SyntheticIds.PregnantPatient] = ("4210 SE Division St", "97206", 45.5048m, -122.6186m),
        [SyntheticIds.AnticoagulatedSciaticaPatient] = ("7020 N Lombard St", "97203", 45.5903m, -122.7510m),
        [SyntheticIds.FibromyalgiaPatient] = ("2940 SE Belmont St", "97214", 45.5164m, -122.6353m),
        [SyntheticIds.FrozenShoulderPatient] = ("8115 SE 13th Ave", "97202", 45.4650m, -122.6530m),
        [SyntheticIds.RunnerPatient] = ("3620 SW Corbett Ave", "97239", 45.4950m, -122.6770m),
    };

    /// <summary>The patient's home address with its position; a patient not listed lives at an address without one.</summary>
    public static Address Of(string patientId)
    {
        if (!Homes.TryGetValue(patientId, out var home))
        {
            return new Address { Line = ["100 Example Street"], City = "Portland", State = "OR", PostalCode = "97201", Country = "US" };
        }

        var address = new Address { Use = Address.AddressUse.Home, Line = [home.Street], City = "Portland", State = "OR", PostalCode = home.PostalCode, Country = "US" };
        address.Extension.Add(new Extension
        {
            Url = GeolocationExtension,
            Extension =
            [
                new Extension("latitude", new FhirDecimal(home.Latitude)),
                new Extension("longitude", new FhirDecimal(home.Longitude)),
            ],
        });
        return address;
    }
}

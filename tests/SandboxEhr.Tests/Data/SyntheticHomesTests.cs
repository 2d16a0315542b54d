using Hl7.Fhir.Model;
using SandboxEhr.Data;

namespace SandboxEhr.Tests.Data;

/// <summary>Where the synthetic patients live: what the referral form measures therapists' distances from.</summary>
public sealed class SyntheticHomesTests
{
    private static readonly IReadOnlyList<Patient> Patients = [.. SyntheticRecords.Create(new DateOnly(2026, 11, 23)).OfType<Patient>()];

    [Fact]
    public void Every_synthetic_patient_lives_at_an_address_of_their_own_in_portland_with_its_position_on_the_map()
    {
        Assert.Equal(8, Patients.Count);
        var homes = Patients.Select(p => Assert.Single(p.Address)).ToList();
        Assert.All(homes, home =>
        {
            Assert.Equal(("Portland", "OR"), (home.City, home.State));
            var geolocation = home.GetExtension(SyntheticHomes.GeolocationExtension);
            Assert.NotNull(geolocation);
            // Portland lies within a few tenths of a degree of 45.52 N, 122.68 W.
            Assert.InRange(geolocation.GetExtensionValue<FhirDecimal>("latitude").Value!.Value, 45.3m, 45.7m);
            Assert.InRange(geolocation.GetExtensionValue<FhirDecimal>("longitude").Value!.Value, -122.9m, -122.4m);
        });
        Assert.Equal(homes.Count, homes.Select(h => h.Line.Single()).Distinct().Count());
    }
}

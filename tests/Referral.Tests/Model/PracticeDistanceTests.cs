using Hl7.Fhir.Model;
using Referral.Model.Fhir;

namespace Referral.Tests.Model;

public sealed class PracticeDistanceTests
{
    private static PractitionerRole At(decimal? latitude, decimal? longitude) => new()
    {
        Contained = [new Location { Id = "practice", Position = latitude is null ? null : new Location.PositionComponent { Latitude = latitude, Longitude = longitude } }],
    };

    [Fact]
    public void One_degree_of_latitude_is_about_111_km_and_the_same_point_is_0()
    {
        Assert.Equal(111.19, PracticeDistance.Km(At(46m, -122.6m), 45, -122.6)!.Value, 2);
        Assert.Equal(0, PracticeDistance.Km(At(45.5238m, -122.6829m), 45.5238, -122.6829)!.Value, 6);
    }

    [Fact]
    public void Longitude_shrinks_with_latitude_one_degree_is_111_km_on_the_equator_and_half_that_at_60_degrees()
    {
        Assert.Equal(111.19, PracticeDistance.Km(At(0m, 1m), 0, 0)!.Value, 2);
        Assert.Equal(55.6, PracticeDistance.Km(At(60m, 1m), 60, 0)!.Value, 1);
    }

    [Fact]
    public void A_practice_without_a_position_has_no_distance()
    {
        Assert.Null(PracticeDistance.Km(At(null, null), 45, -122));
        Assert.Null(PracticeDistance.Km(new PractitionerRole(), 45, -122));
    }
}

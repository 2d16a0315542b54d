using Referral.Model.Terminology;

namespace Referral.Tests.Model;

/// <summary>CPT 97124 and 97140 are billed per 15 minutes by CMS's time-based 8-minute rule.</summary>
public sealed class BillableUnitsTests
{
    [Theory]
    [InlineData(7, 0)]
    [InlineData(8, 1)]
    [InlineData(22, 1)]
    [InlineData(23, 2)]
    [InlineData(37, 2)]
    [InlineData(38, 3)]
    [InlineData(15, 1)]
    [InlineData(60, 4)]
    [InlineData(0, 0)]
    public void A_session_bills_a_unit_per_full_15_minutes_and_one_more_for_8_minutes_or_more_left(int minutes, int units) =>
        Assert.Equal(units, MassageProcedures.BillableUnits(minutes));

    [Fact]
    public void Negative_minutes_are_refused_rather_than_billed() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MassageProcedures.BillableUnits(-1));
}

using Hl7.Fhir.Model;

namespace Referral.Model.Terminology;

/// <summary>The period of a session frequency ("2 per week").</summary>
public enum FrequencyUnit
{
    Day,
    Week,
    Month,
}

public static class FrequencyUnits
{
    /// <summary>UCUM codes, as Timing.repeat.periodUnit uses them (the units-of-time value set).</summary>
    public static ConceptMap<FrequencyUnit> Codes { get; } = new(new Dictionary<FrequencyUnit, Concept>
    {
        [FrequencyUnit.Day] = new Concept(Canonicals.Ucum, "d", "day"),
        [FrequencyUnit.Week] = new Concept(Canonicals.Ucum, "wk", "week"),
        [FrequencyUnit.Month] = new Concept(Canonicals.Ucum, "mo", "month"),
    });

    public static Timing.UnitsOfTime ToUnitsOfTime(FrequencyUnit unit) => unit switch
    {
        FrequencyUnit.Day => Timing.UnitsOfTime.D,
        FrequencyUnit.Week => Timing.UnitsOfTime.Wk,
        FrequencyUnit.Month => Timing.UnitsOfTime.Mo,
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit, null),
    };

    public static FrequencyUnit? FromUnitsOfTime(Timing.UnitsOfTime? unit) => unit switch
    {
        Timing.UnitsOfTime.D => FrequencyUnit.Day,
        Timing.UnitsOfTime.Wk => FrequencyUnit.Week,
        Timing.UnitsOfTime.Mo => FrequencyUnit.Month,
        _ => null,
    };

    /// <summary>A frequency in a physician's words: "once a week", "2 a week", "3 a day".</summary>
    public static string Describe(int times, FrequencyUnit unit) =>
        (times == 1 ? "once" : times.ToString(System.Globalization.CultureInfo.InvariantCulture)) + " a " + Codes.For(unit).Display;

    /// <summary>
    /// Days in one unit, for checking that the validity period can hold the sessions. A month counts as 30 days,
    /// which is what a physician means by "within a month".
    /// </summary>
    public static int Days(FrequencyUnit unit) => unit switch
    {
        FrequencyUnit.Day => 1,
        FrequencyUnit.Week => 7,
        FrequencyUnit.Month => 30,
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit, null),
    };
}

using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;

namespace Referral.Tests.Model;

public sealed class ValueSetExpanderTests
{
    private readonly ValueSetExpander expander = new(ModelFixtures.Time);

    private static string Conditions => ReferralValueSets.Conditions.Canonical;

    [Fact]
    public void A_three_letter_filter_finds_the_conditions_whose_words_start_with_it()
    {
        var expansion = Expansion(Conditions, "car");

        var codes = expansion.Contains.Select(c => c.Code).ToList();
        Assert.Equal(["G56.00", "G56.01", "G56.02", "G56.03", "57406009"], codes.Take(5));
        Assert.Equal(expansion.Total, expansion.Contains.Count);
        Assert.Contains(expansion.Parameter, p => p.Name == "filter" && p.Value?.ToString() == "car");
    }

    [Theory]
    [InlineData("CAR")]
    [InlineData("Car")]
    [InlineData("  car ")]
    public void The_filter_ignores_case_and_surrounding_space(string filter)
    {
        Assert.Equal(
            ValueSetExpander.Match(ReferralValueSets.Conditions, "car"),
            ValueSetExpander.Match(ReferralValueSets.Conditions, filter));
    }

    [Fact]
    public void Each_word_of_the_filter_must_start_a_word()
    {
        var matches = ValueSetExpander.Match(ReferralValueSets.Conditions, "tun car right");

        var match = Assert.Single(matches);
        Assert.Equal("G56.01", match.Code);
    }

    [Fact]
    public void A_synonym_finds_the_condition()
    {
        var codes = ValueSetExpander.Match(ReferralValueSets.Conditions, "tmj").Select(c => c.Code).ToList();

        Assert.Contains("M26.601", codes);
        Assert.Contains("41888000", codes);
        Assert.Contains("tennis elbow", MassageConditions.FindByKey("lateral-epicondylitis")!.Icd10Cm[0].Synonyms);
        Assert.Contains("M77.11", ValueSetExpander.Match(ReferralValueSets.Conditions, "tennis").Select(c => c.Code));
    }

    [Fact]
    public void A_code_prefix_finds_the_codes_and_ranks_them_first()
    {
        var codes = ValueSetExpander.Match(ReferralValueSets.Conditions, "M54.5").Select(c => c.Code).ToList();

        Assert.Equal(["M54.50", "M54.51", "M54.59"], codes.Take(3));
    }

    [Fact]
    public void Displays_that_start_with_the_filter_come_before_other_matches()
    {
        var displays = ValueSetExpander.Match(ReferralValueSets.Conditions, "low").Select(c => c.Display).ToList();

        var firstOther = displays.FindIndex(d => !d.StartsWith("low", StringComparison.OrdinalIgnoreCase));
        Assert.True(firstOther > 0);
        Assert.All(displays.Skip(firstOther), d => Assert.False(d.StartsWith("low", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public void Count_limits_the_concepts_but_total_counts_them_all()
    {
        var expansion = Expansion(Conditions, "pain", 5);

        Assert.Equal(5, expansion.Contains.Count);
        Assert.True(expansion.Total > 5);
        Assert.Contains(expansion.Parameter, p => p.Name == "count");
    }

    [Fact]
    public void No_filter_expands_the_whole_ValueSet()
    {
        var expansion = Expansion(ReferralValueSets.BodyRegionSet.Canonical);

        Assert.Equal(BodyRegions.Regions.Concepts.Count, expansion.Total);
        Assert.Equal(BodyRegions.Regions.Concepts.Select(c => c.Code), expansion.Contains.Select(c => c.Code));
        Assert.Empty(expansion.Parameter);
    }

    [Fact]
    public void A_filter_that_matches_nothing_expands_to_nothing()
    {
        var expansion = Expansion(Conditions, "xyzzy");

        Assert.Equal(0, expansion.Total);
        Assert.Empty(expansion.Contains);
    }

    [Fact]
    public void An_unknown_ValueSet_expands_to_null_and_a_versioned_canonical_is_found()
    {
        Assert.Null(expander.Expand("http://example.org/ValueSet/nope", "car"));
        Assert.NotNull(expander.Expand(Conditions + "|" + ReferralValueSets.Version, "car"));
    }

    [Fact]
    public void The_expansion_is_stamped_with_the_clock_and_carries_the_ValueSet_metadata()
    {
        var valueSet = expander.Expand(Conditions, "sci")!;

        Assert.Equal("2025-03-01T09:00:00+00:00", valueSet.Expansion?.Timestamp);
        Assert.StartsWith("urn:uuid:", valueSet.Expansion?.Identifier, StringComparison.Ordinal);
        Assert.Equal(Conditions, valueSet.Url);
        Assert.Null(valueSet.Compose);
    }

    [Fact]
    public void An_expansion_serializes_and_parses_back_strictly()
    {
        var valueSet = expander.Expand(Conditions, "sci", count: 10)!;

        var json = FhirJson.Serialize(valueSet);

        Assert.True(FhirJson.TryParse<ValueSet>(json, out var parsed, out var outcome), FhirJson.Serialize(outcome));
        Assert.True(PocoEqualityComparisons.IsExactly(valueSet, parsed!));
    }

    private ValueSet.ExpansionComponent Expansion(string canonical, string? filter = null, int? count = null)
    {
        var expansion = expander.Expand(canonical, filter, count)?.Expansion;
        Assert.NotNull(expansion);
        return expansion;
    }

    [Fact]
    public void A_body_region_type_ahead_finds_lay_words()
    {
        Assert.Equal(["52612000"], ValueSetExpander.Match(ReferralValueSets.BodyRegionSet, "lower back").Select(c => c.Code));
        Assert.Contains(Canonicals.Snomed, ValueSetExpander.Match(ReferralValueSets.BodyRegionSet, "calf").Select(c => c.System));
    }
}

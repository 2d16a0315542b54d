using Hl7.Fhir.Model;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Conformance;

/// <summary>The outsider's check the journey relies on finds what FHIR forbids, and passes what it allows.</summary>
public sealed class FhirSpecTests
{
    private static Observation Pain() => new()
    {
        Id = "o1",
        Status = ObservationStatus.Final,
        Code = new CodeableConcept("http://loinc.org", "72514-3"),
        Subject = new ResourceReference("Patient/p1"),
        Value = new Quantity(4, "{score}", "http://unitsofmeasure.org"),
    };

    [Fact]
    public void A_well_formed_Observation_has_no_errors()
    {
        Assert.Empty(FhirSpec.Errors(Pain()));
    }

    [Fact]
    public void An_unreferenced_contained_resource_breaks_dom_3()
    {
        var observation = Pain();
        observation.Contained.Add(new Patient { Id = "stray" });

        Assert.Contains(FhirSpec.Errors(observation), e => e.Contains("dom-3", StringComparison.Ordinal));
    }

    [Fact]
    public void A_resource_without_its_required_elements_is_reported()
    {
        var observation = Pain();
        observation.Code = null!;

        Assert.NotEmpty(FhirSpec.Errors(observation));
    }
}

using Referral.Model.Fhir;

namespace Referral.Tests.Model;

public sealed class LaunchReferencesTests
{
    private const string Ehr = "https://ehr.example:443/fhir/r4";

    [Theory]
    [InlineData("Patient/p1")]
    [InlineData("Patient/p1/_history/2")]
    [InlineData("#coverage")]
    [InlineData("https://ehr.example/fhir/r4/Patient/p1")]
    [InlineData("https://EHR.example:443/fhir/r4/Patient/p1")]
    [InlineData("HTTPS://ehr.example/fhir/r4/Condition/c-1.2/_history/3")]
    public void A_relative_contained_or_launching_EHR_reference_resolves_there(string reference) =>
        Assert.True(LaunchReferences.ResolvesTo(reference, Ehr + "/"));

    [Theory]
    [InlineData("https://elsewhere.example/fhir/r4/Patient/p1")]
    [InlineData("https://ehr.example/fhir/R4/Patient/p1")]
    [InlineData("https://ehr.example:8443/fhir/r4/Patient/p1")]
    [InlineData("http://ehr.example/fhir/r4/Patient/p1")]
    [InlineData("https://ehr.example/fhir/r4/x/Patient/p1")]
    [InlineData("https://ehr.example/fhir/Patient/p1")]
    [InlineData("https://user@ehr.example/fhir/r4/Patient/p1")]
    [InlineData("https://ehr.example/fhir/r4/Patient/p1?x=1")]
    [InlineData("urn:uuid:6f1c1c1e-0a5b-4a43-9b8e-2d0c2f1f0a11")]
    [InlineData("//elsewhere.example/fhir/Patient/p1")]
    [InlineData("/Patient/p1")]
    [InlineData("../Patient/p1")]
    [InlineData("patient/p1")]
    [InlineData("#")]
    [InlineData("Patient/p1/extra")]
    public void Any_other_reference_does_not(string reference) =>
        Assert.False(LaunchReferences.ResolvesTo(reference, Ehr));
}

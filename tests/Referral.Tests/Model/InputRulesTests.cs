using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using R = Referral.Model.Fhir.ValidationRules;

namespace Referral.Tests.Model;

public sealed class InputRulesTests
{
    private static List<(string? Rule, string? Expression)> Problems(Resource resource) =>
        [.. InputRules.Check(resource).Select(i => (i.RuleOf(), i.Expression.SingleOrDefault()))];

    [Fact]
    public void The_builders_referral_keeps_every_rule_of_input() => Assert.Empty(Problems(ModelFixtures.Referral()));

    [Theory]
    [InlineData('\u0000')]
    [InlineData('\u0007')]
    [InlineData('\u001B')]
    [InlineData('\u001F')]
    public void A_control_character_anywhere_is_named_by_its_element(char control)
    {
        var referral = ModelFixtures.Referral();
        referral.Note.Add(new Annotation { Text = $"Numb{control}ness" });
        ((Coverage)referral.Contained[0]).Payor[0].Display = $"State{control}Fund";

        Assert.Equal(
            [(R.StringCharacters, "ServiceRequest.contained[0].payor[0].display"), (R.StringCharacters, $"ServiceRequest.note[{referral.Note.Count - 1}].text")],
            Problems(referral));
    }

    [Fact]
    public void Tab_carriage_return_and_line_feed_are_text_and_a_lone_surrogate_is_not()
    {
        Assert.Equal(-1, InputRules.IndexOfForbiddenCharacter("line one\r\n\tline two \U0001F600"));
        Assert.Equal(1, InputRules.IndexOfForbiddenCharacter("a\uD800b"));
        Assert.Equal(1, InputRules.IndexOfForbiddenCharacter("a\uDC00"));
        Assert.Equal(0, InputRules.IndexOfForbiddenCharacter("\u0000"));
    }

    [Fact]
    public void An_unreferenced_contained_resource_with_a_script_is_refused_by_dom_3_and_for_its_markup()
    {
        var referral = ModelFixtures.Referral();
        referral.Contained.Add(new Patient
        {
            Id = "evil",
            Name = [new HumanName { Text = "<script>alert(1)</script>" }],
            Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></div>" },
        });

        Assert.Equal(
            [(R.PlainText, "ServiceRequest.contained[1].text"), (R.PlainText, "ServiceRequest.contained[1].name[0].text"), (R.ContainedUnreferenced, "ServiceRequest.contained[1]")],
            Problems(referral));
    }

    [Fact]
    public void A_contained_resource_referenced_from_elsewhere_keeps_dom_3()
    {
        var referral = ModelFixtures.Referral();
        referral.Contained.Add(new Patient { Id = "p" });
        referral.SupportingInfo.Add(new ResourceReference("#p"));

        Assert.Empty(Problems(referral));
    }

    [Fact]
    public void Dom_2_4_and_5_name_the_contained_resource_at_fault()
    {
        var referral = ModelFixtures.Referral();
        var coverage = (Coverage)referral.Contained[0];
        coverage.Contained.Add(new Organization { Id = "o" });
        coverage.Meta = new Meta { VersionId = "3", Security = [new Coding("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")] };

        Assert.Equal(
            [(R.ContainedNested, "ServiceRequest.contained[0].contained"), (R.ContainedMeta, "ServiceRequest.contained[0].meta"),
                (R.ContainedSecurity, "ServiceRequest.contained[0].meta.security")],
            Problems(referral).Where(p => p.Rule != R.ContainedUnreferenced).ToList());
    }

    [Fact]
    public void A_parameter_is_named_by_its_name_as_the_operations_name_it()
    {
        var parameters = new Parameters();
        parameters.Add("note", new FhirString("a\u0007b"));
        parameters.Add("bodySite", new CodeableConcept { Text = "ok" });
        parameters.Add("bodySite", new CodeableConcept { Text = "<b>wrist</b>" });
        parameters.Parameter.Add(new Parameters.ParameterComponent
        {
            Name = "functionalScore",
            Part = [new Parameters.ParameterComponent { Name = "instrument", Value = new Coding("http://x.example", "q\u001B") }],
        });

        Assert.Equal(
            [
                (R.StringCharacters, "Parameters.parameter.where(name='note').value"),
                (R.PlainText, "Parameters.parameter.where(name='bodySite')[1].value.text"),
                (R.StringCharacters, "Parameters.parameter.where(name='functionalScore').part.where(name='instrument').value.code"),
            ],
            Problems(parameters));
    }

    [Fact]
    public void The_profile_allows_only_the_coverage_the_insurance_references()
    {
        var referral = ModelFixtures.Referral();
        referral.Contained.Add(new Patient { Id = "p" });
        referral.SupportingInfo.Add(new ResourceReference("#p"));

        var outcome = ModelFixtures.Validator().Validate(referral, ModelFixtures.TrainingOf);

        Assert.Equal(ModelFixtures.Expect((R.ContainedNotAllowed, "ServiceRequest.contained[1]")), ModelFixtures.Problems(outcome));
    }
}

using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Conformance;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Model.Terminology;

namespace Referral.Tests.Model;

public sealed class ConformanceTests
{
    [Fact]
    public void Every_ValueSet_serializes_and_parses_back_strictly()
    {
        foreach (var valueSet in ConformanceArtifacts.ValueSets())
        {
            var json = FhirJson.Serialize(valueSet);

            Assert.True(FhirJson.TryParse<ValueSet>(json, out var parsed, out var outcome), FhirJson.Serialize(outcome));
            Assert.True(PocoEqualityComparisons.IsExactly(valueSet, parsed!));
        }
    }

    [Fact]
    public void The_ValueSet_resources_hold_exactly_the_catalog_concepts()
    {
        foreach (var definition in ReferralValueSets.All)
        {
            var valueSet = ReferralValueSets.ToValueSet(definition);

            var codes = valueSet.Compose!.Include.SelectMany(i => i.Concept.Select(c => (i.System, c.Code, c.Display)));
            Assert.Equal(definition.Concepts.Select(c => ((string?)c.System, (string?)c.Code, (string?)c.Display)).Order(), codes.Order());
            Assert.Equal(definition.Canonical, valueSet.Url);
            Assert.Equal(PublicationStatus.Active, valueSet.Status);
        }
    }

    [Fact]
    public void Synonyms_are_ValueSet_designations()
    {
        var valueSet = ReferralValueSets.ToValueSet(ReferralValueSets.Conditions);

        var carpal = valueSet.Compose!.Include.Single(i => i.System == Canonicals.Icd10Cm).Concept.Single(c => c.Code == "G56.01");
        Assert.Contains(carpal.Designation, d => d.Value == "CTS" && d.Use?.Code == "900000000000013009");
    }

    [Fact]
    public void Every_local_CodeSystem_serializes_parses_back_and_holds_every_code_the_model_uses()
    {
        var codeSystems = ConformanceArtifacts.CodeSystems();

        foreach (var codeSystem in codeSystems)
        {
            Assert.True(FhirJson.TryParse<CodeSystem>(FhirJson.Serialize(codeSystem), out var parsed, out var outcome), FhirJson.Serialize(outcome));
            Assert.True(PocoEqualityComparisons.IsExactly(codeSystem, parsed!));
            Assert.Equal(codeSystem.Concept.Count, codeSystem.Count);
            Assert.NotEmpty(codeSystem.Concept);
        }

        var local = ConformanceArtifacts.LocalConcepts().Where(c => c.System.StartsWith(Canonicals.Base, StringComparison.Ordinal));
        Assert.All(local, concept =>
        {
            var system = Assert.Single(codeSystems, cs => cs.Url == concept.System);
            Assert.Contains(system.Concept, c => c.Code == concept.Code && c.Display == concept.Display);
        });
    }

    [Fact]
    public void The_local_CodeSystems_are_the_six_local_systems()
    {
        string[] expected =
        [
            Canonicals.MassageTechniqueSystem, Canonicals.OutcomeMeasureSystem, Canonicals.PrecautionSystem,
            Canonicals.TaskOutputTypeSystem, Canonicals.TherapistTrainingSystem, Canonicals.ValidationRuleSystem,
        ];

        Assert.Equal(expected.Order(StringComparer.Ordinal), ConformanceArtifacts.CodeSystems().Select(c => c.Url).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_rule_the_validator_can_raise_is_in_the_validation_rule_CodeSystem()
    {
        var rules = typeof(ValidationRules).GetFields()
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();
        var system = ConformanceArtifacts.CodeSystems().Single(c => c.Url == Canonicals.ValidationRuleSystem);

        Assert.Equal(rules.Order(), system.Concept.Select(c => c.Code).Order());
    }

    [Fact]
    public void The_CapabilityStatement_declares_the_profile_and_ValueSet_expand()
    {
        var statement = ConformanceArtifacts.CreateCapabilityStatement(ModelFixtures.Now, "https://functions.example/api/fhir");

        var rest = Assert.Single(statement.Rest);
        var serviceRequest = Assert.Single(rest.Resource, r => r.Type == "ServiceRequest");
        Assert.Equal([MedicalMassageServiceRequest.Profile], serviceRequest.SupportedProfile);
        Assert.Contains(serviceRequest.Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.Create);
        var valueSet = Assert.Single(rest.Resource, r => r.Type == "ValueSet");
        Assert.Equal("http://hl7.org/fhir/OperationDefinition/ValueSet-expand", Assert.Single(valueSet.Operation).Definition);
        Assert.Equal(["CodeSystem", "Observation", "Procedure", "ServiceRequest", "Task", "ValueSet"], rest.Resource.Select(r => r.Type).Order());
        Assert.Equal(FHIRVersion.N4_0_1, statement.FhirVersion);
        Assert.Equal("2025-03-01T09:00:00+00:00", statement.Date);
        Assert.Equal("https://functions.example/api/fhir", statement.Implementation?.Url);
    }

    [Fact]
    public void The_CapabilityStatement_serializes_and_parses_back_strictly()
    {
        var statement = ConformanceArtifacts.CreateCapabilityStatement(ModelFixtures.Now);

        Assert.True(FhirJson.TryParse<CapabilityStatement>(FhirJson.Serialize(statement), out var parsed, out var outcome), FhirJson.Serialize(outcome));
        Assert.True(PocoEqualityComparisons.IsExactly(statement, parsed!));
    }

    [Fact]
    public void The_validator_accepts_exactly_the_codes_the_ValueSets_publish()
    {
        // One source: every condition code in the published ValueSet is accepted as a diagnosis, and a code
        // taken out of it is not.
        var validator = ModelFixtures.Validator();
        foreach (var icd in ReferralValueSets.Conditions.Concepts.Where(c => c.System == Canonicals.Icd10Cm))
        {
            var request = ModelFixtures.Referral();
            request.ReasonCode[0] = new CodeableConcept(icd.System, icd.Code);
            request.Performer[0] = new ResourceReference(ModelFixtures.OncologyTherapist);

            var problems = validator.Validate(request, reference => [.. Enum.GetValues<TherapistTraining>()]).Problems();

            Assert.DoesNotContain(problems, p => p.RuleOf() is ValidationRules.DiagnosisUnknown);
        }

        foreach (var region in ReferralValueSets.BodyRegionSet.Concepts)
        {
            Assert.True(BodyRegions.Regions.TryFind(region.System, region.Code, out _));
        }

        Assert.Equal(ReferralTaskStates.BusinessStatusConcepts, ReferralValueSets.TaskBusinessStatusSet.Concepts);
    }
}

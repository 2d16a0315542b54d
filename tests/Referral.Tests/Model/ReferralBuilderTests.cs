using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.Tests.Model;

public sealed class ReferralBuilderTests
{
    [Fact]
    public void A_built_referral_serializes_parses_back_strictly_and_validates_with_no_issues()
    {
        var built = ModelFixtures.Referral();

        var json = FhirJson.Serialize(built);
        var result = ModelFixtures.Validator().Validate(json, ModelFixtures.TrainingOf);

        Assert.True(result.Parsed, FhirJson.Serialize(result.Outcome));
        Assert.Empty(result.Outcome.Problems());
        Assert.True(result.IsValid);
        Assert.True(PocoEqualityComparisons.IsExactly(built, result.Request!));
        var info = Assert.Single(result.Outcome.Issue);
        Assert.Equal(OperationOutcome.IssueSeverity.Information, info.Severity);
    }

    [Fact]
    public void The_referral_carries_the_fixed_parts_of_the_profile()
    {
        var request = ModelFixtures.Referral();

        Assert.Equal([Canonicals.MedicalMassageServiceRequestProfile], request.Meta!.Profile);
        Assert.Equal(RequestStatus.Active, request.Status);
        Assert.Equal(RequestIntent.Order, request.Intent);
        Assert.Equal(("http://snomed.info/sct", "3457005"), CodeOf(Assert.Single(request.Category)));
        Assert.Equal(("http://snomed.info/sct", "1172950003"), CodeOf(request.PerformerType!));
        Assert.Equal("2025-03-01T09:00:00+00:00", request.AuthoredOn);
    }

    [Fact]
    public void The_placer_identifier_is_the_drafts_id_so_a_retry_is_recognised()
    {
        var identifier = Assert.Single(ModelFixtures.Referral().Identifier);

        Assert.Equal(Canonicals.PlacerIdentifierSystem, identifier.System);
        Assert.Equal(ModelFixtures.Draft().PlacerId, identifier.Value);
        Assert.Equal("PLAC", identifier.Type!.Coding[0].Code);
    }

    [Fact]
    public void Massage_therapy_is_coded_in_CPT_and_SNOMED_and_manual_therapy_in_CPT()
    {
        var massage = ModelFixtures.Referral().Code!.Coding.Select(c => (c.System, c.Code));
        var manual = new ReferralBuilder(ModelFixtures.Time).Build(ModelFixtures.Draft() with { Procedure = MassageProcedure.ManualTherapy })
            .Code!.Coding.Select(c => (c.System, c.Code));

        Assert.Equal([(Canonicals.Cpt, "97124"), (Canonicals.Snomed, "387854002")], massage);
        Assert.Equal([(Canonicals.Cpt, "97140")], manual);
    }

    [Fact]
    public void A_diagnosis_carries_its_ICD_10_CM_and_SNOMED_codes_and_its_problem_list_entry()
    {
        var request = ModelFixtures.Referral();

        var reason = Assert.Single(request.ReasonCode);
        Assert.Equal([(Canonicals.Icd10Cm, "G56.01"), (Canonicals.Snomed, "57406009")], reason.Coding.Select(c => (c.System, c.Code)));
        Assert.Equal("Carpal tunnel syndrome, right upper limb", reason.Coding[0].Display);
        Assert.Equal("Carpal tunnel syndrome", reason.Text);
        Assert.Equal("Condition/c1", Assert.Single(request.ReasonReference).Reference);
    }

    [Fact]
    public void An_unknown_diagnosis_is_kept_as_given_for_the_validator_to_name()
    {
        var request = new ReferralBuilder(ModelFixtures.Time).Build(ModelFixtures.Draft() with { Diagnoses = [new Diagnosis("J45.909")] });

        var coding = Assert.Single(Assert.Single(request.ReasonCode).Coding);
        Assert.Equal((Canonicals.Icd10Cm, "J45.909", null), (coding.System, coding.Code, coding.Display));
        Assert.Empty(request.ReasonReference);
    }

    [Fact]
    public void Body_sites_carry_their_laterality()
    {
        var sites = ModelFixtures.Referral().BodySite;

        Assert.Equal(["Right wrist joint", "Right hand"], sites.Select(s => s.Text));
        Assert.All(sites, s => Assert.Equal("24028007", Assert.IsType<CodeableConcept>(s.GetExtension(Canonicals.LateralityExtension)?.Value).Coding[0].Code));
    }

    [Fact]
    public void The_timing_holds_sessions_frequency_minutes_and_validity()
    {
        var repeat = Assert.IsType<Timing>(ModelFixtures.Referral().Occurrence).Repeat!;

        Assert.Equal(8, repeat.Count);
        Assert.Equal(2, repeat.Frequency);
        Assert.Equal(1m, repeat.Period);
        Assert.Equal(Timing.UnitsOfTime.Wk, repeat.PeriodUnit);
        Assert.Equal(45m, repeat.Duration);
        Assert.Equal(Timing.UnitsOfTime.Min, repeat.DurationUnit);
        var bounds = Assert.IsType<Period>(repeat.Bounds);
        Assert.Equal(("2025-03-01", "2025-04-30"), (bounds.Start, bounds.End));
    }

    [Fact]
    public void Precautions_performer_notes_and_supporting_info_are_carried()
    {
        var request = ModelFixtures.Referral();

        Assert.Equal("anticoagulants", Assert.Single(Assert.Single(request.OrderDetail).Coding).Code);
        Assert.Equal("PractitionerRole/t1", Assert.Single(request.Performer).Reference);
        Assert.Equal(ModelFixtures.Draft().Note, Assert.Single(request.Note).Text);
        Assert.Equal(ModelFixtures.Draft().HomeCare, request.PatientInstruction);
        Assert.Equal("DiagnosticReport/emg1", Assert.Single(request.SupportingInfo).Reference);
    }

    [Fact]
    public void Coverage_is_contained_with_its_type_payor_and_claim_number()
    {
        var request = ModelFixtures.Referral();

        Assert.Equal("#coverage", Assert.Single(request.Insurance).Reference);
        var coverage = Assert.IsType<Coverage>(Assert.Single(request.Contained));
        Assert.Equal("coverage", coverage.Id);
        Assert.Equal("WCBPOL", coverage.Type!.Coding[0].Code);
        Assert.Equal("Patient/p1", coverage.Beneficiary.Reference);
        Assert.Equal("State Fund", Assert.Single(coverage.Payor).Display);
        var claim = Assert.Single(coverage.Identifier);
        Assert.Equal((Canonicals.ClaimNumberSystem, "WC-2025-0042"), (claim.System, claim.Value));
    }

    [Fact]
    public void A_draft_without_coverage_notes_or_precautions_leaves_them_out()
    {
        var request = new ReferralBuilder(ModelFixtures.Time).Build(ModelFixtures.Draft() with
        {
            Coverage = null,
            Note = " ",
            HomeCare = null,
            Precautions = [],
            SupportingInfo = [],
        });

        Assert.Empty(request.Contained);
        Assert.Empty(request.Insurance);
        Assert.Empty(request.Note);
        Assert.Null(request.PatientInstruction);
        Assert.Empty(request.OrderDetail);
        Assert.Empty(ModelFixtures.Validator().Validate(request, ModelFixtures.TrainingOf).Problems());
    }

    [Fact]
    public void A_payor_organization_is_referenced_with_its_name()
    {
        var request = new ReferralBuilder(ModelFixtures.Time).Build(ModelFixtures.Draft() with
        {
            Coverage = new CoverageDraft { Type = CoverageType.HealthPlan, PayorName = "Acme Health", Payor = new ResourceRef("Organization/acme"), SubscriberId = "M-1" },
        });

        var coverage = Assert.IsType<Coverage>(Assert.Single(request.Contained));
        Assert.Equal(("Organization/acme", "Acme Health"), (coverage.Payor[0].Reference, coverage.Payor[0].Display));
        Assert.Equal("M-1", coverage.SubscriberId);
        Assert.Empty(coverage.Identifier);
        Assert.Empty(ModelFixtures.Validator().Validate(request, ModelFixtures.TrainingOf).Problems());
    }

    [Fact]
    public void An_absolute_fhirUser_reference_is_a_valid_requester()
    {
        var request = new ReferralBuilder(ModelFixtures.Time).Build(ModelFixtures.Draft() with
        {
            Requester = new ResourceRef("https://ehr.example/fhir/PractitionerRole/pr-9"),
        });

        Assert.Empty(ModelFixtures.Validator().Validate(request, ModelFixtures.TrainingOf).Problems());
    }

    private static (string?, string?) CodeOf(CodeableConcept concept) => (concept.Coding[0].System, concept.Coding[0].Code);
}

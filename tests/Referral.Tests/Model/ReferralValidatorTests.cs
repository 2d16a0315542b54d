using System.Text.Json.Nodes;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;
using R = Referral.Model.Fhir.ValidationRules;

namespace Referral.Tests.Model;

public sealed class ReferralValidatorTests
{
    private const string Repeat = "ServiceRequest.occurrence.repeat";
    private const string TzCode = ".extension('" + PracticeTime.TzCodeExtension + "')";
    private const string LateralityAt0 = "ServiceRequest.bodySite[0].extension('" + Canonicals.LateralityExtension + "')";

    /// <summary>
    /// Each case breaks the good referral in one way and names exactly the (rule, FHIRPath) problems expected.
    /// An empty expectation means the variant is still valid.
    /// </summary>
    private static readonly Dictionary<string, (Action<ServiceRequest> Break, (string Rule, string Expression)[] Expected)> Cases = new()
    {
        ["status is draft"] = (r => r.Status = RequestStatus.Draft, [(R.Status, "ServiceRequest.status")]),
        ["intent is plan"] = (r => r.Intent = RequestIntent.Plan, [(R.Profile, "ServiceRequest.intent")]),
        ["do not perform"] = (r => r.DoNotPerform = true, [(R.Profile, "ServiceRequest.doNotPerform")]),
        ["no placer identifier"] = (r => r.Identifier.Clear(), [(R.Profile, "ServiceRequest.identifier"), (R.Profile, "ServiceRequest.identifier")]),
        ["placer identifier without value"] = (r => r.Identifier[0].Value = null!, [(R.Profile, "ServiceRequest.identifier")]),
        ["no referral category"] = (r => r.Category.Clear(), [(R.Profile, "ServiceRequest.category"), (R.Profile, "ServiceRequest.category")]),
        ["no code"] = (r => r.Code = null, [(R.Profile, "ServiceRequest"), (R.Profile, "ServiceRequest.code")]),
        ["unknown procedure code"] = (r => r.Code = new CodeableConcept(Canonicals.Cpt, "97110"), [(R.CodeUnknown, "ServiceRequest.code.coding[0]")]),
        ["second code unknown"] = (r => r.Code!.Coding[1].Code = "1234", [(R.CodeUnknown, "ServiceRequest.code.coding[1]")]),
        ["no subject"] = (r => r.Subject = null!, [(R.Profile, "ServiceRequest.subject")]),
        ["subject is a group"] = (r => r.Subject = new ResourceReference("Group/g1"), [(R.SubjectType, "ServiceRequest.subject")]),
        ["no requester"] = (r => r.Requester = null, [(R.Profile, "ServiceRequest.requester")]),
        ["requester is the patient"] = (r => r.Requester = new ResourceReference("Patient/p1"), [(R.RequesterType, "ServiceRequest.requester")]),
        ["requester is a PractitionerRole"] = (r => r.Requester = new ResourceReference("PractitionerRole/pr1"), []),
        ["no authoredOn"] = (r => r.AuthoredOn = null, [(R.Profile, "ServiceRequest.authoredOn")]),
        ["authored tomorrow"] = (r => r.AuthoredOn = "2025-03-02T09:00:00+00:00", [(R.AuthoredOnFuture, "ServiceRequest.authoredOn")]),
        ["authored within clock skew"] = (r => r.AuthoredOn = "2025-03-01T09:04:00+00:00", []),
        ["no diagnosis"] = (r => r.ReasonCode.Clear(), [(R.Profile, "ServiceRequest.reasonCode")]),
        ["diagnosis without ICD-10-CM"] = (r => r.ReasonCode[0].Coding.RemoveAt(0), [(R.Profile, "ServiceRequest.reasonCode[0]")]),
        ["unknown ICD-10-CM code"] = (r => r.ReasonCode[0].Coding[0] = new Coding(Canonicals.Icd10Cm, "J45.909"), [(R.DiagnosisUnknown, "ServiceRequest.reasonCode[0].coding[0]")]),
        ["diagnosis text only"] = (r => r.ReasonCode[0].Coding.Clear(), [(R.Profile, "ServiceRequest.reasonCode[0]")]),
        ["codes of two conditions in one diagnosis"] = (r => r.ReasonCode[0].Coding[1] = new Coding(Canonicals.Snomed, "23056005"),
            [(R.DiagnosisCodesDisagree, "ServiceRequest.reasonCode[0].coding[1]")]),
        ["same diagnosis twice"] = (r => r.ReasonCode.Add((CodeableConcept)r.ReasonCode[0].DeepCopy()), [(R.DiagnosisDuplicate, "ServiceRequest.reasonCode[1]")]),
        ["both sides of carpal tunnel"] = (r => r.ReasonCode.Add(new CodeableConcept(Canonicals.Icd10Cm, "G56.02")),
            [(R.DiagnosisLaterality, "ServiceRequest.reasonCode[1]")]),
        ["diagnosis reference to an Observation"] = (r => r.ReasonReference[0] = new ResourceReference("Observation/o1"),
            [(R.ConditionReferenceType, "ServiceRequest.reasonReference[0]")]),
        ["no body site"] = (r => r.BodySite.Clear(), [(R.Profile, "ServiceRequest.bodySite")]),
        ["unknown body site code"] = (r => r.BodySite[1].Coding[0].Code = "12345", [(R.BodySiteUnknown, "ServiceRequest.bodySite[1].coding[0]")]),
        ["body site without a code"] = (r => r.BodySite[1].Coding.Clear(), [(R.BodySiteUnknown, "ServiceRequest.bodySite[1]")]),
        ["paired region without laterality"] = (r => r.BodySite[0].Extension.Clear(), [(R.LateralityMissing, "ServiceRequest.bodySite[0]")]),
        ["midline region with laterality"] = (r => r.BodySite.Add(WithLaterality(BodyRegion.Neck, "7771000")),
            [(R.LateralityNotApplicable, "ServiceRequest.bodySite[2].extension('" + Canonicals.LateralityExtension + "')")]),
        ["midline region without laterality"] = (r => r.BodySite.Add(BodyRegions.ToCodeableConcept(new BodyArea(BodyRegion.Neck))), []),
        ["unknown laterality"] = (r => r.BodySite[0].Extension[0].Value = new CodeableConcept(Canonicals.Snomed, "999"), [(R.LateralityUnknown, LateralityAt0)]),
        ["two lateralities"] = (r => r.BodySite[0].Extension.Add((Extension)r.BodySite[0].Extension[0].DeepCopy()), [(R.LateralityUnknown, LateralityAt0)]),
        ["same body site twice"] = (r => r.BodySite.Add((CodeableConcept)r.BodySite[0].DeepCopy()), [(R.BodySiteDuplicate, "ServiceRequest.bodySite[2]")]),
        ["sessions on the left for a right-sided diagnosis"] = (r =>
            {
                r.BodySite[0] = WithLaterality(BodyRegion.Wrist, "7771000");
                r.BodySite[1] = WithLaterality(BodyRegion.Hand, "7771000");
            },
            [(R.DiagnosisLaterality, "ServiceRequest.reasonCode[0]")]),
        ["wrong display"] = (r => r.BodySite[0].Coding[0].Display = "Wristy", [(R.DisplayMismatch, "ServiceRequest.bodySite[0].coding[0].display")]),
        ["display in another case"] = (r => r.BodySite[0].Coding[0].Display = "WRIST JOINT", []),
        ["occurrence is a dateTime"] = (r => r.Occurrence = new FhirDateTime("2025-03-05"), [(R.Profile, Repeat), (R.Profile, Repeat + ".bounds.start")]),
        ["no occurrence"] = (r => r.Occurrence = null, [(R.Profile, "ServiceRequest.occurrence"), (R.Profile, Repeat + ".bounds.start")]),
        ["timing without repeat"] = (r => r.Occurrence = new Timing(),
            [
                (R.Profile, "ServiceRequest.occurrence"), (R.Profile, Repeat), (R.Profile, Repeat + ".bounds.start"), (R.ValidityMissing, Repeat + ".bounds"),
            ]),
        ["no session count"] = (r => RepeatOf(r).Count = null, [(R.Profile, Repeat + ".count")]),
        ["zero sessions"] = (r => RepeatOf(r).Count = 0, [(R.Profile, Repeat + ".count"), (R.Profile, Repeat + ".count")]),
        ["53 sessions"] = (r => RepeatOf(r).Count = 53, [(R.Profile, Repeat + ".count")]),
        ["one session"] = (r => RepeatOf(r).Count = 1, []),
        ["no frequency"] = (r => RepeatOf(r).Frequency = null, [(R.Profile, Repeat + ".frequency")]),
        ["frequency zero"] = (r => RepeatOf(r).Frequency = 0, [(R.FrequencyInvalid, Repeat + ".frequency"), (R.Profile, Repeat + ".frequency")]),
        ["no period"] = (r => RepeatOf(r).Period = null, [(R.Profile, Repeat + ".period")]),
        ["period zero"] = (r => RepeatOf(r).Period = 0, [(R.FrequencyInvalid, Repeat + ".period")]),
        ["no period unit"] = (r => RepeatOf(r).PeriodUnit = null, [(R.Profile, Repeat), (R.Profile, Repeat + ".periodUnit")]),
        ["period in hours"] = (r => RepeatOf(r).PeriodUnit = Timing.UnitsOfTime.H, [(R.FrequencyInvalid, Repeat + ".periodUnit")]),
        ["eight a week"] = (r => RepeatOf(r).Frequency = 8, [(R.FrequencyTooHigh, Repeat + ".frequency")]),
        ["seven a week"] = (r => RepeatOf(r).Frequency = 7, []),
        ["two a month"] = (r => (RepeatOf(r).Frequency, RepeatOf(r).PeriodUnit, RepeatOf(r).Count) = (2, Timing.UnitsOfTime.Mo, 4), []),
        ["no minutes"] = (r => RepeatOf(r).Duration = null, [(R.Profile, Repeat + ".duration")]),
        ["minutes in seconds"] = (r => RepeatOf(r).DurationUnit = Timing.UnitsOfTime.S, [(R.MinutesMissing, Repeat + ".durationUnit")]),
        ["no minutes unit"] = (r => RepeatOf(r).DurationUnit = null, [(R.Profile, Repeat), (R.Profile, Repeat + ".durationUnit")]),
        ["ten minutes"] = (r => RepeatOf(r).Duration = 10, [(R.MinutesRange, Repeat + ".duration")]),
        ["121 minutes"] = (r => RepeatOf(r).Duration = 121, [(R.MinutesRange, Repeat + ".duration")]),
        ["two hours"] = (r => (RepeatOf(r).Duration, RepeatOf(r).DurationUnit) = (2, Timing.UnitsOfTime.H), []),
        ["three hours"] = (r => (RepeatOf(r).Duration, RepeatOf(r).DurationUnit) = (3, Timing.UnitsOfTime.H), [(R.MinutesRange, Repeat + ".duration")]),
        ["no validity"] = (r => RepeatOf(r).Bounds = null, [(R.Profile, Repeat + ".bounds"), (R.Profile, Repeat + ".bounds.start"), (R.ValidityMissing, Repeat + ".bounds")]),
        ["validity as a duration"] = (r => RepeatOf(r).Bounds = new Duration { Value = 60, Unit = "d" },
            [(R.Profile, Repeat + ".bounds"), (R.Profile, Repeat + ".bounds.start"), (R.ValidityMissing, Repeat + ".bounds")]),
        ["no validity start"] = (r => BoundsOf(r).Start = null, [(R.Profile, Repeat + ".bounds.start"), (R.ValidityMissing, Repeat + ".bounds.start")]),
        ["no validity end"] = (r => BoundsOf(r).End = null, [(R.ValidityMissing, Repeat + ".bounds.end")]),
        ["validity to the month only"] = (r => BoundsOf(r).End = "2025-04", [(R.ValidityMissing, Repeat + ".bounds.end")]),
        ["validity with times"] = (r => (BoundsOf(r).Start, BoundsOf(r).End) = ("2025-03-01T00:00:00+01:00", "2025-04-30T23:59:59+01:00"), []),
        ["validity ends before it starts"] = (r => (BoundsOf(r).Start, BoundsOf(r).End) = ("2025-04-30", "2025-03-02"),
            [(R.Profile, Repeat + ".bounds"), (R.ValidityOrder, Repeat + ".bounds.end")]),
        ["validity already over"] = (r => (BoundsOf(r).Start, BoundsOf(r).End) = ("2025-01-01", "2025-02-28"),
            [(R.ValidityExpired, Repeat + ".bounds.end"), (R.ValidityBackdated, Repeat + ".bounds.start")]),
        ["validity ends today"] = (r => (BoundsOf(r).Start, BoundsOf(r).End, RepeatOf(r).Count, RepeatOf(r).Frequency) = ("2025-03-01", "2025-03-01", 1, 1), []),
        ["validity starts the day before it was written"] = (r => BoundsOf(r).Start = "2025-02-28", [(R.ValidityBackdated, Repeat + ".bounds.start")]),
        ["validity written last week, from that day"] = (r => (r.AuthoredOn, BoundsOf(r).Start) = ("2025-02-22T16:00:00+00:00", "2025-02-22"), []),
        ["validity dates with no zone"] = (r => ((Period)RepeatOf(r).Bounds!).StartElement = new FhirDateTime("2025-03-01"), [(R.Profile, Repeat + ".bounds.start")]),
        ["validity in an unknown zone"] = (r => ((Period)RepeatOf(r).Bounds!).StartElement = PracticeTime.Date(new DateOnly(2025, 3, 1), "Mars/Olympus_Mons"),
            [(R.ValidityZone, Repeat + ".bounds.start" + TzCode)]),
        ["validity in a Windows zone name"] = (r => ((Period)RepeatOf(r).Bounds!).StartElement = PracticeTime.Date(new DateOnly(2025, 3, 1), "Pacific Standard Time"),
            [(R.ValidityZone, Repeat + ".bounds.start" + TzCode)]),
        ["validity ending in another zone"] = (r => ((Period)RepeatOf(r).Bounds!).EndElement = PracticeTime.Date(new DateOnly(2025, 4, 30), "Europe/Berlin"),
            [(R.ValidityZone, Repeat + ".bounds.end" + TzCode)]),
        ["validity over a year"] = (r => BoundsOf(r).End = "2026-03-02", [(R.ValidityTooLong, Repeat + ".bounds")]),
        ["validity a year exactly"] = (r => BoundsOf(r).End = "2026-03-01", []),
        ["more sessions than the validity holds"] = (r => RepeatOf(r).Count = 20, [(R.SessionsExceedValidity, Repeat)]),
        ["as many sessions as the validity holds"] = (r => RepeatOf(r).Count = 18, []),
        ["one a month for a week"] = (r => (RepeatOf(r).PeriodUnit, RepeatOf(r).Frequency, BoundsOf(r).End, RepeatOf(r).Count) = (Timing.UnitsOfTime.Mo, 1, "2025-03-07", 2),
            [(R.SessionsExceedValidity, Repeat)]),
        ["no performer type"] = (r => r.PerformerType = null, [(R.Profile, "ServiceRequest.performerType"), (R.Profile, "ServiceRequest.performerType")]),
        ["performer type physiotherapist"] = (r => r.PerformerType = new CodeableConcept(Canonicals.Snomed, "36682004"), [(R.Profile, "ServiceRequest.performerType")]),
        ["no performer"] = (r => r.Performer.Clear(), [(R.Profile, "ServiceRequest.performer")]),
        ["two performers"] = (r => r.Performer.Add(new ResourceReference(ModelFixtures.OncologyTherapist)), [(R.Profile, "ServiceRequest.performer")]),
        ["performer is an organization"] = (r => r.Performer[0] = new ResourceReference("Organization/spa"), [(R.PerformerReferenceType, "ServiceRequest.performer[0]")]),
        ["performer is not registered"] = (r => r.Performer[0] = new ResourceReference("PractitionerRole/stranger"), [(R.PerformerUnknown, "ServiceRequest.performer[0]")]),
        ["lymphedema to an untrained therapist"] = (r => r.ReasonCode.Add(new CodeableConcept(Canonicals.Icd10Cm, "I89.0")), [(R.TrainingMissing, "ServiceRequest.performer[0]")]),
        ["lymphedema to an MLD therapist"] = (r =>
            {
                r.ReasonCode.Add(new CodeableConcept(Canonicals.Icd10Cm, "I89.0"));
                r.Performer[0] = new ResourceReference(ModelFixtures.LymphedemaTherapist);
            },
            []),
        ["pregnancy precaution to an untrained therapist"] = (r => r.OrderDetail.Add(Precautions.Codes.For(Precaution.Pregnancy).ToCodeableConcept()),
            [(R.TrainingMissing, "ServiceRequest.performer[0]")]),
        ["cancer and pregnancy to an MLD therapist"] = (r =>
            {
                r.ReasonCode.Add(new CodeableConcept(Canonicals.Icd10Cm, "C80.1"));
                r.OrderDetail.Add(Precautions.Codes.For(Precaution.Pregnancy).ToCodeableConcept());
                r.Performer[0] = new ResourceReference(ModelFixtures.LymphedemaTherapist);
            },
            [(R.TrainingMissing, "ServiceRequest.performer[0]"), (R.TrainingMissing, "ServiceRequest.performer[0]")]),
        ["unknown precaution"] = (r => r.OrderDetail[0].Coding[0].Code = "sunburn", [(R.PrecautionUnknown, "ServiceRequest.orderDetail[0].coding[0]")]),
        ["precaution without code"] = (r => r.OrderDetail[0].Coding.Clear(), [(R.PrecautionUnknown, "ServiceRequest.orderDetail[0]")]),
        ["insurance points nowhere"] = (r => r.Insurance[0].Reference = "#nope",
            [(R.InsuranceUnresolved, "ServiceRequest.insurance[0]"), (R.ContainedNotAllowed, "ServiceRequest.contained[0]"), (R.Profile, "ServiceRequest"), (R.Profile, "ServiceRequest.insurance[0]")]),
        ["insurance points to a patient"] = (r => r.Insurance[0].Reference = "Patient/p1",
            [(R.InsuranceUnresolved, "ServiceRequest.insurance[0]"), (R.ContainedNotAllowed, "ServiceRequest.contained[0]"), (R.Profile, "ServiceRequest")]),
        ["insurance is an EHR Coverage"] = (r => { r.Insurance[0].Reference = "Coverage/cov-1"; r.Contained.Clear(); }, []),
        ["coverage without type"] = (r => CoverageOf(r).Type = null, [(R.CoverageTypeMissing, "ServiceRequest.contained[0].type")]),
        ["coverage of an unknown type"] = (r => CoverageOf(r).Type = new CodeableConcept(Canonicals.V3ActCode, "DENTPRG"), [(R.CoverageTypeUnknown, "ServiceRequest.contained[0].type")]),
        ["workers' comp without a claim number"] = (r => CoverageOf(r).Identifier.Clear(), [(R.ClaimNumberMissing, "ServiceRequest.contained[0].identifier")]),
        ["auto without a claim number"] = (r =>
            {
                CoverageOf(r).Identifier.Clear();
                CoverageOf(r).Type = CoverageTypes.Codes.For(CoverageType.Auto).ToCodeableConcept();
            },
            [(R.ClaimNumberMissing, "ServiceRequest.contained[0].identifier")]),
        ["health plan without a claim number"] = (r =>
            {
                CoverageOf(r).Identifier.Clear();
                CoverageOf(r).Type = CoverageTypes.Codes.For(CoverageType.HealthPlan).ToCodeableConcept();
            },
            []),
        ["several problems at once"] = (r =>
            {
                r.BodySite.Clear();
                r.ReasonCode.Clear();
                RepeatOf(r).Count = 99;
                r.Subject = null!;
            },
            [(R.Profile, "ServiceRequest.bodySite"), (R.Profile, "ServiceRequest.reasonCode"),
             (R.Profile, Repeat + ".count"), (R.Profile, "ServiceRequest.subject")]),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void A_broken_referral_fails_with_the_exact_rules_and_expressions(string name)
    {
        var (breakIt, expected) = Cases[name];
        var request = ModelFixtures.Referral();
        breakIt(request);

        var outcome = ModelFixtures.Judge(request);

        Assert.Equal(ModelFixtures.Expect(expected), ModelFixtures.Problems(outcome));
        Assert.Equal(expected.All(e => e.Rule is R.DiagnosisLaterality or R.DisplayMismatch), outcome.IsValid());
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Every_issue_expression_is_FHIRPath_that_the_SDK_evaluates(string name)
    {
        var (breakIt, _) = Cases[name];
        var request = ModelFixtures.Referral();
        breakIt(request);

        var outcome = ModelFixtures.Judge(request);

        foreach (var expression in outcome.Problems().SelectMany(i => i.Expression))
        {
            _ = request.Select(expression!).ToList();
        }
    }

    [Fact]
    public void An_expression_names_an_element_that_is_there()
    {
        var request = ModelFixtures.Referral();
        request.BodySite[0].Extension[0].Value = new CodeableConcept(Canonicals.Snomed, "999");

        var issue = Assert.Single(ModelFixtures.Judge(request).Problems());

        var found = Assert.Single(request.Select(issue.Expression.Single()!));
        Assert.Same(request.BodySite[0].Extension[0], found);
    }

    [Fact]
    public void Training_messages_name_the_condition_and_the_training()
    {
        var request = ModelFixtures.Referral();
        request.ReasonCode.Add(new CodeableConcept(Canonicals.Icd10Cm, "I89.0"));

        var issue = Assert.Single(ModelFixtures.Judge(request).Problems());

        Assert.Contains("Lymphedema", issue.Details?.Text, StringComparison.Ordinal);
        Assert.Contains("Manual lymph drainage", issue.Details?.Text, StringComparison.Ordinal);
        Assert.Equal(OperationOutcome.IssueType.BusinessRule, issue.Code);
    }

    [Fact]
    public void Every_rule_code_is_in_the_validation_rule_code_system()
    {
        var request = ModelFixtures.Referral();
        request.Subject = null!;

        var issue = Assert.Single(ModelFixtures.Judge(request).Problems());

        var coding = Assert.Single(issue.Details!.Coding);
        Assert.Equal((Canonicals.ValidationRuleSystem, R.Profile), (coding.System, coding.Code));
        Assert.Equal(R.Describe(R.Profile), coding.Display);
    }

    [Fact]
    public void The_validator_uses_its_clock_for_now()
    {
        var later = new FixedTime(new DateTimeOffset(2025, 5, 1, 0, 0, 0, TimeSpan.Zero));

        var outcome = ModelFixtures.Validator(later).Validate(ModelFixtures.Referral(), ModelFixtures.TrainingOf);

        Assert.Equal(ModelFixtures.Expect((R.ValidityExpired, Repeat + ".bounds.end")), ModelFixtures.Problems(outcome));
    }

    // Strict parsing: the raw JSON cases below could not be built through the SDK, which is the point.

    public static TheoryData<string, string> UnparseableBodies() => new()
    {
        { "unknown element at the root", """{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"priority2":"urgent"}""" },
        { "wrong type", """{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"occurrenceTiming":{"repeat":{"count":"eight"}}}""" },
        { "code outside a required binding", """{"resourceType":"ServiceRequest","status":"bogus","intent":"order","subject":{"reference":"Patient/p1"}}""" },
    };

    [Theory]
    [InlineData("priority2", "ServiceRequest.priority2")]
    [InlineData("occurrenceTiming", "ServiceRequest.occurrence.repeat.count")]
    public void Strict_parsing_names_the_offending_element(string property, string expression)
    {
        var json = JsonNode.Parse(FhirJson.Serialize(ModelFixtures.Referral()))!.AsObject();
        if (property == "priority2")
        {
            json[property] = "urgent";
        }
        else
        {
            json[property]!["repeat"]!["count"] = "eight";
        }

        var result = ModelFixtures.Validator().Validate(json.ToJsonString(), ModelFixtures.TrainingOf);

        Assert.False(result.Parsed);
        Assert.False(result.IsValid);
        Assert.Null(result.Request);
        var issue = Assert.Single(result.Outcome.Problems());
        Assert.Equal([expression], issue.Expression);
        Assert.Equal(OperationOutcome.IssueSeverity.Error, issue.Severity);
    }

    [Fact]
    public void An_unknown_element_deep_inside_is_an_error_at_its_path()
    {
        var json = JsonNode.Parse(FhirJson.Serialize(ModelFixtures.Referral()))!.AsObject();
        json["bodySite"]![0]!["coding"]![0]!["colour"] = "red";

        var result = ModelFixtures.Validator().Validate(json.ToJsonString(), ModelFixtures.TrainingOf);

        Assert.Equal(["ServiceRequest.bodySite[0].coding[0].colour"], Assert.Single(result.Outcome.Problems()).Expression);
    }

    [Fact]
    public void A_missing_mandatory_element_is_reported_at_its_real_path()
    {
        var json = JsonNode.Parse(FhirJson.Serialize(ModelFixtures.Referral()))!.AsObject();
        json.Remove("subject");

        var result = ModelFixtures.Validator().Validate(json.ToJsonString(), ModelFixtures.TrainingOf);

        Assert.False(result.Parsed);
        Assert.Equal(["ServiceRequest.subject"], Assert.Single(result.Outcome.Problems()).Expression);
    }

    [Fact]
    public void Every_problem_of_a_bad_body_is_listed_not_just_the_first()
    {
        var json = JsonNode.Parse(FhirJson.Serialize(ModelFixtures.Referral()))!.AsObject();
        json["status"] = "bogus";
        json["colour"] = "red";
        json["occurrenceTiming"]!["repeat"]!["count"] = "eight";

        var result = ModelFixtures.Validator().Validate(json.ToJsonString(), ModelFixtures.TrainingOf);

        Assert.Equal(
            ["ServiceRequest.colour", "ServiceRequest.occurrence.repeat.count", "ServiceRequest.status"],
            result.Outcome.Problems().Select(i => i.Expression.Single()).Order());
    }

    [Fact]
    public void A_code_outside_a_required_binding_fails_to_parse()
    {
        var result = ModelFixtures.Validator().Validate(
            """{"resourceType":"ServiceRequest","status":"bogus","intent":"order","subject":{"reference":"Patient/p1"}}""", ModelFixtures.TrainingOf);

        Assert.False(result.Parsed);
        Assert.Equal(["ServiceRequest.status"], Assert.Single(result.Outcome.Problems()).Expression);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"resourceType\":\"ServiceRequest\",")]
    public void Malformed_JSON_is_an_unparseable_body(string body)
    {
        var result = ModelFixtures.Validator().Validate(body, ModelFixtures.TrainingOf);

        Assert.False(result.Parsed);
        var issue = Assert.Single(result.Outcome.Problems());
        Assert.Equal(R.Unparseable, issue.RuleOf());
        Assert.Empty(issue.Expression);
    }

    [Fact]
    public void Another_resource_type_is_refused_by_name()
    {
        var result = ModelFixtures.Validator().Validate("""{"resourceType":"Patient","id":"p1"}""", ModelFixtures.TrainingOf);

        Assert.False(result.Parsed);
        var issue = Assert.Single(result.Outcome.Problems());
        Assert.Equal((R.ResourceType, "Patient"), (issue.RuleOf(), issue.Expression.Single()));
    }

    private static Timing.RepeatComponent RepeatOf(ServiceRequest request) => ((Timing)request.Occurrence!).Repeat!;

    /// <summary>The validity's dates, set as a client would send them: in the referral's zone (tz-code UTC).</summary>
    private static ZonedBounds BoundsOf(ServiceRequest request) => new((Period)RepeatOf(request).Bounds!);

    private sealed class ZonedBounds(Period period)
    {
        public string? Start { get => period.Start; set => period.StartElement = Zoned(value); }

        public string? End { get => period.End; set => period.EndElement = Zoned(value); }

        private static FhirDateTime? Zoned(string? value) =>
            value is null ? null : new FhirDateTime(value) { Extension = [new Extension(PracticeTime.TzCodeExtension, new Code("UTC"))] };
    }

    private static Coverage CoverageOf(ServiceRequest request) => (Coverage)request.Contained[0];

    private static CodeableConcept WithLaterality(BodyRegion region, string lateralityCode)
    {
        var concept = BodyRegions.Regions.For(region).ToCodeableConcept();
        concept.Extension.Add(new Extension(Canonicals.LateralityExtension, new CodeableConcept(Canonicals.Snomed, lateralityCode)));
        return concept;
    }
}

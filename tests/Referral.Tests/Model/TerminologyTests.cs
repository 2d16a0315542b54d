using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Terminology;

namespace Referral.Tests.Model;

public sealed partial class TerminologyTests
{
    public static TheoryData<string, string, string> EveryValueSetEntry()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var valueSet in ReferralValueSets.All)
        {
            foreach (var concept in valueSet.Concepts)
            {
                data.Add(valueSet.Id, concept.System, concept.Code);
            }
        }

        return data;
    }

    public static TheoryData<string> EveryValueSet() => [.. ReferralValueSets.All.Select(v => v.Id)];

    [Theory]
    [MemberData(nameof(EveryValueSetEntry))]
    public void Every_ValueSet_entry_has_a_system_a_code_and_a_display(string valueSetId, string system, string code)
    {
        var concept = Assert.Single(ValueSetById(valueSetId).Concepts, c => c.System == system && c.Code == code);

        Assert.Matches("^(https?://|urn:)", concept.System);
        Assert.False(string.IsNullOrWhiteSpace(concept.Code));
        Assert.Equal(concept.Code.Trim(), concept.Code);
        Assert.False(string.IsNullOrWhiteSpace(concept.Display));
    }

    [Theory]
    [MemberData(nameof(EveryValueSet))]
    public void A_ValueSet_lists_each_code_once(string valueSetId)
    {
        var concepts = ValueSetById(valueSetId).Concepts;

        var duplicates = concepts.GroupBy(c => (c.System, c.Code)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();

        Assert.Empty(duplicates);
        Assert.NotEmpty(concepts);
    }

    [Fact]
    public void ValueSet_ids_and_canonicals_are_unique_and_under_the_product_base()
    {
        Assert.Equal(ReferralValueSets.All.Count, ReferralValueSets.All.Select(v => v.Id).Distinct().Count());
        Assert.All(ReferralValueSets.All, v => Assert.StartsWith(Canonicals.Base + "/ValueSet/", v.Canonical, StringComparison.Ordinal));
    }

    [Fact]
    public void An_ICD_10_CM_code_belongs_to_one_condition_only()
    {
        var codes = MassageConditions.All.SelectMany(c => c.Concepts).Select(c => (c.System, c.Code)).ToList();

        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.Equal(MassageConditions.All.Count, MassageConditions.All.Select(c => c.Key).Distinct().Count());
    }

    [Fact]
    public void Every_ICD_10_CM_code_has_the_shape_of_a_billable_code()
    {
        var icd = MassageConditions.All.SelectMany(c => c.Icd10Cm).ToList();

        Assert.All(icd, c => Assert.Matches(BillableIcd10Cm(), c.Code));
        Assert.All(icd, c => Assert.Equal(Canonicals.Icd10Cm, c.System));
        Assert.All(MassageConditions.All, c => Assert.NotEmpty(c.Icd10Cm));
    }

    public static TheoryData<string, string, string?> DesignSeedConditions() => new()
    {
        // key, ICD-10-CM family named in DESIGN.md §4, SNOMED CT code named there (null: none given).
        { "carpal-tunnel", "G56.0", "57406009" },
        { "sciatica", "M54.3", "23056005" },
        { "piriformis-syndrome", "G57.0", null },
        { "lymphedema", "I89.0", "234097001" },
        { "whiplash", "S13.4XXA", "39848009" },
        { "rotator-cuff", "M75.1", "414033006" },
        { "tmj-disorder", "M26.60", "41888000" },
        { "bursitis", "M71.9", "84017003" },
        { "kyphosis", "M40.2", null },
        { "lordosis", "M40.5", null },
        { "scoliosis", "M41.9", "298382003" },
        { "osteoarthritis", "M19.90", "396275006" },
        { "migraine", "G43.909", "37796009" },
        { "tension-headache", "G44.209", "398057008" },
        { "fibromyalgia", "M79.7", "203082005" },
        { "frozen-shoulder", "M75.0", "399114005" },
        { "medial-epicondylitis", "M77.0", null },
        { "lateral-epicondylitis", "M77.1", null },
        { "low-back-pain", "M54.5", "279039007" },
        { "neck-pain", "M54.2", "81680005" },
        { "plantar-fasciitis", "M72.2", "202882003" },
        { "anxiety", "F41.9", null },
        { "stress", "Z73.3", null },
        { "achilles-tendinitis", "M76.6", null },
        { "surgery-recovery", "Z47", null },
        { "pregnancy", "Z33.1", null },
        { "cancer", "C80.1", null },
        { "parkinsons", "G20", null },
        { "ptsd", "F43.1", null },
    };

    [Theory]
    [MemberData(nameof(DesignSeedConditions))]
    public void A_seed_condition_of_the_design_is_in_the_catalog_with_its_codes(string key, string icdFamily, string? snomed)
    {
        var condition = MassageConditions.FindByKey(key);

        Assert.NotNull(condition);
        Assert.Contains(condition.Icd10Cm, c => c.Code.StartsWith(icdFamily, StringComparison.Ordinal));
        if (snomed is not null)
        {
            Assert.Equal(snomed, condition.Snomed?.Code);
        }

        Assert.All(condition.Concepts, c => Assert.Same(condition, MassageConditions.Find(c.System, c.Code)));
    }

    private static readonly (BodyRegion Region, string Code)[] DesignRegions =
    [
        (BodyRegion.Neck, "45048000"),
        (BodyRegion.Shoulder, "16982005"),
        (BodyRegion.UpperArm, "40983000"),
        (BodyRegion.Elbow, "16953009"),
        (BodyRegion.Forearm, "14975008"),
        (BodyRegion.Wrist, "74670003"),
        (BodyRegion.Hand, "85562004"),
        (BodyRegion.ThoracicSpine, "122495006"),
        (BodyRegion.LumbarRegion, "52612000"),
        (BodyRegion.SacroiliacJoint, "39723000"),
        (BodyRegion.Hip, "29836001"),
        (BodyRegion.Buttock, "46862004"),
        (BodyRegion.Thigh, "68367000"),
        (BodyRegion.Knee, "72696002"),
        (BodyRegion.LowerLeg, "30021000"),
        (BodyRegion.Ankle, "70258002"),
        (BodyRegion.Foot, "56459004"),
        (BodyRegion.Head, "69536005"),
        (BodyRegion.Jaw, "661005"),
        (BodyRegion.TemporomandibularJoint, "53620006"),
        (BodyRegion.Abdomen, "818981001"),
        (BodyRegion.Chest, "816094009"),
    ];

    public static TheoryData<BodyRegion, string> DesignBodyRegions() => [.. DesignRegions];

    [Theory]
    [MemberData(nameof(DesignBodyRegions))]
    public void A_body_region_has_the_SNOMED_code_of_the_design_and_reads_back(BodyRegion region, string code)
    {
        var concept = BodyRegions.Regions.For(region);

        Assert.Equal(new Concept(Canonicals.Snomed, code, concept.Display), concept with { Synonyms = [] });
        Assert.True(BodyRegions.Regions.TryFind(Canonicals.Snomed, code, out var found));
        Assert.Equal(region, found);
    }

    [Fact]
    public void The_DESIGN_regions_are_all_the_regions()
    {
        Assert.Equal(Enum.GetValues<BodyRegion>().Order(), DesignRegions.Select(r => r.Region).Order());
    }

    [Theory]
    [InlineData(Laterality.Left, "7771000")]
    [InlineData(Laterality.Right, "24028007")]
    [InlineData(Laterality.Both, "51440002")]
    public void A_laterality_is_the_SNOMED_qualifier_of_the_design(Laterality laterality, string code)
    {
        Assert.Equal(code, BodyRegions.Lateralities.For(laterality).Code);
        Assert.Equal(Canonicals.Snomed, BodyRegions.Lateralities.For(laterality).System);
    }

    [Theory]
    [InlineData(BodyRegion.Wrist, true)]
    [InlineData(BodyRegion.Shoulder, true)]
    [InlineData(BodyRegion.TemporomandibularJoint, true)]
    [InlineData(BodyRegion.SacroiliacJoint, true)]
    [InlineData(BodyRegion.Neck, false)]
    [InlineData(BodyRegion.LumbarRegion, false)]
    [InlineData(BodyRegion.Head, false)]
    [InlineData(BodyRegion.Jaw, false)]
    public void Paired_regions_take_a_side_and_midline_regions_do_not(BodyRegion region, bool paired)
    {
        Assert.Equal(paired, BodyRegions.IsPaired(region));
    }

    [Fact]
    public void A_body_site_round_trips_through_its_CodeableConcept_with_the_mCODE_laterality_extension()
    {
        var site = new BodyArea(BodyRegion.Wrist, Laterality.Left);

        var concept = BodyRegions.ToCodeableConcept(site);

        Assert.Equal("Left wrist joint", concept.Text);
        var extension = Assert.Single(concept.Extension);
        Assert.Equal("http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier", extension.Url);
        Assert.True(BodyRegions.TryRead(concept, out var read));
        Assert.Equal(site, read);
    }

    [Theory]
    [InlineData(Laterality.Both, Laterality.Left, true)]
    [InlineData(Laterality.Both, Laterality.Right, true)]
    [InlineData(Laterality.Both, Laterality.Both, true)]
    [InlineData(Laterality.Right, Laterality.Right, true)]
    [InlineData(Laterality.Right, Laterality.Left, false)]
    [InlineData(Laterality.Left, Laterality.Both, false)]
    public void A_prescription_for_both_sides_covers_either_side(Laterality prescribed, Laterality treated, bool covered)
    {
        Assert.Equal(covered, BodyRegions.Covers(new BodyArea(BodyRegion.Knee, prescribed), new BodyArea(BodyRegion.Knee, treated)));
        Assert.False(BodyRegions.Covers(new BodyArea(BodyRegion.Hip, prescribed), new BodyArea(BodyRegion.Knee, treated)));
    }

    [Fact]
    public void Carpal_tunnel_suggests_wrist_and_hand()
    {
        var regions = MassageConditions.SuggestBodyRegions(Canonicals.Icd10Cm, "G56.01");

        Assert.Contains(BodyRegion.Wrist, regions);
        Assert.Contains(BodyRegion.Hand, regions);
        Assert.Equal(regions, MassageConditions.SuggestBodyRegions(Canonicals.Snomed, "57406009"));
    }

    [Fact]
    public void Sciatica_suggests_lower_back_buttock_and_thigh()
    {
        var regions = MassageConditions.SuggestBodyRegions(Canonicals.Icd10Cm, "M54.31");

        Assert.Equal([BodyRegion.LumbarRegion, BodyRegion.Buttock, BodyRegion.Thigh], regions);
    }

    [Fact]
    public void An_unknown_code_suggests_no_region()
    {
        Assert.Empty(MassageConditions.SuggestBodyRegions(Canonicals.Icd10Cm, "J45.909"));
        Assert.Null(MassageConditions.FindIcd10Cm("J45.909"));
    }

    [Theory]
    [InlineData("G56.00", null)]
    [InlineData("G56.01", Laterality.Right)]
    [InlineData("G56.02", Laterality.Left)]
    [InlineData("G56.03", Laterality.Both)]
    [InlineData("M26.601", Laterality.Right)]
    [InlineData("M17.0", Laterality.Both)]
    [InlineData("M54.2", null)]
    public void The_side_of_an_ICD_10_CM_code_is_read_from_its_display(string code, Laterality? expected)
    {
        var concept = MassageConditions.FindIcd10Cm(code);

        Assert.NotNull(concept);
        Assert.Equal(expected, MassageConditions.LateralityOf(concept));
    }

    public static TheoryData<string, TherapistTraining[]> ConditionTraining() => new()
    {
        { "cancer", [TherapistTraining.OncologyMassage] },
        { "chemotherapy-neuropathy", [TherapistTraining.OncologyMassage] },
        { "lymphedema", [TherapistTraining.ManualLymphDrainage] },
        { "postmastectomy-lymphedema", [TherapistTraining.ManualLymphDrainage, TherapistTraining.OncologyMassage] },
        { "pregnancy", [TherapistTraining.Prenatal] },
        { "ptsd", [TherapistTraining.TraumaInformed] },
        { "carpal-tunnel", [] },
        { "low-back-pain", [] },
    };

    [Theory]
    [MemberData(nameof(ConditionTraining))]
    public void A_condition_requires_its_training(string key, TherapistTraining[] expected)
    {
        var condition = MassageConditions.FindByKey(key)!;

        var required = TrainingRules.Requirements([condition], []).Select(r => r.Training);

        Assert.Equal(expected.Order(), required.Order());
    }

    [Fact]
    public void Only_the_conditions_listed_require_training()
    {
        var withTraining = MassageConditions.All.Where(c => c.RequiredTraining.Count > 0).Select(c => c.Key).Order();

        Assert.Equal(
            ["cancer", "chemotherapy-neuropathy", "lymphedema", "postmastectomy-lymphedema", "pregnancy", "ptsd"],
            withTraining);
    }

    [Theory]
    [InlineData(Precaution.Cancer, TherapistTraining.OncologyMassage)]
    [InlineData(Precaution.Pregnancy, TherapistTraining.Prenatal)]
    [InlineData(Precaution.LymphNodeRemoval, TherapistTraining.ManualLymphDrainage)]
    public void A_precaution_can_require_training(Precaution precaution, TherapistTraining training)
    {
        Assert.Equal([training], TrainingRules.ForPrecaution(precaution));
    }

    [Theory]
    [InlineData(Precaution.Anticoagulants)]
    [InlineData(Precaution.RecentSurgery)]
    [InlineData(Precaution.Osteoporosis)]
    [InlineData(Precaution.DeepVeinThrombosisHistory)]
    [InlineData(Precaution.FragileSkin)]
    public void Other_precautions_require_no_training(Precaution precaution)
    {
        Assert.Empty(TrainingRules.ForPrecaution(precaution));
    }

    [Fact]
    public void A_therapist_can_treat_only_when_every_requirement_is_met()
    {
        var lymphedema = MassageConditions.FindByKey("lymphedema")!;

        Assert.True(TrainingRules.CanTreat([TherapistTraining.ManualLymphDrainage], [lymphedema], []));
        Assert.False(TrainingRules.CanTreat([TherapistTraining.ManualLymphDrainage], [lymphedema], [Precaution.Pregnancy]));
        Assert.True(TrainingRules.CanTreat([TherapistTraining.ManualLymphDrainage, TherapistTraining.Prenatal], [lymphedema], [Precaution.Pregnancy]));
        Assert.False(TrainingRules.CanTreat([], [lymphedema], []));
        Assert.True(TrainingRules.CanTreat([], [MassageConditions.FindByKey("sciatica")!], [Precaution.Anticoagulants]));
    }

    [Fact]
    public void The_unmet_requirements_name_what_requires_them()
    {
        var unmet = TrainingRules.Unmet(
            TrainingRules.Requirements([MassageConditions.FindByKey("lymphedema")!], [Precaution.Cancer]),
            [TherapistTraining.ManualLymphDrainage]);

        var requirement = Assert.Single(unmet);
        Assert.Equal(new TrainingRequirement(TherapistTraining.OncologyMassage, "precaution: Cancer or cancer treatment"), requirement);
    }

    [Fact]
    public void Every_enum_of_the_model_maps_each_value_to_one_concept()
    {
        Assert.Equal(Enum.GetValues<BodyRegion>().Length, BodyRegions.Regions.Concepts.Count);
        Assert.Equal(Enum.GetValues<TherapistTraining>().Length, TherapistTrainings.Codes.Concepts.Count);
        Assert.Equal(Enum.GetValues<MassageTechnique>().Length, MassageTechniques.Codes.Concepts.Count);
        Assert.Equal(Enum.GetValues<Precaution>().Length, Precautions.Codes.Concepts.Count);
        Assert.Equal(Enum.GetValues<CoverageType>().Length, CoverageTypes.Codes.Concepts.Count);
        Assert.Equal(Enum.GetValues<FrequencyUnit>().Length, FrequencyUnits.Codes.Concepts.Count);
        Assert.Equal(Enum.GetValues<JointMovement>().Length, OutcomeMeasures.RangeOfMotion.Concepts.Count);
        Assert.Equal(Enum.GetValues<FunctionalInstrument>().Length, OutcomeMeasures.Instruments.Concepts.Count);
    }

    [Fact]
    public void A_concept_map_refuses_a_missing_value_or_a_code_used_twice()
    {
        var concept = new Concept("urn:test", "a", "A");

        Assert.Throws<ArgumentException>(() => new ConceptMap<Laterality>(new Dictionary<Laterality, Concept> { [Laterality.Left] = concept }));
        Assert.Throws<ArgumentException>(() => new ConceptMap<Laterality>(new Dictionary<Laterality, Concept>
        {
            [Laterality.Left] = concept,
            [Laterality.Right] = concept,
            [Laterality.Both] = concept with { Code = "b" },
        }));
    }

    [Fact]
    public void The_massage_techniques_are_the_ten_of_the_issue_in_a_local_code_system()
    {
        Assert.Equal(
            ["cross-fiber-friction", "deep-tissue", "manual-lymph-drainage", "myofascial-release", "neuromuscular-therapy",
             "petrissage", "positional-release", "rehabilitative-stretching", "strain-counterstrain", "trigger-point-therapy"],
            MassageTechniques.Codes.Concepts.Select(c => c.Code).Order());
        Assert.All(MassageTechniques.Codes.Concepts, c => Assert.Equal(Canonicals.MassageTechniqueSystem, c.System));
    }

    [Fact]
    public void Procedures_are_CPT_97124_and_97140_with_SNOMED_massage()
    {
        Assert.Equal(
            [(Canonicals.Cpt, "97124"), (Canonicals.Cpt, "97140"), (Canonicals.Snomed, "387854002")],
            MassageProcedures.All.Select(c => (c.System, c.Code)));
        Assert.All(MassageProcedures.Cpt.Concepts, c => Assert.True(c.Unchecked));
    }

    [Fact]
    public void Coverage_types_are_workers_comp_auto_and_health_plan_from_v3_ActCode()
    {
        Assert.Equal(["WCBPOL", "AUTOPOL", "HIP"], CoverageTypes.Codes.Concepts.Select(c => c.Code));
        Assert.All(CoverageTypes.Codes.Concepts, c => Assert.Equal("http://terminology.hl7.org/CodeSystem/v3-ActCode", c.System));
        Assert.True(CoverageTypes.NeedsClaimNumber(CoverageType.WorkersCompensation));
        Assert.True(CoverageTypes.NeedsClaimNumber(CoverageType.Auto));
        Assert.False(CoverageTypes.NeedsClaimNumber(CoverageType.HealthPlan));
    }

    [Theory]
    [InlineData(FrequencyUnit.Day, "d", Timing.UnitsOfTime.D, 1)]
    [InlineData(FrequencyUnit.Week, "wk", Timing.UnitsOfTime.Wk, 7)]
    [InlineData(FrequencyUnit.Month, "mo", Timing.UnitsOfTime.Mo, 30)]
    public void A_frequency_unit_is_a_UCUM_unit_of_time(FrequencyUnit unit, string ucum, Timing.UnitsOfTime unitsOfTime, int days)
    {
        Assert.Equal(ucum, FrequencyUnits.Codes.For(unit).Code);
        Assert.Equal(unitsOfTime, FrequencyUnits.ToUnitsOfTime(unit));
        Assert.Equal(unit, FrequencyUnits.FromUnitsOfTime(unitsOfTime));
        Assert.Equal(days, FrequencyUnits.Days(unit));
    }

    [Fact]
    public void NDI_Oswestry_QuickDASH_and_PSFS_use_the_local_code_system_and_PROMIS_uses_LOINC()
    {
        Assert.Equal(Canonicals.Loinc, OutcomeMeasures.Instruments.For(FunctionalInstrument.PromisPainInterference).System);
        Assert.Equal("77865-4", OutcomeMeasures.Instruments.For(FunctionalInstrument.PromisPainInterference).Code);
        foreach (var local in new[] { FunctionalInstrument.NeckDisabilityIndex, FunctionalInstrument.OswestryDisabilityIndex, FunctionalInstrument.QuickDash, FunctionalInstrument.PatientSpecificFunctionalScale })
        {
            Assert.Equal(Canonicals.OutcomeMeasureSystem, OutcomeMeasures.Instruments.For(local).System);
        }

        Assert.Equal("72514-3", OutcomeMeasures.Pain.Code);
    }

    [Fact]
    public void Local_code_systems_live_under_the_one_canonical_base()
    {
        string[] local =
        [
            Canonicals.TherapistTrainingSystem, Canonicals.MassageTechniqueSystem, Canonicals.PrecautionSystem,
            Canonicals.OutcomeMeasureSystem, Canonicals.TaskOutputTypeSystem, Canonicals.ValidationRuleSystem,
        ];

        Assert.All(local, url => Assert.StartsWith(Canonicals.Base + "/CodeSystem/", url, StringComparison.Ordinal));
        Assert.Equal(local.Length, local.Distinct().Count());
    }

    [Theory]
    [InlineData("C50.912")]
    [InlineData("Z85.3")]
    public void A_breast_cancer_code_on_the_problem_list_is_cancer_and_needs_an_oncology_trained_therapist(string icd10Cm)
    {
        var condition = MassageConditions.Find(Canonicals.Icd10Cm, icd10Cm);

        Assert.Equal("cancer", condition?.Key);
        Assert.Contains(TherapistTraining.OncologyMassage, condition!.RequiredTraining);
    }

    private static ValueSetDefinition ValueSetById(string id) => ReferralValueSets.All.Single(v => v.Id == id);

    [GeneratedRegex(@"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")]
    private static partial Regex BillableIcd10Cm();
}

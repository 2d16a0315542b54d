using Referral.Model.Terminology;

namespace Referral.Tests.Model;

/// <summary>
/// The reviewed table of default body sites (MassageConditions.SiteDefaults), row by row: one row per condition of the
/// value set with a code of it and the exact sites that code ticks when first picked ("Region" for a midline region,
/// "Region:Side" for a paired one, "Region:Both" for both sides).
/// </summary>
public sealed class SiteDefaultsTests
{
    public static TheoryData<string, string, string> EveryCondition() => new()
    {
        { "carpal-tunnel", "G56.01", "Wrist:Right Hand:Right Forearm:Right" },
        { "sciatica", "M54.32", "LumbarRegion Buttock:Left Thigh:Left" },
        { "piriformis-syndrome", "G57.01", "Buttock:Right Hip:Right" },
        { "lymphedema", "I89.0", "" },
        { "postmastectomy-lymphedema", "I97.2", "" },
        { "whiplash", "S13.4XXA", "Neck Shoulder:Both" },
        { "rotator-cuff", "M75.102", "Shoulder:Left UpperArm:Left" },
        { "tmj-disorder", "M26.603", "TemporomandibularJoint:Both Jaw" },
        { "bursitis", "M71.9", "" },
        { "kyphosis", "M40.204", "ThoracicSpine" },
        { "lordosis", "M40.56", "LumbarRegion" },
        { "scoliosis", "M41.9", "ThoracicSpine LumbarRegion" },
        { "osteoarthritis", "M19.90", "" },
        { "knee-osteoarthritis", "M17.0", "Knee:Both" },
        { "migraine", "G43.909", "Head Neck" },
        { "tension-headache", "G44.209", "Head Neck" },
        { "fibromyalgia", "M79.7", "Neck Shoulder:Both ThoracicSpine LumbarRegion Hip:Both" },
        { "frozen-shoulder", "M75.02", "Shoulder:Left UpperArm:Left" },
        { "medial-epicondylitis", "M77.01", "Elbow:Right Forearm:Right" },
        { "lateral-epicondylitis", "M77.12", "Elbow:Left Forearm:Left" },
        { "low-back-pain", "M54.50", "LumbarRegion" },
        { "neck-pain", "M54.2", "Neck" },
        { "plantar-fasciitis", "M72.2", "" },
        { "anxiety", "F41.9", "Neck Shoulder:Both" },
        { "stress", "Z73.3", "Neck Shoulder:Both" },
        { "bicipital-tendinitis", "M75.21", "Shoulder:Right UpperArm:Right" },
        { "achilles-tendinitis", "M76.62", "LowerLeg:Left Ankle:Left" },
        { "patellar-tendinitis", "M76.51", "Knee:Right" },
        { "de-quervain", "M65.4", "" },
        { "iliotibial-band-syndrome", "M76.31", "Thigh:Right Knee:Right" },
        { "surgery-recovery", "Z47.1", "" },
        { "pregnancy", "Z33.1", "" },
        { "cancer", "C50.912", "" },
        { "chemotherapy-neuropathy", "G62.0", "Hand:Both Foot:Both" },
        { "parkinsons", "G20.A1", "Neck Shoulder:Both" },
        { "ptsd", "F43.10", "" },
        { "thoracic-outlet-syndrome", "G54.0", "Neck" },
        { "back-spasm", "M62.830", "ThoracicSpine LumbarRegion" },
        { "myalgia", "M79.12", "" },
        { "thoracic-spine-pain", "M54.6", "ThoracicSpine" },
        { "cervical-radiculopathy", "M54.12", "Neck" },
        { "lumbar-radiculopathy", "M54.16", "LumbarRegion" },
        { "neck-strain", "S16.1XXA", "Neck" },
        { "low-back-strain", "S39.012A", "LumbarRegion" },
        { "shoulder-pain", "M25.511", "Shoulder:Right" },
        { "hip-pain", "M25.552", "Hip:Left" },
        { "knee-pain", "M25.561", "Knee:Right" },
        { "torticollis", "M43.6", "Neck" },
        { "chronic-pain", "G89.29", "" },
    };

    [Theory]
    [MemberData(nameof(EveryCondition))]
    public void Each_condition_ticks_exactly_its_reviewed_default_sites(string key, string icd10Cm, string expected)
    {
        Assert.Equal(key, MassageConditions.FindIcd10Cm(icd10Cm) is null ? null : MassageConditions.Find(Referral.Model.Canonicals.Icd10Cm, icd10Cm)?.Key);

        Assert.Equal(expected, Describe(MassageConditions.DefaultSites(icd10Cm)));
    }

    [Fact]
    public void Every_condition_of_the_value_set_has_a_row_in_the_table_and_in_this_test()
    {
        var tested = EveryCondition().Select(row => (string)row.Data.Item1).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(MassageConditions.All.Select(c => c.Key).Order(StringComparer.Ordinal), MassageConditions.SiteDefaults.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(MassageConditions.All.Select(c => c.Key).Order(StringComparer.Ordinal), tested.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("M72.2", Laterality.Right, "Foot:Right")]
    [InlineData("I97.2", Laterality.Left, "UpperArm:Left Forearm:Left Hand:Left")]
    [InlineData("M54.12", Laterality.Left, "Neck Shoulder:Left UpperArm:Left Forearm:Left Hand:Left")]
    // The code's own side wins over the record's text.
    [InlineData("G56.01", Laterality.Left, "Wrist:Right Hand:Right Forearm:Right")]
    // Both sides by rule, whatever the record says.
    [InlineData("M79.7", Laterality.Left, "Neck Shoulder:Both ThoracicSpine LumbarRegion Hip:Both")]
    public void A_code_that_names_no_side_takes_the_side_the_problem_list_entry_names(string icd10Cm, Laterality recordSide, string expected)
    {
        Assert.Equal(expected, Describe(MassageConditions.DefaultSites(icd10Cm, recordSide)));
    }

    [Fact]
    public void Plantar_fasciitis_of_the_right_foot_ticks_the_right_foot_and_nothing_of_the_hip()
    {
        var sites = MassageConditions.DefaultSites("M72.2", MassageConditions.LateralityOf("Plantar fasciitis, right foot"));

        Assert.Equal([new BodyArea(BodyRegion.Foot, Laterality.Right)], sites);
    }

    [Fact]
    public void Pregnancy_with_low_back_pain_ticks_the_lower_back_and_not_the_neck()
    {
        var sites = MassageConditions.DefaultSites("Z33.1").Concat(MassageConditions.DefaultSites("M54.50")).ToList();

        Assert.Equal([new BodyArea(BodyRegion.LumbarRegion)], sites);
    }

    [Theory]
    [InlineData("Right foot", Laterality.Right)]
    [InlineData("Lymphedema of left arm after breast cancer treatment", Laterality.Left)]
    [InlineData("Bilateral knees", Laterality.Both)]
    [InlineData("Lower back", null)]
    [InlineData(null, null)]
    public void The_side_a_record_text_names_is_read_from_its_words(string? text, Laterality? expected)
    {
        Assert.Equal(expected, MassageConditions.LateralityOf(text));
    }

    private static string Describe(IEnumerable<BodyArea> sites) =>
        string.Join(' ', sites.Select(s => s.Laterality is null ? s.Region.ToString() : $"{s.Region}:{s.Laterality}"));
}

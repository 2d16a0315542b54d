using Hl7.Fhir.Model;

namespace Referral.Model.Terminology;

/// <summary>The body regions a medical-massage prescription can name (SNOMED CT body structures).</summary>
public enum BodyRegion
{
    Head,
    Jaw,
    TemporomandibularJoint,
    Neck,
    Shoulder,
    UpperArm,
    Elbow,
    Forearm,
    Wrist,
    Hand,
    Chest,
    Abdomen,
    ThoracicSpine,
    LumbarRegion,
    SacroiliacJoint,
    Hip,
    Buttock,
    Thigh,
    Knee,
    LowerLeg,
    Ankle,
    Foot,
}

public enum Laterality
{
    Left,
    Right,
    Both,
}

/// <summary>A prescribed or treated body site: a region and, for paired regions, its side.</summary>
public sealed record BodyArea(BodyRegion Region, Laterality? Laterality = null)
{
    public string Display => BodyRegions.Describe(this);
}

public static class BodyRegions
{
    /// <summary>
    /// SNOMED CT codes from DESIGN.md §4 (checked there against published value sets); the displays are the
    /// SNOMED synonyms that DICOM CID 4031 uses.
    /// </summary>
    public static ConceptMap<BodyRegion> Regions { get; } = new(new Dictionary<BodyRegion, Concept>
    {
        [BodyRegion.Head] = Sct("69536005", "Head"),
        [BodyRegion.Jaw] = Sct("661005", "Jaw region"),
        [BodyRegion.TemporomandibularJoint] = Sct("53620006", "Temporomandibular joint") with { Synonyms = ["TMJ"] },
        [BodyRegion.Neck] = Sct("45048000", "Neck") with { Synonyms = ["cervical"] },
        [BodyRegion.Shoulder] = Sct("16982005", "Shoulder region"),
        [BodyRegion.UpperArm] = Sct("40983000", "Upper arm"),
        [BodyRegion.Elbow] = Sct("16953009", "Elbow joint"),
        [BodyRegion.Forearm] = Sct("14975008", "Forearm"),
        [BodyRegion.Wrist] = Sct("74670003", "Wrist joint"),
        [BodyRegion.Hand] = Sct("85562004", "Hand"),
        [BodyRegion.Chest] = Sct("816094009", "Chest"),
        [BodyRegion.Abdomen] = Sct("818981001", "Abdomen"),
        [BodyRegion.ThoracicSpine] = Sct("122495006", "Thoracic spine") with { Synonyms = ["upper back", "mid back"] },
        [BodyRegion.LumbarRegion] = Sct("52612000", "Lumbar region") with { Synonyms = ["lower back", "low back"] },
        [BodyRegion.SacroiliacJoint] = Sct("39723000", "Sacroiliac joint") with { Synonyms = ["SI joint"] },
        [BodyRegion.Hip] = Sct("29836001", "Hip region"),
        [BodyRegion.Buttock] = Sct("46862004", "Buttock") with { Synonyms = ["gluteal"] },
        [BodyRegion.Thigh] = Sct("68367000", "Thigh"),
        [BodyRegion.Knee] = Sct("72696002", "Knee region"),
        [BodyRegion.LowerLeg] = Sct("30021000", "Lower leg") with { Synonyms = ["calf", "shin"] },
        [BodyRegion.Ankle] = Sct("70258002", "Ankle joint"),
        [BodyRegion.Foot] = Sct("56459004", "Foot"),
    });

    /// <summary>SNOMED CT laterality qualifiers (DESIGN.md §4), carried in mCODE's laterality-qualifier extension.</summary>
    public static ConceptMap<Laterality> Lateralities { get; } = new(new Dictionary<Laterality, Concept>
    {
        [Laterality.Left] = Sct("7771000", "Left"),
        [Laterality.Right] = Sct("24028007", "Right"),
        [Laterality.Both] = Sct("51440002", "Right and left") with { Synonyms = ["bilateral"] },
    });

    private static readonly HashSet<BodyRegion> Unpaired =
    [
        BodyRegion.Head,
        BodyRegion.Jaw,
        BodyRegion.Neck,
        BodyRegion.Chest,
        BodyRegion.Abdomen,
        BodyRegion.ThoracicSpine,
        BodyRegion.LumbarRegion,
    ];

    /// <summary>A paired region (left and right exist) needs a laterality; a midline one must not have one.</summary>
    public static bool IsPaired(BodyRegion region) => !Unpaired.Contains(region);

    public static string Describe(BodyArea site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var region = Regions.For(site.Region).Display;
        return site.Laterality switch
        {
            Laterality.Left => "Left " + Lower(region),
            Laterality.Right => "Right " + Lower(region),
            Laterality.Both => "Both sides, " + Lower(region),
            _ => region,
        };
    }

    /// <summary>The FHIR form of a body site: the region's coding with the laterality as an extension.</summary>
    public static CodeableConcept ToCodeableConcept(BodyArea site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var concept = Regions.For(site.Region).ToCodeableConcept();
        concept.Text = site.Display;
        if (site.Laterality is { } laterality)
        {
            concept.Extension.Add(new Extension(Canonicals.LateralityExtension, Lateralities.For(laterality).ToCodeableConcept()));
        }

        return concept;
    }

    /// <summary>
    /// Reads a body site back from FHIR. False when the region is unknown or the laterality is present but unknown;
    /// the rules that say which is wrong live in the validator.
    /// </summary>
    public static bool TryRead(CodeableConcept? concept, out BodyArea site)
    {
        site = new BodyArea(BodyRegion.Head);
        if (concept is null || !Regions.TryFind(concept, out var region))
        {
            return false;
        }

        var extension = concept.GetExtension(Canonicals.LateralityExtension);
        if (extension is null)
        {
            site = new BodyArea(region);
            return true;
        }

        if (!Lateralities.TryFind(extension.Value as CodeableConcept, out var laterality))
        {
            return false;
        }

        site = new BodyArea(region, laterality);
        return true;
    }

    /// <summary>Whether a treated site lies within a prescribed one: a prescription for both sides covers either side.</summary>
    public static bool Covers(BodyArea prescribed, BodyArea treated)
    {
        ArgumentNullException.ThrowIfNull(prescribed);
        ArgumentNullException.ThrowIfNull(treated);
        return prescribed.Region == treated.Region
            && (prescribed.Laterality == treated.Laterality || prescribed.Laterality == Laterality.Both);
    }

    private static Concept Sct(string code, string display) => new(Canonicals.Snomed, code, display);

    private static string Lower(string display) => display.Length == 0 ? display : char.ToLowerInvariant(display[0]) + display[1..];
}

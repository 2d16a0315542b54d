using System.Globalization;
using Referral.Model.Terminology;

namespace Referral.SmartApp.Referrals;

/// <summary>One clickable area of the body map: an SVG shape standing for one form value ("Wrist:Right", "Neck").</summary>
public sealed record BodyMapShape(string Site, string Label, string Element, IReadOnlyDictionary<string, double> Attributes);

/// <summary>
/// The body map's drawing, front and back. It only mirrors the form's checkboxes (which carry the meaning, the
/// labels and the keyboard use); a click on a shape ticks its checkbox. On the front view the patient's right is
/// the viewer's left; on the back view the patient's left is.
/// </summary>
public static class BodyMap
{
    public const double Width = 200;
    public const double Height = 420;

    /// <summary>The regions in form order, head to foot.</summary>
    public static IReadOnlyList<BodyRegion> Regions { get; } = Enum.GetValues<BodyRegion>();

    public static IReadOnlyList<BodyMapShape> Front { get; } = Build(front: true);

    public static IReadOnlyList<BodyMapShape> Back { get; } = Build(front: false);

    public static string Value(BodyRegion region, Laterality? side) => side is null ? region.ToString() : $"{region}:{side}";

    public static string Label(BodyRegion region, Laterality? side) => BodyRegions.Describe(new BodyArea(region, side));

    public static string Number(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static List<BodyMapShape> Build(bool front)
    {
        var shapes = new List<BodyMapShape>();
        void Midline(BodyRegion region, string element, params (string, double)[] attributes) =>
            shapes.Add(new BodyMapShape(Value(region, null), Label(region, null), element, attributes.ToDictionary(a => a.Item1, a => a.Item2)));

        // x is the centre of the shape on the viewer's left; the other side is mirrored about x = 100.
        void Paired(BodyRegion region, string element, double x, params (string, double)[] attributes)
        {
            foreach (var (side, centre) in new[] { (Laterality.Right, x), (Laterality.Left, Width - x) })
            {
                // Front: the patient's right is on the viewer's left. Back: the patient's left is.
                var actual = front ? side : (side == Laterality.Right ? Laterality.Left : Laterality.Right);
                var values = attributes.ToDictionary(a => a.Item1, a => a.Item2);
                if (element == "rect")
                {
                    values["x"] = centre - (values["width"] / 2);
                }
                else
                {
                    values["cx"] = centre;
                }

                shapes.Add(new BodyMapShape(Value(region, actual), Label(region, actual), element, values));
            }
        }

        Midline(BodyRegion.Head, "ellipse", ("cx", 100), ("cy", 32), ("rx", 22), ("ry", 27));
        if (front)
        {
            Paired(BodyRegion.TemporomandibularJoint, "ellipse", 82, ("cy", 42), ("rx", 5), ("ry", 5));
            Midline(BodyRegion.Jaw, "rect", ("x", 88), ("y", 50), ("width", 24), ("height", 9));
        }

        Midline(BodyRegion.Neck, "rect", ("x", 90), ("y", 60), ("width", 20), ("height", 16));
        Paired(BodyRegion.Shoulder, "ellipse", 62, ("cy", 86), ("rx", 17), ("ry", 10));
        if (front)
        {
            Midline(BodyRegion.Chest, "rect", ("x", 74), ("y", 80), ("width", 52), ("height", 48));
            Midline(BodyRegion.Abdomen, "rect", ("x", 76), ("y", 130), ("width", 48), ("height", 42));
            Paired(BodyRegion.Hip, "rect", 86, ("y", 174), ("width", 26), ("height", 20));
        }
        else
        {
            Midline(BodyRegion.ThoracicSpine, "rect", ("x", 82), ("y", 80), ("width", 36), ("height", 58));
            Midline(BodyRegion.LumbarRegion, "rect", ("x", 80), ("y", 140), ("width", 40), ("height", 32));
            Paired(BodyRegion.SacroiliacJoint, "ellipse", 92, ("cy", 178), ("rx", 6), ("ry", 5));
            Paired(BodyRegion.Buttock, "rect", 86, ("y", 186), ("width", 26), ("height", 24));
        }

        Paired(BodyRegion.UpperArm, "rect", 48, ("y", 96), ("width", 16), ("height", 48));
        Paired(BodyRegion.Elbow, "ellipse", 46, ("cy", 151), ("rx", 9), ("ry", 7));
        Paired(BodyRegion.Forearm, "rect", 42, ("y", 159), ("width", 15), ("height", 44));
        Paired(BodyRegion.Wrist, "rect", 38, ("y", 205), ("width", 15), ("height", 9));
        Paired(BodyRegion.Hand, "ellipse", 36, ("cy", 228), ("rx", 10), ("ry", 13));
        Paired(BodyRegion.Thigh, "rect", 86, ("y", front ? 196 : 212), ("width", 24), ("height", front ? 68 : 54));
        Paired(BodyRegion.Knee, "ellipse", 86, ("cy", 274), ("rx", 12), ("ry", 9));
        Paired(BodyRegion.LowerLeg, "rect", 86, ("y", 284), ("width", 20), ("height", 78));
        Paired(BodyRegion.Ankle, "rect", 86, ("y", 364), ("width", 18), ("height", 10));
        Paired(BodyRegion.Foot, "ellipse", 86, ("cy", 386), ("rx", 12), ("ry", 9));
        return shapes;
    }
}

public sealed record BodyMapView(IReadOnlySet<string> Selected);

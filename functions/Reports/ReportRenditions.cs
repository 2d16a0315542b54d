using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using PdfSharp.Drawing;
using PdfSharp.Fonts;
using PdfSharp.Pdf;
using Referral.Model.Reports;

namespace Referral.Functions.Reports;

/// <summary>One rendition of a report: its bytes, media type and file name.</summary>
public sealed record ReportRendition(byte[] Content, string ContentType, string FileName)
{
    public const string PdfType = "application/pdf";
    public const string XhtmlType = "application/xhtml+xml";
}

/// <summary>
/// The report's two renditions from the one <see cref="ProgressReport"/>: a PDF (PDFsharp 6.2, MIT) for people and
/// payers, and XHTML for EHRs that file text notes. Both print the same lines in the same order (<see cref="Lines"/>).
/// </summary>
public static class ReportRenditions
{
    public static ReportRendition Pdf(ProgressReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new ReportRendition(PdfWriter.Write(report), ReportRendition.PdfType, FileName(report, "pdf"));
    }

    public static ReportRendition Xhtml(ProgressReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        XNamespace x = "http://www.w3.org/1999/xhtml";
        var body = new XElement(x + "body");
        XElement? list = null;
        foreach (var line in Lines(report))
        {
            if (line.Style == LineStyle.Item)
            {
                list ??= new XElement(x + "ul");
                list.Add(new XElement(x + "li", line.Text));
                continue;
            }

            if (list is not null)
            {
                body.Add(list);
                list = null;
            }

            body.Add(line.Style switch
            {
                LineStyle.Title => new XElement(x + "h1", line.Text),
                LineStyle.Heading => new XElement(x + "h2", line.Text),
                _ => new XElement(x + "p", line.Text),
            });
        }

        if (list is not null)
        {
            body.Add(list);
        }

        var html = new XElement(x + "html", new XAttribute(XNamespace.Xml + "lang", "en"),
            new XElement(x + "head", new XElement(x + "meta", new XAttribute("charset", "utf-8")), new XElement(x + "title", report.Title)),
            body);
        using var stream = new MemoryStream();
        using (var writer = XmlWriter.Create(stream, new XmlWriterSettings { Encoding = new System.Text.UTF8Encoding(false), Indent = true }))
        {
            // XElement encodes every text node: the therapist's notes cannot inject markup into the EHR's viewer.
            new XDocument(new XDocumentType("html", null, null, null), html).Save(writer);
        }

        return new ReportRendition(stream.ToArray(), ReportRendition.XhtmlType, FileName(report, "xhtml"));
    }

    public enum LineStyle
    {
        Title,
        Heading,
        Text,
        Item,
    }

    public sealed record Line(LineStyle Style, string Text);

    /// <summary>The report as lines, in print order: both renditions lay these out and add nothing of their own.</summary>
    public static IReadOnlyList<Line> Lines(ProgressReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var c = CultureInfo.InvariantCulture;
        var lines = new List<Line>
        {
            new(LineStyle.Title, report.Title + (report.Copy == ReportCopy.Payer ? " (payer's copy)" : "")),
            new(LineStyle.Text, $"Issued {report.IssuedText}. Referral {report.ReferralId}."),
            new(LineStyle.Heading, "Patient"),
            new(LineStyle.Text, report.Patient + (report.PatientBirthDate is { } born ? $", born {born}" : "")),
            new(LineStyle.Heading, "Referring physician"),
            new(LineStyle.Text, Person(report.Physician)),
            new(LineStyle.Heading, "Massage therapist"),
            new(LineStyle.Text, Person(report.Therapist)),
        };

        if (report.Payer is { } payer)
        {
            lines.Add(new(LineStyle.Heading, "Coverage"));
            lines.Add(new(LineStyle.Item, "Coverage type: " + payer.CoverageType));
            lines.Add(new(LineStyle.Item, "Payer: " + (payer.Payor ?? "not stated")));
            lines.Add(new(LineStyle.Item, "Claim number: " + (payer.ClaimNumber ?? "not stated")));
            lines.Add(new(LineStyle.Item, "Adjuster: " + (payer.Adjuster ?? "not stated")));
        }

        lines.Add(new(LineStyle.Heading, "Diagnoses"));
        lines.AddRange(report.Diagnoses.Select(d => new Line(LineStyle.Item, d.Codes.Count > 0 ? $"{d.Name} ({string.Join("; ", d.Codes)})" : d.Name)));
        lines.Add(new(LineStyle.Heading, "Prescription"));
        lines.Add(new(LineStyle.Item, "Sites: " + (report.Sites.Count > 0 ? string.Join(", ", report.Sites) : "not stated")));
        lines.Add(new(LineStyle.Item, string.Create(c,
            $"Sessions: {report.SessionsDone} done of {report.SessionsPrescribed} prescribed, {report.SessionsRemaining} remaining{(report.Frequency is { } f ? $" ({f})" : "")}")));
        lines.Add(new(LineStyle.Item, string.Create(c, $"Valid {Date(report.ValidFrom)} to {Date(report.ValidUntil)}")));

        lines.Add(new(LineStyle.Heading, "Sessions"));
        if (report.Sessions.Count == 0)
        {
            lines.Add(new(LineStyle.Text, "No session recorded yet."));
        }

        foreach (var (session, billing) in report.Sessions)
        {
            lines.Add(new(LineStyle.Text, string.Create(c,
                $"Session {session.Number}: {session.When}, {(session.Minutes is { } m ? m + " minutes" : "length not recorded")}")));
            lines.Add(new(LineStyle.Item, ProgressReport.Pain(session)));
            lines.Add(new(LineStyle.Item, "Sites treated: " + (session.Sites.Count > 0 ? string.Join(", ", session.Sites) : "not recorded")));
            lines.Add(new(LineStyle.Item, "Techniques: " + (session.Techniques.Count > 0 ? string.Join(", ", session.Techniques) : "not recorded")));
            lines.AddRange(session.Measures.Select(m => new Line(LineStyle.Item, $"{m.Label}: {m.Value}{(m.Change is { } change ? $" ({change})" : "")}")));
            if (billing is not null)
            {
                lines.Add(new(LineStyle.Item, "Billing: " + billing.Text));
            }
        }

        lines.Add(new(LineStyle.Heading, "Assessment"));
        lines.Add(new(LineStyle.Text, report.Assessment ?? "No assessment recorded."));
        lines.Add(new(LineStyle.Heading, "Plan"));
        lines.Add(new(LineStyle.Text, report.Plan));
        if (report.DischargeOutcome is { } outcome)
        {
            lines.Add(new(LineStyle.Heading, "Discharge outcome"));
            lines.Add(new(LineStyle.Text, outcome));
        }

        return lines;

        static string Date(DateOnly? date) => date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "(not stated)";
    }

    private static string Person(ReportPerson person) =>
        person.Name
        + (person.License is { } license ? $", licence {license}" : "")
        + (person.Npi is { } npi ? $", NPI {npi}" : ", NPI not on file");

    /// <summary>A file name without patient data: the kind, the copy and the issue date.</summary>
    private static string FileName(ProgressReport report, string extension) => string.Create(CultureInfo.InvariantCulture,
        $"{(report.Kind == ReportKind.Discharge ? "discharge-summary" : "progress-report")}{(report.Copy == ReportCopy.Payer ? "-payer" : "")}-{report.Issued:yyyyMMdd}.{extension}");

    /// <summary>Lays the lines out on US Letter pages, wrapping words and breaking pages.</summary>
    private sealed class PdfWriter : IDisposable
    {
        private const double Margin = 54;
        private readonly PdfDocument document = new();
        private readonly XFont title = new(ReportFonts.Family, 16, XFontStyleEx.Bold);
        private readonly XFont heading = new(ReportFonts.Family, 12, XFontStyleEx.Bold);
        private readonly XFont text = new(ReportFonts.Family, 10, XFontStyleEx.Regular);
        private XGraphics? graphics;
        private PdfPage? page;
        private double y;

        public static byte[] Write(ProgressReport report)
        {
            ReportFonts.Register();
            using var writer = new PdfWriter();
            return writer.Render(report);
        }

        private byte[] Render(ProgressReport report)
        {
            document.Info.Title = report.Title;
            document.Info.Creator = "Medical-massage referral";
            // The issue time, not the machine's: the same report renders to the same bytes, so its hash is stable.
            document.Info.CreationDate = report.Issued.UtcDateTime;
            document.Info.ModificationDate = report.Issued.UtcDateTime;
            foreach (var line in Lines(report))
            {
                switch (line.Style)
                {
                    case LineStyle.Title:
                        Write(line.Text, title, 0, 8);
                        break;
                    case LineStyle.Heading:
                        y += 6;
                        Write(line.Text, heading, 0, 3);
                        break;
                    case LineStyle.Item:
                        Write("- " + line.Text, text, 12, 1);
                        break;
                    default:
                        Write(line.Text, text, 0, 2);
                        break;
                }
            }

            graphics?.Dispose();
            graphics = null;
            using var stream = new MemoryStream();
            document.Save(stream, false);
            return stream.ToArray();
        }

        private void Write(string value, XFont font, double indent, double after)
        {
            var lineHeight = font.GetHeight() * 1.15;
            foreach (var wrapped in Wrap(value, font, Width() - indent))
            {
                if (graphics is null || y + lineHeight > page!.Height.Point - Margin)
                {
                    NewPage();
                }

                graphics!.DrawString(wrapped, font, XBrushes.Black, new XPoint(Margin + indent, y + font.GetHeight()));
                y += lineHeight;
            }

            y += after;
        }

        private IEnumerable<string> Wrap(string value, XFont font, double width)
        {
            NewPageIfNone();
            foreach (var paragraph in value.Replace("\r", "", StringComparison.Ordinal).Split('\n'))
            {
                var current = "";
                foreach (var word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var candidate = current.Length == 0 ? word : current + " " + word;
                    if (current.Length > 0 && graphics!.MeasureString(candidate, font).Width > width)
                    {
                        yield return current;
                        current = word;
                    }
                    else
                    {
                        current = candidate;
                    }
                }

                yield return current;
            }
        }

        private double Width() => (page?.Width.Point ?? XUnit.FromInch(8.5).Point) - (2 * Margin);

        private void NewPageIfNone()
        {
            if (graphics is null)
            {
                NewPage();
            }
        }

        private void NewPage()
        {
            graphics?.Dispose();
            page = document.AddPage();
            page.Width = XUnit.FromInch(8.5);
            page.Height = XUnit.FromInch(11);
            graphics = XGraphics.FromPdfPage(page);
            y = Margin;
        }

        public void Dispose()
        {
            graphics?.Dispose();
            document.Dispose();
        }
    }
}

/// <summary>
/// The report's one typeface. PDFsharp's Core build finds no system fonts on Linux by itself: this resolver reads
/// Liberation Sans (Debian's fonts-liberation, which Chromium pulls in), else DejaVu Sans, else Windows' Arial, and
/// PDFsharp embeds the subset it uses, so the PDF reads the same anywhere.
/// </summary>
public sealed class ReportFonts : IFontResolver
{
    public const string Family = "Report Sans";

    private static readonly Lock Gate = new();

    private static readonly (string Regular, string Bold)[] Candidates =
    [
        ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
        ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        (@"C:\Windows\Fonts\arial.ttf", @"C:\Windows\Fonts\arialbd.ttf"),
    ];

    public static void Register()
    {
        lock (Gate)
        {
            // PDFsharp's resolver is process-wide and may be set once. The worker compiles this file in too: where the
            // API and the worker share a process (the tests' hosts), the other copy's resolver is this same code.
            if (GlobalFontSettings.FontResolver?.GetType().FullName != typeof(ReportFonts).FullName)
            {
                GlobalFontSettings.FontResolver = new ReportFonts();
            }
        }
    }

    public FontResolverInfo? ResolveTypeface(string familyName, bool bold, bool italic) =>
        new(bold ? "report-bold" : "report-regular", false, italic);

    public byte[]? GetFont(string faceName)
    {
        var found = Candidates.FirstOrDefault(c => File.Exists(c.Regular) && File.Exists(c.Bold));
        if (found.Regular is null)
        {
            throw new InvalidOperationException("No font for the report PDFs: install fonts-liberation (or fonts-dejavu-core).");
        }

        return File.ReadAllBytes(faceName == "report-bold" ? found.Bold : found.Regular);
    }
}

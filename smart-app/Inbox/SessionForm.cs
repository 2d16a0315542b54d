using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Referral.Model.Terminology;

namespace Referral.SmartApp.Inbox;

/// <summary>What the therapist types about one session, as posted (strings, so what was typed comes back as typed).</summary>
public sealed class SessionInput
{
    public string? Date { get; set; }

    public string? Time { get; set; }

    public string? Minutes { get; set; }

    /// <summary>Body sites treated, as form values ("Wrist:Right", "Neck").</summary>
    public List<string> Sites { get; set; } = [];

    /// <summary>Technique codes of the massage-technique code system.</summary>
    public List<string> Techniques { get; set; } = [];

    public string? PainBefore { get; set; }

    public string? PainAfter { get; set; }

    public string? Joint { get; set; }

    public string? Movement { get; set; }

    public string? Degrees { get; set; }

    public string? Instrument { get; set; }

    public string? Score { get; set; }

    public string? Subjective { get; set; }

    public string? Objective { get; set; }

    public string? Assessment { get; set; }

    public string? Plan { get; set; }

    /// <summary>The Task's ETag when the form was shown: a session recorded against a Task changed since is a 412.</summary>
    public string? ETag { get; set; }
}

/// <summary>
/// The session form's rules of form (a date that is a date, a pain that is 0-10) and its translation into the
/// <c>$record-session</c> Parameters. The rules of the referral (count, validity, prescribed sites) are the API's:
/// its refusals come back as <see cref="FieldsOf"/> places on the form.
/// </summary>
public static partial class SessionForm
{
    public const string FormLevel = "";

    /// <summary>The form's fields top to bottom: the error summary lists its problems in this order.</summary>
    public static IReadOnlyList<string> Fields { get; } =
    [
        nameof(SessionInput.Date), nameof(SessionInput.Time), nameof(SessionInput.Minutes), nameof(SessionInput.Sites), nameof(SessionInput.Techniques),
        nameof(SessionInput.PainBefore), nameof(SessionInput.PainAfter), "RangeOfMotion", "FunctionalScore", "Note",
    ];

    /// <summary>The id the error summary links a problem to: the field's input, or its group.</summary>
    public static string AnchorOf(string field) => field switch
    {
        nameof(SessionInput.Date) => "session-date",
        nameof(SessionInput.Time) => "session-time",
        nameof(SessionInput.Minutes) => "session-minutes",
        nameof(SessionInput.PainBefore) => "pain-before",
        nameof(SessionInput.PainAfter) => "pain-after",
        _ => "field-" + field,
    };

    /// <summary>Checks what can be checked without the referral; the problems by field (empty when the form can be sent).</summary>
    public static Dictionary<string, string> Check(SessionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!DateOnly.TryParseExact(input.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            problems[nameof(SessionInput.Date)] = "Enter the date of the session.";
        }

        if (!TimeOnly.TryParseExact(input.Time, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            problems[nameof(SessionInput.Time)] = "Enter the time the session began (hours and minutes).";
        }

        if (!int.TryParse(input.Minutes, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            problems[nameof(SessionInput.Minutes)] = "Enter how many minutes the session lasted.";
        }

        Pain(input.PainBefore, nameof(SessionInput.PainBefore), "before", problems);
        Pain(input.PainAfter, nameof(SessionInput.PainAfter), "after", problems);
        if (input.Sites.Count == 0)
        {
            // As the API would say (SessionRecorder), but now, with the form's other problems, not after them.
            problems[nameof(SessionInput.Sites)] = "Name the body sites treated.";
        }

        foreach (var site in input.Sites)
        {
            if (!TryReadSite(site, out _))
            {
                problems[nameof(SessionInput.Sites)] = "Choose the body sites from the list.";
            }
        }

        if (input.Techniques.Count == 0)
        {
            problems[nameof(SessionInput.Techniques)] = "Name at least one technique used.";
        }

        foreach (var code in input.Techniques)
        {
            if (!MassageTechniques.Codes.TryFind(Model.Canonicals.MassageTechniqueSystem, code, out _))
            {
                problems[nameof(SessionInput.Techniques)] = "Choose the techniques from the list.";
            }
        }

        var motion = new[] { input.Joint, input.Movement, input.Degrees };
        if (motion.Any(v => !string.IsNullOrWhiteSpace(v)))
        {
            if (motion.Any(string.IsNullOrWhiteSpace) || !TryReadSite(input.Joint, out _)
                || !OutcomeMeasures.RangeOfMotion.TryFind(Model.Canonicals.OutcomeMeasureSystem, input.Movement, out _)
                || !decimal.TryParse(input.Degrees, NumberStyles.Number, CultureInfo.InvariantCulture, out _))
            {
                problems["RangeOfMotion"] = "For a range of motion, give the joint, the movement and the degrees (or leave all three empty).";
            }
        }

        if (!string.IsNullOrWhiteSpace(input.Instrument) || !string.IsNullOrWhiteSpace(input.Score))
        {
            if (InstrumentOf(input.Instrument) is null || !decimal.TryParse(input.Score, NumberStyles.Number, CultureInfo.InvariantCulture, out _))
            {
                problems["FunctionalScore"] = "For a functional score, choose the questionnaire and give its score (or leave both empty).";
            }
        }

        return problems;
    }

    /// <summary>The <c>$record-session</c> Parameters of a checked form; the date and time are the practice's local time.</summary>
    public static Parameters ToParameters(SessionInput input, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(zone);
        var local = DateOnly.ParseExact(input.Date!, "yyyy-MM-dd", CultureInfo.InvariantCulture)
            .ToDateTime(TimeOnly.ParseExact(input.Time!, "HH:mm", CultureInfo.InvariantCulture), DateTimeKind.Unspecified);
        var start = new DateTimeOffset(local, zone.GetUtcOffset(local));

        var parameters = new Parameters();
        parameters.Add("start", new FhirDateTime(start));
        parameters.Add("minutes", new Integer(int.Parse(input.Minutes!, CultureInfo.InvariantCulture)));
        foreach (var site in input.Sites)
        {
            TryReadSite(site, out var area);
            parameters.Add("bodySite", BodyRegions.ToCodeableConcept(area));
        }

        foreach (var code in input.Techniques)
        {
            MassageTechniques.Codes.TryFind(Model.Canonicals.MassageTechniqueSystem, code, out var technique);
            parameters.Add("technique", MassageTechniques.Codes.For(technique).ToCoding());
        }

        parameters.Add("painBefore", new Integer(int.Parse(input.PainBefore!, CultureInfo.InvariantCulture)));
        parameters.Add("painAfter", new Integer(int.Parse(input.PainAfter!, CultureInfo.InvariantCulture)));
        if (!string.IsNullOrWhiteSpace(input.Joint) && TryReadSite(input.Joint, out var joint)
            && OutcomeMeasures.RangeOfMotion.TryFind(Model.Canonicals.OutcomeMeasureSystem, input.Movement, out var movement))
        {
            parameters.Parameter.Add(new Parameters.ParameterComponent
            {
                Name = "rangeOfMotion",
                Part =
                [
                    new Parameters.ParameterComponent { Name = "joint", Value = BodyRegions.ToCodeableConcept(joint) },
                    new Parameters.ParameterComponent { Name = "movement", Value = OutcomeMeasures.RangeOfMotion.For(movement).ToCoding() },
                    new Parameters.ParameterComponent { Name = "degrees", Value = new FhirDecimal(decimal.Parse(input.Degrees!, CultureInfo.InvariantCulture)) },
                ],
            });
        }

        if (InstrumentOf(input.Instrument) is { } instrument)
        {
            parameters.Parameter.Add(new Parameters.ParameterComponent
            {
                Name = "functionalScore",
                Part =
                [
                    new Parameters.ParameterComponent { Name = "instrument", Value = instrument.ToCoding() },
                    new Parameters.ParameterComponent { Name = "score", Value = new FhirDecimal(decimal.Parse(input.Score!, CultureInfo.InvariantCulture)) },
                ],
            });
        }

        if (Note(input) is { } note)
        {
            parameters.Add("note", new FhirString(note));
        }

        return parameters;
    }

    /// <summary>The SOAP note as one plain-text note, each part on its own labelled paragraph; null when all four are empty.</summary>
    public static string? Note(SessionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var note = new StringBuilder();
        foreach (var (label, text) in new[] { ("Subjective", input.Subjective), ("Objective", input.Objective), ("Assessment", input.Assessment), ("Plan", input.Plan) })
        {
            if (!string.IsNullOrWhiteSpace(text))
            {
                note.Append(note.Length == 0 ? "" : "\n\n").Append(label).Append(": ").Append(text.Trim());
            }
        }

        return note.Length == 0 ? null : note.ToString();
    }

    /// <summary>
    /// The API's refusal, issue by issue, placed on the form: an issue naming a parameter (<c>where(name='bodySite')</c>)
    /// goes next to its field; one about the referral (the session count) goes to the top.
    /// </summary>
    public static Dictionary<string, string> FieldsOf(OperationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var issue in outcome.Issue.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal))
        {
            var parameter = issue.Expression.Select(e => ParameterName().Match(e ?? "")).FirstOrDefault(m => m.Success)?.Groups[1].Value;
            var field = parameter switch
            {
                "start" => nameof(SessionInput.Date),
                "minutes" => nameof(SessionInput.Minutes),
                "bodySite" => nameof(SessionInput.Sites),
                "technique" => nameof(SessionInput.Techniques),
                "painBefore" => nameof(SessionInput.PainBefore),
                "painAfter" => nameof(SessionInput.PainAfter),
                "rangeOfMotion" => "RangeOfMotion",
                "functionalScore" => "FunctionalScore",
                "note" => "Note",
                _ => FormLevel,
            };
            var message = issue.Details?.Text ?? issue.Diagnostics ?? "The session was refused.";
            problems[field] = problems.TryGetValue(field, out var earlier) ? $"{earlier} {message}" : message;
        }

        return problems;
    }

    /// <summary>A body-site form value ("Wrist:Right", "Neck") as a body area.</summary>
    public static bool TryReadSite(string? value, out BodyArea area)
    {
        area = new BodyArea(BodyRegion.Head);
        var parts = (value ?? "").Split(':');
        if (parts.Length is < 1 or > 2 || !Enum.TryParse<BodyRegion>(parts[0], ignoreCase: false, out var region) || !Enum.IsDefined(region))
        {
            return false;
        }

        Laterality? side = null;
        if (parts.Length == 2)
        {
            if (!Enum.TryParse<Laterality>(parts[1], ignoreCase: false, out var parsed) || !Enum.IsDefined(parsed))
            {
                return false;
            }

            side = parsed;
        }

        area = new BodyArea(region, side);
        return true;
    }

    /// <summary>The form value of a body area: "Wrist:Right", "Neck".</summary>
    public static string SiteValue(BodyArea area)
    {
        ArgumentNullException.ThrowIfNull(area);
        return area.Laterality is { } side ? $"{area.Region}:{side}" : area.Region.ToString();
    }

    private static Concept? InstrumentOf(string? code) =>
        string.IsNullOrWhiteSpace(code) ? null : OutcomeMeasures.Instruments.Concepts.FirstOrDefault(c => c.Code == code);

    private static void Pain(string? value, string field, string when, Dictionary<string, string> problems)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var pain) || pain is < OutcomeMeasures.PainMinimum or > OutcomeMeasures.PainMaximum)
        {
            problems[field] = $"Enter the pain {when} the session, from 0 (none) to 10 (worst).";
        }
    }

    [GeneratedRegex(@"where\(name='([A-Za-z]+)'\)", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();
}

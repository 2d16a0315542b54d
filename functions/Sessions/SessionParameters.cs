using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Model.Fhir;
using Referral.Model.Sessions;
using Referral.Model.Terminology;

namespace Referral.Functions.Sessions;

/// <summary>
/// The <c>Parameters</c> body of <c>$record-session</c>, read into the model's <see cref="SessionRecord"/>:
/// <list type="bullet">
/// <item><c>start</c> (dateTime with offset), <c>minutes</c> (integer), <c>painBefore</c>, <c>painAfter</c> (integer 0-10): required;</item>
/// <item><c>bodySite</c> (CodeableConcept, 1..*): a SNOMED body region with the mCODE laterality extension, as in the ServiceRequest;</item>
/// <item><c>technique</c> (Coding, 1..*): the massage-technique code system;</item>
/// <item><c>rangeOfMotion</c> (0..*): parts <c>joint</c> (CodeableConcept, as bodySite), <c>movement</c> (Coding), <c>degrees</c> (decimal);</item>
/// <item><c>functionalScore</c> (0..1): parts <c>instrument</c> (Coding) and <c>score</c> (decimal); <c>note</c> (string, plain text).</item>
/// </list>
/// A body that cannot be read is a 400, a code that is not ours a 422, each naming the parameter.
/// </summary>
public static partial class SessionParameters
{
    public static readonly IReadOnlyList<string> Names =
        ["start", "minutes", "bodySite", "technique", "painBefore", "painAfter", "rangeOfMotion", "functionalScore", "note"];

    private static readonly string[] Single = ["start", "minutes", "painBefore", "painAfter", "functionalScore", "note"];

    public static string Path(string name) => $"Parameters.parameter.where(name='{name}')";

    public static (SessionRecord? Record, FhirResult? Error) Read(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (InputRules.Check(parameters) is { Count: > 0 } problems)
        {
            // A string against FHIR's rules or with markup: the body parsed, its content is refused (422), naming the parameter.
            return (null, Outcome.Of(Outcomes.From(problems), StatusCodes.Status422UnprocessableEntity));
        }

        foreach (var parameter in parameters.Parameter)
        {
            if (!Names.Contains(parameter.Name, StringComparer.Ordinal))
            {
                return Bad($"$record-session takes {string.Join(", ", Names)}; not '{parameter.Name}'.", Path(parameter.Name ?? ""));
            }
        }

        foreach (var name in Single)
        {
            if (parameters.Parameter.Count(p => p.Name == name) > 1)
            {
                return Bad($"'{name}' may be given once.", Path(name));
            }
        }

        if (Value<FhirDateTime>(parameters, "start") is not { } startValue || !FhirTime.TryDateTime(startValue.Value, out var start))
        {
            return Bad("'start' is required: a valueDateTime with date, time and offset.", Path("start"));
        }

        if (Value<Integer>(parameters, "minutes")?.Value is not { } minutes)
        {
            return Bad("'minutes' is required: a valueInteger.", Path("minutes"));
        }

        if (Value<Integer>(parameters, "painBefore")?.Value is not { } painBefore)
        {
            return Bad("'painBefore' is required: a valueInteger from 0 to 10.", Path("painBefore"));
        }

        if (Value<Integer>(parameters, "painAfter")?.Value is not { } painAfter)
        {
            return Bad("'painAfter' is required: a valueInteger from 0 to 10.", Path("painAfter"));
        }

        var sites = new List<BodyArea>();
        var siteParameters = parameters.Parameter.Where(p => p.Name == "bodySite").ToList();
        for (var i = 0; i < siteParameters.Count; i++)
        {
            if (siteParameters[i].Value is not CodeableConcept concept)
            {
                return Bad("Each 'bodySite' is a valueCodeableConcept.", $"{Path("bodySite")}[{i}].value");
            }

            if (!BodyRegions.TryRead(concept, out var site))
            {
                return Unknown("'bodySite' must be a SNOMED CT body region of the body-region ValueSet, with a laterality (left, right, both) where the region has sides.",
                    $"{Path("bodySite")}[{i}].value");
            }

            sites.Add(site);
        }

        var techniques = new List<MassageTechnique>();
        var techniqueParameters = parameters.Parameter.Where(p => p.Name == "technique").ToList();
        for (var i = 0; i < techniqueParameters.Count; i++)
        {
            if (techniqueParameters[i].Value is not Coding coding)
            {
                return Bad("Each 'technique' is a valueCoding.", $"{Path("technique")}[{i}].value");
            }

            if (!MassageTechniques.Codes.TryFind(coding, out var technique))
            {
                return Unknown($"'technique' must be a code of {Referral.Model.Canonicals.MassageTechniqueSystem}.", $"{Path("technique")}[{i}].value");
            }

            techniques.Add(technique);
        }

        var motions = new List<RangeOfMotionMeasurement>();
        var motionParameters = parameters.Parameter.Where(p => p.Name == "rangeOfMotion").ToList();
        for (var i = 0; i < motionParameters.Count; i++)
        {
            var path = $"{Path("rangeOfMotion")}[{i}]";
            var parts = motionParameters[i].Part;
            if (parts.Any(p => p.Name is not ("joint" or "movement" or "degrees")) || parts.Count != 3
                || Part<CodeableConcept>(parts, "joint") is not { } joint
                || Part<Coding>(parts, "movement") is not { } movement
                || Part<FhirDecimal>(parts, "degrees")?.Value is not { } degrees)
            {
                return Bad("Each 'rangeOfMotion' has the parts 'joint' (valueCodeableConcept), 'movement' (valueCoding) and 'degrees' (valueDecimal).", path);
            }

            if (!BodyRegions.TryRead(joint, out var jointArea))
            {
                return Unknown("'joint' must be a SNOMED CT body region of the body-region ValueSet.", $"{path}.part.where(name='joint').value");
            }

            if (!OutcomeMeasures.RangeOfMotion.TryFind(movement, out var movementValue))
            {
                return Unknown($"'movement' must be a range-of-motion code of {Referral.Model.Canonicals.OutcomeMeasureSystem}.", $"{path}.part.where(name='movement').value");
            }

            motions.Add(new RangeOfMotionMeasurement(jointArea, movementValue, degrees));
        }

        FunctionalScore? functional = null;
        if (parameters.Parameter.FirstOrDefault(p => p.Name == "functionalScore") is { } scoreParameter)
        {
            var parts = scoreParameter.Part;
            if (parts.Any(p => p.Name is not ("instrument" or "score")) || parts.Count != 2
                || Part<Coding>(parts, "instrument") is not { } instrument
                || Part<FhirDecimal>(parts, "score")?.Value is not { } score)
            {
                return Bad("'functionalScore' has the parts 'instrument' (valueCoding) and 'score' (valueDecimal).", Path("functionalScore"));
            }

            if (!OutcomeMeasures.Instruments.TryFind(instrument, out var instrumentValue))
            {
                return Unknown("'instrument' must be PROMIS pain interference (LOINC 77865-4) or an instrument of the outcome-measure code system.",
                    $"{Path("functionalScore")}.part.where(name='instrument').value");
            }

            functional = new FunctionalScore(instrumentValue, score);
        }

        string? note = null;
        if (parameters.Parameter.FirstOrDefault(p => p.Name == "note") is { } noteParameter)
        {
            if (noteParameter.Value is not FhirString text)
            {
                return Bad("'note' is a valueString.", $"{Path("note")}.value");
            }

            note = text.Value;
        }

        return (new SessionRecord
        {
            Start = start,
            Minutes = minutes,
            BodyAreasTreated = sites,
            Techniques = techniques,
            PainBefore = painBefore,
            PainAfter = painAfter,
            RangeOfMotion = motions,
            FunctionalScore = functional,
            Note = note,
        }, null);
    }

    /// <summary>
    /// The session rules of the model name the fields of a <see cref="SessionRecord"/>; the caller sent Parameters,
    /// so each issue is rewritten to name the parameter it came from.
    /// </summary>
    public static OperationOutcome InTermsOfParameters(OperationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        foreach (var issue in outcome.Issue)
        {
            issue.Expression = [.. issue.Expression.Select(e => e is null ? e : Rewrite(e))];
        }

        return outcome;
    }

    private static string Rewrite(string expression)
    {
        var match = RecordPath().Match(expression);
        if (!match.Success)
        {
            return expression;
        }

        var name = match.Groups["field"].Value switch
        {
            "bodyAreasTreated" => "bodySite",
            "techniques" => "technique",
            var field => field,
        };
        var path = Path(name);
        if (match.Groups["index"].Success)
        {
            path += $"[{match.Groups["index"].Value}]";
        }

        var rest = match.Groups["rest"].Value;
        return rest.Length > 0
            ? $"{path}.part.where(name='{rest.TrimStart('.')}').value"
            : match.Groups["index"].Success || Single.Contains(name, StringComparer.Ordinal) ? $"{path}.value" : path;
    }

    [GeneratedRegex(@"^SessionRecord\.(?<field>[A-Za-z]+)(\[(?<index>\d+)\])?(?<rest>(\.[A-Za-z]+)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex RecordPath();

    private static T? Value<T>(Parameters parameters, string name) where T : DataType =>
        parameters.Parameter.FirstOrDefault(p => p.Name == name)?.Value as T;

    private static T? Part<T>(List<Parameters.ParameterComponent> parts, string name) where T : DataType =>
        parts.FirstOrDefault(p => p.Name == name)?.Value as T;

    private static (SessionRecord?, FhirResult?) Bad(string diagnostics, string expression) =>
        (null, Outcome.BadRequest(diagnostics, expression));

    private static (SessionRecord?, FhirResult?) Unknown(string diagnostics, string expression) =>
        (null, Outcome.Error(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.CodeInvalid, diagnostics, expression));
}

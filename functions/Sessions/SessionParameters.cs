using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Model.Conformance;
using Referral.Model.Fhir;
using Referral.Model.Sessions;
using Referral.Model.Terminology;

namespace Referral.Functions.Sessions;

/// <summary>
/// The <c>Parameters</c> body of <c>$record-session</c>, read into the model's <see cref="SessionRecord"/> after Firely's
/// validator has judged it on the operation's input profile (<see cref="Operation"/>: each parameter by name,
/// cardinality and type, the parts of <c>rangeOfMotion</c> and <c>functionalScore</c>; a 400 naming the parameter).
/// What is left here is what a profile does not say: a string against the rules of every input and a code that is not
/// ours (422), a start without time and offset (400), each naming the parameter.
/// </summary>
public static partial class SessionParameters
{
    public static OperationSpec Operation { get; } = ReferralOperations.Find("Task", "record-session");

    private static readonly string[] Single = [.. Operation.Inputs.Where(p => p.Max == "1").Select(p => p.Name)];

    public static string Path(string name) => $"Parameters.parameter.where(name='{name}')";

    public static (SessionRecord? Record, FhirResult? Error) Read(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (InputRules.Check(parameters) is { Count: > 0 } problems)
        {
            // A string against FHIR's rules or with markup: the body parsed, its content is refused (422), naming the parameter.
            return (null, Outcome.Of(Outcomes.From(problems), StatusCodes.Status422UnprocessableEntity));
        }

        if (!FhirTime.TryDateTime(Value<FhirDateTime>(parameters, "start")!.Value, out var start))
        {
            return Bad("'start' is a valueDateTime with date, time and offset.", $"{Path("start")}.value");
        }

        var sites = new List<BodyArea>();
        foreach (var (concept, i) in Values<CodeableConcept>(parameters, "bodySite"))
        {
            if (!BodyRegions.TryRead(concept, out var site))
            {
                return Unknown("'bodySite' must be a SNOMED CT body region of the body-region ValueSet, with a laterality (left, right, both) where the region has sides.",
                    $"{Path("bodySite")}[{i}].value");
            }

            sites.Add(site);
        }

        var techniques = new List<MassageTechnique>();
        foreach (var (coding, i) in Values<Coding>(parameters, "technique"))
        {
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
            if (!BodyRegions.TryRead(Part<CodeableConcept>(parts, "joint"), out var jointArea))
            {
                return Unknown("'joint' must be a SNOMED CT body region of the body-region ValueSet.", $"{path}.part.where(name='joint').value");
            }

            if (!OutcomeMeasures.RangeOfMotion.TryFind(Part<Coding>(parts, "movement"), out var movementValue))
            {
                return Unknown($"'movement' must be a range-of-motion code of {Referral.Model.Canonicals.OutcomeMeasureSystem}.", $"{path}.part.where(name='movement').value");
            }

            motions.Add(new RangeOfMotionMeasurement(jointArea, movementValue, Part<FhirDecimal>(parts, "degrees").Value!.Value));
        }

        FunctionalScore? functional = null;
        if (parameters.Parameter.FirstOrDefault(p => p.Name == "functionalScore") is { Part: var scoreParts })
        {
            if (!OutcomeMeasures.Instruments.TryFind(Part<Coding>(scoreParts, "instrument"), out var instrumentValue))
            {
                return Unknown("'instrument' must be PROMIS pain interference (LOINC 77865-4) or an instrument of the outcome-measure code system.",
                    $"{Path("functionalScore")}.part.where(name='instrument').value");
            }

            functional = new FunctionalScore(instrumentValue, Part<FhirDecimal>(scoreParts, "score").Value!.Value);
        }

        return (new SessionRecord
        {
            Start = start,
            Minutes = Value<Integer>(parameters, "minutes")!.Value!.Value,
            BodyAreasTreated = sites,
            Techniques = techniques,
            PainBefore = Value<Integer>(parameters, "painBefore")!.Value!.Value,
            PainAfter = Value<Integer>(parameters, "painAfter")!.Value!.Value,
            RangeOfMotion = motions,
            FunctionalScore = functional,
            Note = Value<FhirString>(parameters, "note")?.Value,
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

    /// <summary>Each value of a repeating parameter with its index; the input profile has made each one a <typeparamref name="T"/>.</summary>
    private static IEnumerable<(T Value, int Index)> Values<T>(Parameters parameters, string name) where T : DataType =>
        parameters.Parameter.Where(p => p.Name == name).Select((p, i) => ((T)p.Value!, i));

    /// <summary>A part the input profile requires, of its type.</summary>
    private static T Part<T>(List<Parameters.ParameterComponent> parts, string name) where T : DataType =>
        (T)parts.Single(p => p.Name == name).Value!;

    private static (SessionRecord?, FhirResult?) Bad(string diagnostics, string expression) =>
        (null, Outcome.BadRequest(diagnostics, expression));

    private static (SessionRecord?, FhirResult?) Unknown(string diagnostics, string expression) =>
        (null, Outcome.Error(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.CodeInvalid, diagnostics, expression));
}

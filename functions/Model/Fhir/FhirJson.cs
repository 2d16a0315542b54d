using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;

namespace Referral.Model.Fhir;

/// <summary>
/// FHIR JSON in and out through the Firely SDK. Parsing is strict: an unknown element, a wrong type or a code
/// outside a required binding is an error, never silently dropped into overflow.
/// </summary>
public static class FhirJson
{
    private static readonly FhirJsonDeserializer Strict = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict));
    private static readonly FhirJsonSerializer Serializer = new();

    public static string Serialize(Resource resource, bool pretty = false)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return Serializer.SerializeToString(resource, pretty);
    }

    /// <summary>
    /// Parses a resource strictly. On failure <paramref name="outcome"/> lists every problem the parser found,
    /// each with the FHIRPath of the element in issue.expression.
    /// </summary>
    public static bool TryParse(string json, out Resource? resource, out OperationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(json);
        outcome = new OperationOutcome();
        resource = null;
        try
        {
            if (Strict.TryDeserializeResource(json, out var parsed, out var issues))
            {
                resource = parsed;
                return true;
            }

            var rootName = parsed?.TypeName ?? "Resource";
            outcome.Issue.AddRange(issues.Select(issue => ToIssue(issue, rootName)));
            if (outcome.Issue.Count == 0)
            {
                outcome.Issue.Add(Outcomes.Error(ValidationRules.Unparseable, OperationOutcome.IssueType.Structure, null, "The body is not a FHIR resource."));
            }

            return false;
        }
        catch (JsonException e)
        {
            // The Firely parser reports FHIR-level problems as issues but lets malformed JSON through as an exception.
            outcome.Issue.Add(Outcomes.Error(ValidationRules.Unparseable, OperationOutcome.IssueType.Structure, null,
                $"The body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})."));
            return false;
        }
        catch (InvalidOperationException e) when (e.Message.Contains("UTF-16", StringComparison.OrdinalIgnoreCase))
        {
            // An escaped half of a surrogate pair ("\ud800") is JSON but no text: System.Text.Json throws reading it.
            outcome.Issue.Add(Outcomes.Error(ValidationRules.StringCharacters, OperationOutcome.IssueType.Structure, null,
                "The body holds a string that is not valid Unicode (half of a surrogate pair)."));
            return false;
        }
        catch (InvalidOperationException e) when (e.Message.Contains("unexpected token", StringComparison.OrdinalIgnoreCase))
        {
            // A root that is not a JSON object ([], a string, a number) makes the Firely parser throw rather than report.
            outcome.Issue.Add(Outcomes.Error(ValidationRules.Unparseable, OperationOutcome.IssueType.Structure, null,
                "The body must be a JSON object holding one FHIR resource."));
            return false;
        }
    }

    /// <summary>Parses strictly and requires the resource to be a <typeparamref name="T"/>.</summary>
    public static bool TryParse<T>(string json, out T? resource, out OperationOutcome outcome)
        where T : Resource
    {
        resource = null;
        if (!TryParse(json, out var parsed, out outcome))
        {
            return false;
        }

        if (parsed is T typed)
        {
            resource = typed;
            return true;
        }

        var expected = ModelInfo.GetFhirTypeNameForType(typeof(T));
        outcome.Issue.Add(Outcomes.Error(ValidationRules.ResourceType, OperationOutcome.IssueType.Invalid, parsed!.TypeName,
            $"Expected a {expected}, got a {parsed.TypeName}."));
        return false;
    }

    private static OperationOutcome.IssueComponent ToIssue(CodedException exception, string rootName)
    {
        if (exception is not ExtendedCodedException extended)
        {
            return Outcomes.Error(ValidationRules.Unparseable, OperationOutcome.IssueType.Structure, null, exception.Message);
        }

        var issue = extended.ToIssue();
        // The SDK names the root "$this" in some messages; a client wants the element's real FHIRPath.
        var expressions = issue.Expression.OfType<string>().Select(e => RootedAt(e, rootName)).ToList();
        issue.Expression = expressions;
        return issue;
    }

    private static string RootedAt(string expression, string rootName) =>
        expression == "$this" ? rootName
        : expression.StartsWith("$this.", StringComparison.Ordinal) ? rootName + expression["$this".Length..]
        : expression;
}

using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;

namespace SandboxEhr.Fhir;

/// <summary>FHIR JSON in and out through the Firely SDK, parsing strictly: unknown elements, bad codes and missing required elements are refused.</summary>
public static class FhirJson
{
    public const string MediaType = "application/fhir+json";

    private static readonly FhirJsonSerializer Serializer = new();
    private static readonly FhirJsonDeserializer Deserializer = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict));

    /// <summary>FHIR XML, the other format a client may post (the referral app posts its documents so).</summary>
    public const string XmlMediaType = "application/fhir+xml";

    private static readonly FhirXmlDeserializer XmlDeserializer = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict));

    public static string Serialize(Resource resource, bool pretty = false) => Serializer.SerializeToString(resource, pretty);

    /// <summary>Parses strictly; on failure returns the problems, each with the FHIRPath it is about where the SDK knows it.</summary>
    /// <summary>Parses FHIR XML strictly, as <see cref="Parse(string, out IReadOnlyList{ValueTuple{string, string}})"/> does JSON.</summary>
    public static Resource? ParseXml(string xml, out IReadOnlyList<(string Message, string? Path)> problems)
    {
        try
        {
            if (XmlDeserializer.TryDeserializeResource(xml, out var resource, out var issues))
            {
                problems = [];
                return resource;
            }

            problems = [.. issues.Select(i => (i.Message, (i as ExtendedCodedException)?.InstancePath))];
            return null;
        }
        catch (System.Xml.XmlException e)
        {
            problems = [($"The body is not XML: {e.Message}", null)];
            return null;
        }
    }

    public static Resource? Parse(string json, out IReadOnlyList<(string Message, string? Path)> problems)
    {
        try
        {
            if (Deserializer.TryDeserializeResource(json, out var resource, out var issues))
            {
                problems = [];
                return resource;
            }

            problems = [.. issues.Select(i => (i.Message, (i as ExtendedCodedException)?.InstancePath))];
            return null;
        }
        catch (JsonException e)
        {
            problems = [($"The body is not JSON: {e.Message}", null)];
            return null;
        }
    }

    public static IResult Result(Resource resource, int statusCode = StatusCodes.Status200OK) =>
        Results.Content(Serialize(resource), $"{MediaType}; charset=utf-8", Encoding.UTF8, statusCode);

    public static IResult Outcome(int statusCode, OperationOutcome.IssueType code, string diagnostics, IEnumerable<string?>? expressions = null) =>
        Result(
            new OperationOutcome
            {
                Issue =
                [
                    new OperationOutcome.IssueComponent
                    {
                        Severity = OperationOutcome.IssueSeverity.Error,
                        Code = code,
                        Diagnostics = diagnostics,
                        Expression = [.. (expressions ?? []).OfType<string>()],
                    },
                ],
            },
            statusCode);
}

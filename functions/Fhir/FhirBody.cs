using System.Buffers;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;
using Referral.Model.Conformance;
using Referral.Model.Fhir;

namespace Referral.Functions.Fhir;

/// <summary>
/// Reads a request body with a hard size limit, before anything parses it. Referrals come as FHIR JSON; an operation's
/// Parameters as FHIR JSON or XML, and an empty Parameters (no parameter at all) where every parameter is optional.
/// </summary>
public static class FhirBody
{
    /// <summary>A referral with every element filled in is a few kilobytes; anything near this is not one.</summary>
    public const int MaxBytes = 64 * 1024;

    private static readonly string[] AcceptedMediaTypes = ["application/fhir+json", "application/json"];
    private static readonly string[] XmlMediaTypes = ["application/fhir+xml", "application/xml", "text/xml"];

    /// <summary>The XML parser's code for "an empty element" (PVAL129): what an empty <c>&lt;Parameters/&gt;</c> raises.</summary>
    private static readonly string[] EmptyResourceCodes = ["PVAL129"];

    private static readonly FhirXmlDeserializer StrictXml = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict));

    /// <summary>The body as text, or the OperationOutcome that refuses it (415 wrong type, 413 too large, 400 empty or not UTF-8).</summary>
    public static Task<(string? Json, FhirResult? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return IsOneOf(request, AcceptedMediaTypes)
            ? ReadTextAsync(request, cancellationToken)
            : Task.FromResult<(string?, FhirResult?)>((null, Unsupported("Send the resource as application/fhir+json.")));
    }

    /// <summary>An operation's Parameters (<see cref="ReadParametersAsync(HttpRequest, OperationSpec?, CancellationToken)"/>) and the input <paramref name="read"/> takes from them, or the answer that refuses either.</summary>
    public static async Task<(Parameters? Parameters, T? Input, FhirResult? Error)> ReadParametersAsync<T>(
        HttpRequest request, OperationSpec operation, Func<Parameters, (T? Input, FhirResult? Error)> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        var (parameters, error) = await ReadParametersAsync(request, operation, cancellationToken);
        if (error is not null)
        {
            return (null, default, error);
        }

        var (input, readError) = read(parameters!);
        return (parameters, input, readError);
    }

    /// <summary>
    /// An operation's Parameters, in FHIR JSON or XML, parsed strictly; <c>{"resourceType":"Parameters"}</c> (or
    /// <c>&lt;Parameters/&gt;</c>) is an empty Parameters, as FHIR clients send for an operation called without parameters.
    /// Judged on <paramref name="operation"/>'s input profile (this API's operations), or on FHIR's Parameters (null: a core operation).
    /// </summary>
    public static async Task<(Parameters? Parameters, FhirResult? Error)> ReadParametersAsync(HttpRequest request, OperationSpec? operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var xml = IsOneOf(request, XmlMediaTypes);
        if (!xml && !IsOneOf(request, AcceptedMediaTypes))
        {
            return (null, Unsupported("Send the Parameters as application/fhir+json or application/fhir+xml."));
        }

        var (text, error) = await ReadTextAsync(request, cancellationToken);
        if (error is not null)
        {
            return (null, error);
        }

        if (xml)
        {
            return Judged(ParseXml(text!), operation);
        }

        if (FhirJson.TryParse<Parameters>(text!, out var parameters, out var outcome))
        {
            return Judged((parameters, null), operation);
        }

        return IsEmptyParameters(text!) ? Judged((new Parameters(), null), operation) : (null, Outcome.Of(outcome, StatusCodes.Status400BadRequest));
    }

    /// <summary>
    /// A parsed Parameters judged by Firely's validator on the operation's input profile (the parameters it takes by name,
    /// cardinality and type, and FHIR's own Parameters rules, e.g. inv-1: each parameter has one of value, resource or
    /// part), or on FHIR's Parameters definition for a core operation: an error is a 400 naming the parameter. The
    /// operation then reads what the profile cannot say (codes of our catalogs, ranges, a dateTime with an offset).
    /// </summary>
    private static (Parameters? Parameters, FhirResult? Error) Judged((Parameters? Parameters, FhirResult? Error) read, OperationSpec? operation)
    {
        // A string that breaks the rules of every input (control characters, markup) is named by the operation's own
        // reader with its rule (string-characters, plain-text), as before the package: it is not judged twice.
        if (read.Parameters is not { } parameters || InputRules.Check(parameters).Count > 0 || (operation is null && parameters.Parameter.Count == 0))
        {
            return read;
        }

        var problems = operation is null ? Conformance.ReferralPackage.Instance.Check(parameters) : Conformance.ReferralPackage.Instance.CheckInput(parameters, operation);
        return problems.Count == 0 ? read : (null, Outcome.Of(Outcomes.From(problems), StatusCodes.Status400BadRequest));
    }

    /// <summary>
    /// True for <c>{"resourceType":"Parameters"}</c>: a JSON object with that one property, which FHIR's JSON rules
    /// (no empty object) make the strict parser refuse, though it is how clients call an operation without parameters.
    /// </summary>
    private static bool IsEmptyParameters(string json)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            var root = document.RootElement;
            return root.ValueKind == System.Text.Json.JsonValueKind.Object
                && root.EnumerateObject().Count() == 1
                && root.TryGetProperty("resourceType", out var type)
                && type.ValueKind == System.Text.Json.JsonValueKind.String
                && type.GetString() == "Parameters";
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static (Parameters? Parameters, FhirResult? Error) ParseXml(string xml)
    {
        try
        {
            if (StrictXml.TryDeserializeResource(xml, out var parsed, out var issues))
            {
                return parsed is Parameters parameters
                    ? (parameters, null)
                    : (null, Outcome.BadRequest($"Expected a Parameters, got a {parsed?.TypeName}.", "Parameters"));
            }

            if (parsed is Parameters { Parameter.Count: 0, Id: null, Meta: null } && issues.All(i => EmptyResourceCodes.Contains(i.ErrorCode, StringComparer.Ordinal)))
            {
                return (new Parameters(), null);
            }

            var outcome = new OperationOutcome();
            outcome.Issue.AddRange(issues.Select(i => i is ExtendedCodedException extended
                ? extended.ToIssue()
                : Outcome.Issue(OperationOutcome.IssueType.Structure, i.Message).Issue[0]));
            if (outcome.Issue.Count == 0)
            {
                outcome.Issue.Add(Outcome.Issue(OperationOutcome.IssueType.Structure, "The body is not a FHIR resource.").Issue[0]);
            }

            return (null, Outcome.Of(outcome, StatusCodes.Status400BadRequest));
        }
        catch (System.Xml.XmlException e)
        {
            return (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Structure,
                $"The body is not well-formed XML (line {e.LineNumber}, position {e.LinePosition})."));
        }
    }

    private static bool IsOneOf(HttpRequest request, string[] mediaTypes) =>
        request.ContentType?.Split(';')[0].Trim() is { } mediaType && mediaTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase);

    private static FhirResult Unsupported(string diagnostics) =>
        Outcome.Error(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported, diagnostics);

    private static async Task<(string? Text, FhirResult? Error)> ReadTextAsync(HttpRequest request, CancellationToken cancellationToken)
    {

        if (request.ContentLength > MaxBytes)
        {
            return (null, TooLarge());
        }

        var buffer = ArrayPool<byte>.Shared.Rent(MaxBytes + 1);
        try
        {
            var length = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(length, MaxBytes + 1 - length), cancellationToken)) > 0)
            {
                length += read;
                if (length > MaxBytes)
                {
                    return (null, TooLarge());
                }
            }

            if (length == 0)
            {
                return (null, Outcome.BadRequest("The request has no body."));
            }

            try
            {
                return (new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, length), null);
            }
            catch (System.Text.DecoderFallbackException)
            {
                return (null, Outcome.BadRequest("The body is not UTF-8 text."));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static FhirResult TooLarge() => Outcome.Error(StatusCodes.Status413PayloadTooLarge, OperationOutcome.IssueType.TooLong,
        $"The body is larger than {MaxBytes / 1024} KB.");
}

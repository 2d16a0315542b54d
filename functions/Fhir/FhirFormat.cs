using Hl7.Fhir.Model;
using Microsoft.Net.Http.Headers;

namespace Referral.Functions.Fhir;

public enum FhirFormat
{
    Json,
    Xml,
}

/// <summary>
/// The FHIR format of an answer (FHIR's <c>_format</c>, else <c>Accept</c>): JSON or XML, both written by the Firely
/// serializers. <c>_format</c> takes <c>json</c>, <c>xml</c> or a media type; <c>Accept</c> takes the FHIR and the
/// plain JSON and XML media types (and wildcards), by preference. Anything else is a 406. Also serves <c>HEAD</c>
/// wherever <c>GET</c> is served: the GET's status and headers, no body.
/// </summary>
public static class FhirFormats
{
    private const string NegotiatedKey = "fhir-format";

    private static readonly Dictionary<string, FhirFormat> FormatParameter = new(StringComparer.OrdinalIgnoreCase)
    {
        ["json"] = FhirFormat.Json,
        ["application/json"] = FhirFormat.Json,
        ["application/fhir+json"] = FhirFormat.Json,
        ["application/json+fhir"] = FhirFormat.Json,
        ["xml"] = FhirFormat.Xml,
        ["text/xml"] = FhirFormat.Xml,
        ["application/xml"] = FhirFormat.Xml,
        ["application/fhir+xml"] = FhirFormat.Xml,
        ["application/xml+fhir"] = FhirFormat.Xml,
    };

    private static readonly Dictionary<string, FhirFormat> AcceptedMediaTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["*/*"] = FhirFormat.Json,
        ["application/*"] = FhirFormat.Json,
        ["application/fhir+json"] = FhirFormat.Json,
        ["application/json"] = FhirFormat.Json,
        ["application/json+fhir"] = FhirFormat.Json,
        ["application/fhir+xml"] = FhirFormat.Xml,
        ["application/xml"] = FhirFormat.Xml,
        ["application/xml+fhir"] = FhirFormat.Xml,
        ["text/xml"] = FhirFormat.Xml,
        ["text/*"] = FhirFormat.Xml,
    };

    /// <summary>The format the client asked for; null when it asked only for formats this API does not write.</summary>
    public static FhirFormat? Negotiate(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Query.TryGetValue("_format", out var format) && format.Count > 0)
        {
            // A '+' in an unescaped query string reads as a space (application/fhir xml).
            var value = (format[0] ?? "").Trim().Replace(' ', '+');
            return FormatParameter.TryGetValue(value.Split(';')[0].Trim(), out var asked) ? asked : null;
        }

        var accept = request.Headers.Accept;
        if (accept.Count == 0 || !MediaTypeHeaderValue.TryParseList(accept, out var ranges) || ranges.Count == 0)
        {
            return FhirFormat.Json;
        }

        foreach (var range in ranges.OrderByDescending(r => r.Quality ?? 1.0))
        {
            if ((range.Quality ?? 1.0) > 0 && AcceptedMediaTypes.TryGetValue(range.MediaType.Value ?? "", out var accepted))
            {
                return accepted;
            }
        }

        return null;
    }

    /// <summary>The format of this request's answer: as negotiated, JSON when the request asked for none this API writes (its 406 is JSON).</summary>
    public static FhirFormat Of(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.Items.TryGetValue(NegotiatedKey, out var value) && value is FhirFormat format ? format : Negotiate(http.Request) ?? FhirFormat.Json;
    }

    /// <summary>
    /// Before routing: on the FHIR API, a request for a format this API does not write is a 406 OperationOutcome; anywhere
    /// under <c>/api</c>, a <c>HEAD</c> runs as the <c>GET</c> it stands for, its body dropped (each GET function's
    /// function.json lists <c>head</c> too, so the Functions host forwards it).
    /// </summary>
    public static IApplicationBuilder UseFhirFormats(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (!http.Request.Path.StartsWithSegments("/api/fhir"))
        {
            // The rest of the API (health, the backend JWKS) serves HEAD as its GET too; formats are not negotiated there.
            await (HttpMethods.IsHead(http.Request.Method) && http.Request.Path.StartsWithSegments("/api") ? AsGetAsync(http, next) : next(http));
            return;
        }

        if (Negotiate(http.Request) is not { } format)
        {
            http.Items[NegotiatedKey] = FhirFormat.Json;
            await Outcome.Error(StatusCodes.Status406NotAcceptable, OperationOutcome.IssueType.NotSupported,
                "This API answers in FHIR JSON (application/fhir+json, _format=json) or FHIR XML (application/fhir+xml, _format=xml).", "_format").ExecuteAsync(http);
            return;
        }

        http.Items[NegotiatedKey] = format;
        await (HttpMethods.IsHead(http.Request.Method) ? AsGetAsync(http, next) : next(http));
    });

    /// <summary>
    /// A <c>HEAD</c> run as the <c>GET</c> it stands for: the same status and headers, the body dropped. The body stays
    /// dropped after the endpoint too: what the outer error pages write (a 401's OperationOutcome) is no body of a HEAD.
    /// </summary>
    private static async Task AsGetAsync(HttpContext http, RequestDelegate next)
    {
        http.Request.Method = HttpMethods.Get;
        http.Response.Body = Stream.Null;
        try
        {
            await next(http);
        }
        finally
        {
            http.Request.Method = HttpMethods.Head;
        }
    }
}

using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Referral.Functions.Fhir;

/// <summary>
/// A FHIR resource as the HTTP answer, in the format the request negotiated (<see cref="FhirFormats"/>: FHIR JSON or
/// XML, written by the Firely serializers). A 200 with an <see cref="ETag"/> that the request's <c>If-None-Match</c>
/// names is a 304 without a body.
/// </summary>
public sealed class FhirResult(Resource resource, int statusCode = StatusCodes.Status200OK) : IResult, IStatusCodeHttpResult
{
    public const string ContentType = "application/fhir+json; charset=utf-8";
    public const string XmlContentType = "application/fhir+xml; charset=utf-8";

    private static readonly FhirJsonSerializer Serializer = new();
    private static readonly FhirXmlSerializer XmlSerializer = new();

    public Resource Resource { get; } = resource;

    public int StatusCode { get; } = statusCode;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public Uri? Location { get; init; }

    /// <summary>The version the client must send back in <c>If-Match</c> to change the resource.</summary>
    public string? ETag { get; init; }

    /// <summary>
    /// False when the answer holds more than the version names (a ServiceRequest's EHR copy tag, which changes without a
    /// new version): then <c>If-None-Match</c> never makes it a 304, so a client is never left with a stale tag.
    /// </summary>
    public bool VersionCoversContent { get; init; } = true;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        var format = FhirFormats.Of(httpContext);
        response.Headers.CacheControl = "no-store";
        if (StatusCode == StatusCodes.Status200OK && ETag is not null && VersionCoversContent && NotModified(httpContext.Request, ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            response.Headers.ETag = ETag;
            return;
        }

        response.StatusCode = StatusCode;
        response.ContentType = format == FhirFormat.Xml ? XmlContentType : ContentType;
        if (Location is not null)
        {
            response.Headers.Location = Location.ToString();
        }

        if (ETag is not null)
        {
            response.Headers.ETag = ETag;
        }

        // An entry of a batch: the batch-response takes the resource itself (BatchEndpoint), so it is not written here to be read back there.
        if (httpContext.Features.Get<BatchEndpoint.EntryAnswer>() is { } entry)
        {
            entry.Resource = Resource;
            return;
        }

        var bytes = format == FhirFormat.Xml ? XmlSerializer.SerializeToBytes(Resource) : Serializer.SerializeToBytes(Resource);
        await response.Body.WriteAsync(bytes, httpContext.RequestAborted);
    }

    /// <summary>A read (GET or HEAD) whose <c>If-None-Match</c> names this version (weakly compared) or is <c>*</c>.</summary>
    private static bool NotModified(HttpRequest request, string etag)
    {
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) || request.Headers.IfNoneMatch.Count == 0)
        {
            return false;
        }

        var current = Opaque(etag);
        return request.Headers.IfNoneMatch.SelectMany(v => (v ?? "").Split(',')).Select(v => v.Trim())
            .Any(v => v == "*" || Opaque(v) == current);
    }

    private static string Opaque(string etag) => etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag;
}

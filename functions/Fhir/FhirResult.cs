using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Referral.Functions.Fhir;

/// <summary>A FHIR resource as the HTTP answer: <c>application/fhir+json</c>, written by the Firely serializer.</summary>
public sealed class FhirResult(Resource resource, int statusCode = StatusCodes.Status200OK) : IResult, IStatusCodeHttpResult
{
    public const string ContentType = "application/fhir+json; charset=utf-8";

    private static readonly FhirJsonSerializer Serializer = new();

    public Resource Resource { get; } = resource;

    public int StatusCode { get; } = statusCode;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public Uri? Location { get; init; }

    /// <summary>The version the client must send back in <c>If-Match</c> to change the resource.</summary>
    public string? ETag { get; init; }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = StatusCode;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-store";
        if (Location is not null)
        {
            response.Headers.Location = Location.ToString();
        }

        if (ETag is not null)
        {
            response.Headers.ETag = ETag;
        }

        await response.Body.WriteAsync(Serializer.SerializeToBytes(Resource), httpContext.RequestAborted);
    }
}

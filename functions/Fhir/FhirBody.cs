using System.Buffers;
using Hl7.Fhir.Model;

namespace Referral.Functions.Fhir;

/// <summary>Reads a request body with a hard size limit, before anything parses it.</summary>
public static class FhirBody
{
    /// <summary>A referral with every element filled in is a few kilobytes; anything near this is not one.</summary>
    public const int MaxBytes = 64 * 1024;

    private static readonly string[] AcceptedMediaTypes = ["application/fhir+json", "application/json"];

    /// <summary>The body as text, or the OperationOutcome that refuses it (415 wrong type, 413 too large, 400 empty or not UTF-8).</summary>
    public static async Task<(string? Json, FhirResult? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var mediaType = request.ContentType?.Split(';')[0].Trim();
        if (mediaType is null || !AcceptedMediaTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            return (null, Outcome.Error(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported,
                "Send the resource as application/fhir+json."));
        }

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

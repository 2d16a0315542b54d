using System.Globalization;
using Hl7.Fhir.Model;

namespace Referral.Functions.Fhir;

/// <summary>
/// A resource's version on the wire: the weak <c>ETag</c> every versioned answer carries, and the <c>If-Match</c> check
/// that makes a change to a version the client did not read a 412.
/// </summary>
public static class FhirVersions
{
    public static string ETag(int version) => $"W/\"{version.ToString(CultureInfo.InvariantCulture)}\"";

    /// <summary>
    /// The 412 when the request's <c>If-Match</c> names neither <paramref name="current"/> nor <paramref name="alsoAccepted"/>
    /// (a replay may carry the version it was first applied to); null when it matches or is absent.
    /// </summary>
    public static FhirResult? StaleIfMatch(HttpRequest request, string current, string? alsoAccepted = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Headers.IfMatch.Count > 0 && request.Headers.IfMatch.ToString() is var ifMatch && ifMatch != current && ifMatch != alsoAccepted
            ? Outcome.Error(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Conflict,
                $"The Task has changed since you read it (it is now {current}): read it again and retry.")
            : null;
    }

    /// <summary>The 412 of a change that lost a race to another, after its <c>If-Match</c> passed.</summary>
    public static FhirResult ChangedMeanwhile() => Outcome.Error(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Conflict,
        "The Task changed while this change was being made: read it again and retry.");
}

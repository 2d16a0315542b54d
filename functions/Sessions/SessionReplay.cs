using System.Security.Cryptography;
using System.Text;
using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Model.Fhir;

namespace Referral.Functions.Sessions;

/// <summary>What identifies one <c>$record-session</c> request, so the same request sent again is recognised.</summary>
/// <param name="Key">The idempotency key: the client's <c>Idempotency-Key</c>, else the hash of the canonical body.</param>
/// <param name="BodyHash">SHA-256 of the body as Firely serialises the parsed Parameters (so spacing and property order do not count).</param>
/// <param name="ClientKey">The client's key as sent, or null when the body's hash is the key.</param>
public sealed record SessionRequestKey(string Key, string BodyHash, string? ClientKey);

/// <summary>
/// Recognising a <c>$record-session</c> request sent again. A client names its request with the HTTP header
/// <c>Idempotency-Key</c> (IETF draft-ietf-httpapi-idempotency-key-header; any FHIR client can add a header, e.g.
/// Firely's <c>FhirClient.RequestHeaders</c>): the same key with the same body is the same request, the same key with
/// another body is refused. Without the header the request's key is the hash of its canonical body, so only an
/// identical body is the same request. Either way a different request for a start already recorded is a 409.
/// </summary>
public static class SessionReplay
{
    public const string Header = "Idempotency-Key";

    public const int MaxKeyLength = 255;

    public static SessionRequestKey? Read(HttpRequest request, Parameters parameters, out FhirResult? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        error = null;
        var bodyHash = Hash(FhirJson.Serialize(parameters));
        var headers = request.Headers[Header];
        if (headers.Count == 0)
        {
            return new SessionRequestKey("body\n" + bodyHash, bodyHash, null);
        }

        var key = headers.Count == 1 ? headers[0] : null;
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength || !key.All(c => c is >= '!' and <= '~'))
        {
            error = Outcome.BadRequest(
                $"The {Header} header is one value of 1 to {MaxKeyLength} visible ASCII characters (for example a UUID), the same for every retry of one request.",
                "http." + Header);
            return null;
        }

        return new SessionRequestKey("client\n" + key, bodyHash, key);
    }

    /// <summary>A different request for the start of a session already recorded: 409, naming that session and its Procedure (<c>Procedure/{id}</c>).</summary>
    public static FhirResult Conflict(string procedure, string? start, int session)
    {
        var text = $"Session {session} starting {start} is already recorded as {procedure}, with other content than this request. " +
                   "A recorded session is not changed by sending it again: to record another session give its own start; " +
                   "to repeat the same request send exactly the same body (and Idempotency-Key, if one was sent).";
        var outcome = Outcome.Issue(OperationOutcome.IssueType.Conflict, text, SessionParameters.Path("start"));
        outcome.Issue[0].Details = new CodeableConcept { Text = text };
        return Outcome.Of(outcome, StatusCodes.Status409Conflict);
    }

    private static string Hash(string canonical) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
}

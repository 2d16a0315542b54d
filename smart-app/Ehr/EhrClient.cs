using System.Net;
using System.Net.Http.Headers;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.WebUtilities;
using Referral.Model;
using Referral.SmartApp.Launch;

namespace Referral.SmartApp.Ehr;

public sealed class EhrRequestException(string message, HttpStatusCode? status = null, Exception? inner = null) : Exception(message, inner)
{
    public HttpStatusCode? Status { get; } = status;

    /// <summary>The EHR no longer takes the launch's access token: the physician's session with it has ended.</summary>
    public bool SessionEnded => Status == HttpStatusCode.Unauthorized;
}

/// <summary>A search's matches, and whether the EHR answered it at all (a refused search is not an empty one).</summary>
public sealed record EhrSearch<T>(IReadOnlyList<T> Resources, bool Read)
    where T : Resource;

/// <summary>
/// FHIR reads and searches at the launch's EHR with its access token as a Bearer token. A URL outside the launch's
/// FHIR base is never called with the token (SMART: do not follow references to other servers). A 401 means the
/// token is no longer good (the session with the EHR ended) and throws; the app writes nothing to the EHR (the
/// referral's copy there is the functions write-back's).
/// </summary>
public sealed class EhrClient(IHttpClientFactory clients, TimeProvider time)
{
    public const string FhirJsonMediaType = "application/fhir+json";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>EHRs send more than this app knows; what cannot be read is skipped rather than failing the launch.</summary>
    private static readonly FhirJsonDeserializer Tolerant = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));

    public async Task<T?> ReadAsync<T>(LaunchContext context, string reference, CancellationToken cancellationToken)
        where T : Resource
    {
        ArgumentNullException.ThrowIfNull(context);
        var url = OnEhr(context, reference);
        var (status, resource) = await SendAsync(context, new HttpRequestMessage(HttpMethod.Get, url), cancellationToken);
        return status == HttpStatusCode.OK ? resource as T : null;
    }

    /// <summary>The search's matches; <see cref="EhrSearch{T}.Read"/> is false when the EHR refused or failed it.</summary>
    public async Task<EhrSearch<T>> SearchAsync<T>(LaunchContext context, string type, IDictionary<string, string?> query, CancellationToken cancellationToken)
        where T : Resource
    {
        ArgumentNullException.ThrowIfNull(context);
        var url = QueryHelpers.AddQueryString(context.Iss + "/" + type, query);
        var (status, resource) = await SendAsync(context, new HttpRequestMessage(HttpMethod.Get, url), cancellationToken);
        return status == HttpStatusCode.OK && resource is Bundle bundle
            ? new EhrSearch<T>([.. bundle.Entry.Select(e => e.Resource).OfType<T>()], true)
            : new EhrSearch<T>([], false);
    }

    /// <summary>An absolute URL or a relative reference, as a URL under the launch's FHIR base; anything else is refused.</summary>
    public static string OnEhr(LaunchContext context, string reference)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(reference);
        if (!Uri.TryCreate(reference, UriKind.Absolute, out _))
        {
            return context.Iss + "/" + reference.TrimStart('/');
        }

        if (!reference.StartsWith(context.Iss + "/", StringComparison.Ordinal))
        {
            throw new EhrRequestException("The reference is not on the launching EHR's FHIR server; its token is not sent elsewhere.");
        }

        return reference;
    }

    private async Task<(HttpStatusCode Status, Resource? Body)> SendAsync(LaunchContext context, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.AccessToken);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(FhirJsonMediaType));
            using var timeout = new Deadline(Timeout, time, cancellationToken);
            try
            {
                using var response = await clients.CreateClient(EhrHttp.ClientName).SendAsync(request, timeout.Token);
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    throw new EhrRequestException("The EHR no longer accepts the app's access: the session with it has ended.", HttpStatusCode.Unauthorized);
                }

                var body = await response.Content.ReadAsStringAsync(timeout.Token);
                Resource? resource = null;
                if (body.Length > 0 && body.TrimStart().StartsWith('{'))
                {
                    try
                    {
                        resource = Tolerant.DeserializeResource(body);
                    }
                    catch (DeserializationFailedException e)
                    {
                        resource = e.PartialResult as Resource;
                    }
                }

                return (response.StatusCode, resource);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new EhrRequestException("The EHR did not answer in time.", HttpStatusCode.GatewayTimeout, e);
            }
            catch (HttpRequestException e)
            {
                throw new EhrRequestException("The EHR could not be reached.", null, e);
            }
        }
    }
}

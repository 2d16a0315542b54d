using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.WebUtilities;
using Referral.Model.Fhir;
using Referral.SmartApp.Launch;

namespace Referral.SmartApp.Ehr;

public sealed class EhrRequestException(string message, HttpStatusCode? status = null, Exception? inner = null) : Exception(message, inner)
{
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>
/// FHIR reads, searches and creates at the launch's EHR with its access token as a Bearer token. A URL outside the
/// launch's FHIR base is never called with the token (SMART: do not follow references to other servers).
/// </summary>
public sealed class EhrClient(IHttpClientFactory clients)
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

    public async Task<IReadOnlyList<T>> SearchAsync<T>(LaunchContext context, string type, IDictionary<string, string?> query, CancellationToken cancellationToken)
        where T : Resource
    {
        ArgumentNullException.ThrowIfNull(context);
        var url = QueryHelpers.AddQueryString(context.Iss + "/" + type, query);
        var (status, resource) = await SendAsync(context, new HttpRequestMessage(HttpMethod.Get, url), cancellationToken);
        return status == HttpStatusCode.OK && resource is Bundle bundle ? [.. bundle.Entry.Select(e => e.Resource).OfType<T>()] : [];
    }

    /// <summary>Creates the resource; the EHR's answer (the stored resource, or its OperationOutcome) is returned with the status.</summary>
    public async Task<(HttpStatusCode Status, Resource? Body)> CreateAsync(LaunchContext context, Resource resource, string? ifNoneExist, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(resource);
        var request = new HttpRequestMessage(HttpMethod.Post, context.Iss + "/" + resource.TypeName)
        {
            Content = new StringContent(FhirJson.Serialize(resource), Encoding.UTF8, FhirJsonMediaType),
        };
        if (ifNoneExist is not null)
        {
            // Conditional create: a retried write-back finds the first copy instead of making a second.
            request.Headers.TryAddWithoutValidation("If-None-Exist", ifNoneExist);
        }

        return await SendAsync(context, request, cancellationToken);
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
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            try
            {
                using var response = await clients.CreateClient(EhrHttp.ClientName).SendAsync(request, timeout.Token);
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

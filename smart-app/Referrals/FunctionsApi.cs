using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Duende.IdentityModel;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Referral.Model.Fhir;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Referrals;

public sealed class FunctionsOptions
{
    public const string Section = "Functions";

    public string BaseUrl { get; set; } = "http://127.0.0.1:7071";

    /// <summary>The <c>aud</c> the functions API expects in the tokens the app signs.</summary>
    public string Audience { get; set; } = "medical-massage-functions";
}

public sealed class FunctionsUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The functions API (FHIR at <c>/api/fhir</c>), called for the launched physician with a token the app signs per
/// call (DESIGN.md §6): iss = the app's base URL, aud = the API, sub and fhirUser = the verified fhirUser, ehr = the
/// launch's iss, patient = the launched patient, at most five minutes, unique jti, kid in the header.
/// </summary>
public sealed class FunctionsApi(HttpClient http, SigningKeys keys, IOptions<AppOptions> app, IOptions<FunctionsOptions> options, TimeProvider time)
{
    public const string FhirJsonMediaType = "application/fhir+json";
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(5);

    private static readonly FhirJsonDeserializer Tolerant = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));

    public async Task<string> TokenForAsync(LaunchContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var now = time.GetUtcNow();
        return await keys.SignAsync(SigningPurpose.ApiToken, new Dictionary<string, object>
        {
            [JwtClaimTypes.Issuer] = app.Value.BaseUrl.TrimEnd('/'),
            [JwtClaimTypes.Audience] = options.Value.Audience,
            [JwtClaimTypes.Subject] = context.FhirUser,
            ["fhirUser"] = context.FhirUser,
            ["ehr"] = context.Iss,
            ["patient"] = context.PatientId,
            [JwtClaimTypes.IssuedAt] = now.ToUnixTimeSeconds(),
            [JwtClaimTypes.Expiration] = (now + TokenLifetime).ToUnixTimeSeconds(),
            [JwtClaimTypes.JwtId] = AppSession.Base64UrlToken(16),
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<PractitionerRole>> TherapistsAsync(LaunchContext context, CancellationToken cancellationToken) =>
        Entries<PractitionerRole>(await GetAsync(context, "/api/fhir/PractitionerRole?_count=200", cancellationToken));

    public async Task<IReadOnlyList<ServiceRequest>> ReferralsAsync(LaunchContext context, CancellationToken cancellationToken) =>
        Entries<ServiceRequest>(await GetAsync(context, QueryHelpers.AddQueryString("/api/fhir/ServiceRequest", "patient", "Patient/" + context.PatientId), cancellationToken));

    public async Task<ServiceRequest?> ReferralAsync(LaunchContext context, string id, CancellationToken cancellationToken) =>
        (await GetAsync(context, "/api/fhir/ServiceRequest/" + Uri.EscapeDataString(id), cancellationToken)).Body as ServiceRequest;

    public async Task<Hl7.Fhir.Model.Task?> TaskAsync(LaunchContext context, string id, CancellationToken cancellationToken) =>
        (await GetAsync(context, "/api/fhir/Task/" + Uri.EscapeDataString(id), cancellationToken)).Body as Hl7.Fhir.Model.Task;

    /// <summary>The referral's results (DESIGN.md §4): Observations and Procedures basedOn it, searched by <c>based-on</c>.</summary>
    public async Task<IReadOnlyList<T>> ResultsAsync<T>(LaunchContext context, string referralId, CancellationToken cancellationToken)
        where T : Resource
    {
        var type = ModelInfo.GetFhirTypeNameForType(typeof(T));
        var response = await GetAsync(context, QueryHelpers.AddQueryString($"/api/fhir/{type}", "based-on", "ServiceRequest/" + referralId), cancellationToken);
        return Entries<T>(response);
    }

    /// <summary>POSTs the referral: 201 when new, 200 with the original when the placer id was seen (a retry), else the OperationOutcome.</summary>
    public async Task<(HttpStatusCode Status, Resource? Body)> SubmitAsync(LaunchContext context, ServiceRequest request, CancellationToken cancellationToken) =>
        await SendAsync(context, HttpMethod.Post, "/api/fhir/ServiceRequest", request, cancellationToken);

    public async Task<(HttpStatusCode Status, Resource? Body)> CancelAsync(LaunchContext context, string id, string reason, CancellationToken cancellationToken) =>
        await SendAsync(context, HttpMethod.Post, $"/api/fhir/Task/{Uri.EscapeDataString(id)}/$cancel", new Parameters
        {
            Parameter = [new Parameters.ParameterComponent { Name = "reason", Value = new FhirString(reason) }],
        }, cancellationToken);

    private Task<(HttpStatusCode Status, Resource? Body)> GetAsync(LaunchContext context, string path, CancellationToken cancellationToken) =>
        SendAsync(context, HttpMethod.Get, path, null, cancellationToken);

    private async Task<(HttpStatusCode Status, Resource? Body)> SendAsync(LaunchContext context, HttpMethod method, string path, Resource? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(options.Value.BaseUrl.TrimEnd('/') + path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenForAsync(context, cancellationToken));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(FhirJsonMediaType));
        if (body is not null)
        {
            request.Content = new StringContent(FhirJson.Serialize(body), Encoding.UTF8, FhirJsonMediaType);
        }

        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            Resource? resource = null;
            if (text.TrimStart().StartsWith('{'))
            {
                try
                {
                    resource = Tolerant.DeserializeResource(text);
                }
                catch (DeserializationFailedException e)
                {
                    resource = e.PartialResult as Resource;
                }
            }

            if ((int)response.StatusCode >= 500)
            {
                throw new FunctionsUnavailableException($"The referral service failed ({(int)response.StatusCode}).");
            }

            return (response.StatusCode, resource);
        }
        catch (HttpRequestException e)
        {
            throw new FunctionsUnavailableException("The referral service could not be reached.", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FunctionsUnavailableException("The referral service did not answer in time.", e);
        }
    }

    private static List<T> Entries<T>((HttpStatusCode Status, Resource? Body) response)
        where T : Resource =>
        response.Status == HttpStatusCode.OK && response.Body is Bundle bundle ? [.. bundle.Entry.Select(e => e.Resource).OfType<T>()] : [];
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Caching.Memory;
using Referral.Model;

namespace Referral.SmartApp.Launch;

/// <summary>What the app uses of an EHR's <c>.well-known/smart-configuration</c> (SMART App Launch 2.2).</summary>
public sealed record SmartConfiguration
{
    [JsonPropertyName("issuer")]
    public string? Issuer { get; init; }

    [JsonPropertyName("jwks_uri")]
    public string? JwksUri { get; init; }

    [JsonPropertyName("authorization_endpoint")]
    public string? AuthorizationEndpoint { get; init; }

    [JsonPropertyName("token_endpoint")]
    public string? TokenEndpoint { get; init; }

    [JsonPropertyName("capabilities")]
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    [JsonPropertyName("scopes_supported")]
    public IReadOnlyList<string> ScopesSupported { get; init; } = [];

    [JsonPropertyName("code_challenge_methods_supported")]
    public IReadOnlyList<string> CodeChallengeMethodsSupported { get; init; } = [];

    [JsonPropertyName("token_endpoint_auth_signing_alg_values_supported")]
    public IReadOnlyList<string> TokenEndpointAuthSigningAlgValuesSupported { get; init; } = [];

    /// <summary>RFC 9207: the server puts <c>iss</c> in every authorization response (SMART 2.2 says so in its capabilities).</summary>
    [JsonPropertyName("authorization_response_iss_parameter_supported")]
    public bool AuthorizationResponseIssParameterSupported { get; init; }

    public bool SendsAuthorizationResponseIss =>
        AuthorizationResponseIssParameterSupported || Capabilities.Contains("authorization_response_iss_parameter_supported");

    /// <summary>
    /// SMART v2 scopes unless the server says it only knows v1: <c>permission-v1</c> without <c>permission-v2</c>, or,
    /// without either capability, scopes_supported that hold only v1-style resource scopes.
    /// </summary>
    public bool SupportsV2Scopes
    {
        get
        {
            if (Capabilities.Contains("permission-v2"))
            {
                return true;
            }

            if (Capabilities.Contains("permission-v1"))
            {
                return false;
            }

            var resourceScopes = ScopesSupported.Where(SmartScopes.IsResourceScope).ToList();
            return resourceScopes.Count == 0 || resourceScopes.Any(s => !SmartScopes.IsV1(s));
        }
    }

    /// <summary>Relative endpoint URLs (legacy servers) are resolved against the FHIR base, as SMART asks.</summary>
    public SmartConfiguration ResolvedAgainst(string fhirBase)
    {
        var baseUri = new Uri(fhirBase.TrimEnd('/') + "/");
        string? Resolve(string? url) => url is null ? null : Uri.TryCreate(baseUri, url, out var absolute) ? absolute.ToString() : url;
        return this with
        {
            AuthorizationEndpoint = Resolve(AuthorizationEndpoint),
            TokenEndpoint = Resolve(TokenEndpoint),
            JwksUri = Resolve(JwksUri),
        };
    }
}

public enum DiscoveryFailure
{
    Unreachable,
    TimedOut,
    Invalid,
}

public sealed class DiscoveryException(DiscoveryFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public DiscoveryFailure Failure { get; } = failure;
}

/// <summary>
/// SMART discovery per <c>iss</c>, cached, so a launch after the first costs no discovery round trip. A slow EHR is
/// given <see cref="Timeout"/> by the app's clock; then the physician sees "unreachable or slow" instead of a spinner.
/// </summary>
public sealed class SmartDiscovery(IHttpClientFactory clients, IMemoryCache cache, TimeProvider time)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan CacheFor = TimeSpan.FromHours(1);

    public async Task<SmartConfiguration> GetAsync(EhrOptions ehr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        var key = "smart-configuration:" + ehr.NormalizedIss;
        if (cache.TryGetValue(key, out SmartConfiguration? cached) && cached is not null)
        {
            return cached;
        }

        using var timeout = new Deadline(Timeout, time, cancellationToken);
        var http = clients.CreateClient(EhrHttp.ClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, ehr.NormalizedIss + "/.well-known/smart-configuration");
        request.Headers.Accept.ParseAdd("application/json");
        SmartConfiguration? configuration;
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new DiscoveryException(DiscoveryFailure.Unreachable, $"The EHR answered {(int)response.StatusCode} to its SMART configuration request.");
            }

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            configuration = await JsonSerializer.DeserializeAsync<SmartConfiguration>(body, cancellationToken: timeout.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DiscoveryException(DiscoveryFailure.TimedOut, $"The EHR did not answer within {Timeout.TotalSeconds} seconds.", e);
        }
        catch (HttpRequestException e)
        {
            throw new DiscoveryException(DiscoveryFailure.Unreachable, "The EHR could not be reached.", e);
        }
        catch (JsonException e)
        {
            throw new DiscoveryException(DiscoveryFailure.Invalid, "The EHR's SMART configuration is not valid JSON.", e);
        }

        if (configuration?.AuthorizationEndpoint is null || configuration.TokenEndpoint is null)
        {
            throw new DiscoveryException(DiscoveryFailure.Invalid, "The EHR's SMART configuration names no authorization or token endpoint.");
        }

        configuration = configuration.ResolvedAgainst(ehr.NormalizedIss);
        cache.Set(key, configuration, CacheFor);
        return configuration;
    }
}

/// <summary>The one HTTP client for everything the app asks an EHR (discovery, tokens, FHIR).</summary>
public static class EhrHttp
{
    public const string ClientName = "ehr";
}

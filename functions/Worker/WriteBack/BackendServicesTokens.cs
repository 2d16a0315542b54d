using System.Net;
using System.Collections.Concurrent;
using System.Text.Json;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Options;
using Referral.Functions.WriteBack;
using Referral.Model.Signing;

namespace Referral.Worker.WriteBack;

/// <summary>The EHR could not be reached, refused the token request, or refused a write. Nothing here names a patient.</summary>
public sealed class EhrWriteException : Exception
{
    public EhrWriteException()
    {
    }

    public EhrWriteException(string message)
        : base(message)
    {
    }

    public EhrWriteException(string message, HttpStatusCode statusCode)
        : base(message)
    {
        StatusCode = statusCode;
    }

    /// <summary>What the EHR answered, where it answered (0: no answer); null for a refusal of ours (a foreign reference, no key).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Whether the failure may pass (no answer, 5xx, 429, 408), as an outage does; a refusal (4xx) will not.</summary>
    public bool MayPass => StatusCode is { } status && ((int)status == 0 || (int)status >= 500 || status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout);

    public EhrWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Access tokens for SMART Backend Services: the EHR's token endpoint from its <c>.well-known/smart-configuration</c>
/// (kept an hour), a <c>client_credentials</c> request authenticated by a <c>private_key_jwt</c> client assertion
/// (RS384, <c>kid</c>, unique <c>jti</c>, <c>aud</c> = the token endpoint, short <c>exp</c>) sent by Duende.IdentityModel,
/// and the token kept until shortly before it expires (on the app's <see cref="TimeProvider"/>).
/// Each EHR has its own token and its own request for one: write-backs to one EHR that need a token at the same
/// time share that one request (a task, not a lock), and no lock is held while it runs, so an EHR whose token
/// endpoint is slow or failing never holds up the write-backs to another.
/// </summary>
public sealed class BackendServicesTokens(
    IHttpClientFactory httpClients, BackendSigningKeys keys, IOptions<BackendServicesOptions> options, TimeProvider time)
{
    public const string HttpClientName = "ehr";

    private static readonly TimeSpan DiscoveryLifetime = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, SmartConfiguration Configuration)> discovery = new(StringComparer.Ordinal);

    /// <summary>Per EHR (by <c>iss</c>): its token, issued or being asked for.</summary>
    private readonly ConcurrentDictionary<string, Lazy<Task<IssuedToken>>> tokens = new(StringComparer.Ordinal);

    /// <summary>A token for writing to <paramref name="ehr"/>, from the cache while it has time left.</summary>
    public async Task<string> AccessTokenAsync(EhrRegistration ehr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        while (true)
        {
            var entry = tokens.GetOrAdd(ehr.Iss, _ => Request(ehr));
            if (entry.IsValueCreated && entry.Value.IsCompleted && (!entry.Value.IsCompletedSuccessfully || entry.Value.Result.Until <= time.GetUtcNow()))
            {
                // Expired or failed: replaced once, by whichever caller gets here first; the others take its request.
                tokens.TryUpdate(ehr.Iss, Request(ehr), entry);
                continue;
            }

            // A caller that gives up stops waiting; the request goes on for the others (the EHR client's timeout bounds it).
            var issued = await entry.Value.WaitAsync(cancellationToken);
            if (issued.Until > time.GetUtcNow())
            {
                return issued.Value;
            }
        }
    }

    /// <summary>Drops the cached token (the EHR said 401): the next try asks for a new one.</summary>
    public void Forget(EhrRegistration ehr)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        tokens.TryRemove(ehr.Iss, out _);
    }

    private Lazy<Task<IssuedToken>> Request(EhrRegistration ehr) => new(() => RequestAsync(ehr));

    private async Task<IssuedToken> RequestAsync(EhrRegistration ehr)
    {
        // Shared by every caller waiting for this EHR's token, so no one caller's cancellation ends it.
        var cancellationToken = CancellationToken.None;
        var configuration = await DiscoverAsync(ehr, cancellationToken);
        using var client = httpClients.CreateClient(HttpClientName);
        var response = await client.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = configuration.TokenEndpoint,
            ClientId = ehr.ClientId,
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            ClientAssertion = new ClientAssertion
            {
                Type = OidcConstants.ClientAssertionTypes.JwtBearer,
                Value = await AssertionAsync(ehr.ClientId, configuration.TokenEndpoint, cancellationToken),
            },
            Scope = Scopes(ehr, configuration),
        }, cancellationToken);
        if (response.IsError || string.IsNullOrEmpty(response.AccessToken))
        {
            throw new EhrWriteException($"The EHR's token endpoint refused the backend-services token request ({(int)response.HttpStatusCode} {response.Error}).", response.HttpStatusCode);
        }

        var lifetime = TimeSpan.FromSeconds(response.ExpiresIn > 0 ? response.ExpiresIn : 300);
        // Renewed a little before it runs out, so a token never expires between the cache and the EHR.
        var margin = TimeSpan.FromSeconds(Math.Min(60, lifetime.TotalSeconds / 10));
        return new IssuedToken(response.AccessToken, time.GetUtcNow() + lifetime - margin);
    }

    private sealed record IssuedToken(string Value, DateTimeOffset Until);

    /// <summary>SMART v2 scopes, or their v1 forms when the EHR advertises only <c>permission-v1</c>.</summary>
    private static string Scopes(EhrRegistration ehr, SmartConfiguration configuration)
    {
        var v1Only = configuration.Capabilities.Contains("permission-v1") && !configuration.Capabilities.Contains("permission-v2");
        var access = v1Only ? "write" : "c";
        var scopes = new List<string>();
        if (ehr.Writes != EhrWrites.Documents)
        {
            scopes.Add($"system/Observation.{access}");
        }

        if (ehr.WritesDocuments)
        {
            scopes.Add($"system/DocumentReference.{access}");
        }

        if (ehr.WriteServiceRequest)
        {
            scopes.Add($"system/ServiceRequest.{access}");
        }

        return string.Join(' ', scopes);
    }

    private async Task<string> AssertionAsync(string clientId, string tokenEndpoint, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        try
        {
            return await keys.SignAsync(new Dictionary<string, object>
            {
                [JwtClaimTypes.Issuer] = clientId,
                [JwtClaimTypes.Subject] = clientId,
                [JwtClaimTypes.Audience] = tokenEndpoint,
                [JwtClaimTypes.JwtId] = Guid.NewGuid().ToString("N"),
                [JwtClaimTypes.IssuedAt] = now.ToUnixTimeSeconds(),
                [JwtClaimTypes.NotBefore] = now.ToUnixTimeSeconds(),
                [JwtClaimTypes.Expiration] = (now + options.Value.AssertionLifetime).ToUnixTimeSeconds(),
            }, cancellationToken);
        }
        catch (KeyVaultException e)
        {
            // A failed try like an EHR failure: the message is retried, and the log says the vault was the cause.
            throw new EhrWriteException("The backend-services client assertion could not be signed. " + e.Message, e);
        }
    }

    private async Task<SmartConfiguration> DiscoverAsync(EhrRegistration ehr, CancellationToken cancellationToken)
    {
        if (discovery.TryGetValue(ehr.Iss, out var known) && known.Until > time.GetUtcNow())
        {
            return known.Configuration;
        }

        using var client = httpClients.CreateClient(HttpClientName);
        using var response = await client.GetAsync(new Uri($"{ehr.Iss.TrimEnd('/')}/.well-known/smart-configuration"), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new EhrWriteException($"The EHR's SMART configuration answered {(int)response.StatusCode}.", response.StatusCode);
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        if (!json.RootElement.TryGetProperty("token_endpoint", out var endpoint) || endpoint.GetString() is not { Length: > 0 } tokenEndpoint)
        {
            throw new EhrWriteException("The EHR's SMART configuration names no token_endpoint.");
        }

        var capabilities = json.RootElement.TryGetProperty("capabilities", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(c => c.GetString() ?? "").ToHashSet(StringComparer.Ordinal)
            : [];
        var configuration = new SmartConfiguration(tokenEndpoint, capabilities);
        discovery[ehr.Iss] = (time.GetUtcNow() + DiscoveryLifetime, configuration);
        return configuration;
    }

    private sealed record SmartConfiguration(string TokenEndpoint, IReadOnlySet<string> Capabilities);
}

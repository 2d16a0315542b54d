using System.Collections.Concurrent;
using System.Text.Json;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Options;
using Referral.Model.Signing;

namespace Referral.Functions.WriteBack;

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

    public EhrWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Access tokens for SMART Backend Services: the EHR's token endpoint from its <c>.well-known/smart-configuration</c>
/// (kept an hour), a <c>client_credentials</c> request authenticated by a <c>private_key_jwt</c> client assertion
/// (RS384, <c>kid</c>, unique <c>jti</c>, <c>aud</c> = the token endpoint, short <c>exp</c>) sent by Duende.IdentityModel,
/// and the token kept until shortly before it expires.
/// </summary>
public sealed class BackendServicesTokens(
    IHttpClientFactory httpClients, BackendSigningKeys keys, IOptions<BackendServicesOptions> options, TimeProvider time) : IDisposable
{
    public const string HttpClientName = "ehr";

    private static readonly TimeSpan DiscoveryLifetime = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, SmartConfiguration Configuration)> discovery = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, string Token)> tokens = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>A token for writing to <paramref name="ehr"/>, from the cache while it has time left.</summary>
    public async Task<string> AccessTokenAsync(EhrRegistration ehr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        if (tokens.TryGetValue(ehr.Iss, out var cached) && cached.Until > time.GetUtcNow())
        {
            return cached.Token;
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            if (tokens.TryGetValue(ehr.Iss, out cached) && cached.Until > time.GetUtcNow())
            {
                return cached.Token;
            }

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
                throw new EhrWriteException($"The EHR's token endpoint refused the backend-services token request ({(int)response.HttpStatusCode} {response.Error}).");
            }

            var lifetime = TimeSpan.FromSeconds(response.ExpiresIn > 0 ? response.ExpiresIn : 300);
            // Renewed a little before it runs out, so a token never expires between the cache and the EHR.
            var margin = TimeSpan.FromSeconds(Math.Min(60, lifetime.TotalSeconds / 10));
            tokens[ehr.Iss] = (time.GetUtcNow() + lifetime - margin, response.AccessToken);
            return response.AccessToken;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Drops the cached token (the EHR said 401): the next try asks for a new one.</summary>
    public void Forget(EhrRegistration ehr)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        tokens.TryRemove(ehr.Iss, out _);
    }

    public void Dispose() => gate.Dispose();

    /// <summary>SMART v2 scopes, or their v1 forms when the EHR advertises only <c>permission-v1</c>.</summary>
    private static string Scopes(EhrRegistration ehr, SmartConfiguration configuration)
    {
        var v1Only = configuration.Capabilities.Contains("permission-v1") && !configuration.Capabilities.Contains("permission-v2");
        var access = v1Only ? "write" : "c";
        var scopes = new List<string> { $"system/Observation.{access}" };
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
            throw new EhrWriteException($"The EHR's SMART configuration answered {(int)response.StatusCode}.");
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

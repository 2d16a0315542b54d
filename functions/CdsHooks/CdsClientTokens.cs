using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Tokens;
using Referral.Functions.Security;
using Referral.Model;
using Referral.Model.Signing;

namespace Referral.Functions.CdsHooks;

/// <summary>The EHR a CDS call verifiably came from, or why it is refused.</summary>
public sealed record CdsAuthentication(CdsClient? Client, string? Refusal, string? ClaimedIssuer)
{
    public bool Succeeded => Client is not null;
}

/// <summary>
/// Checks the JWT an EHR sends with every CDS Hooks call (CDS Hooks 2.0, "Trusting CDS Clients"): the issuer is on the
/// allow-list, the signature is by a key of that issuer's configured JWKS (cached; fetched again once when a token
/// names a key it lacks, as a rotation does), <c>aud</c> is the called service's URL, the token is current by the app's
/// clock and lives no longer than the EHR's registration allows (five minutes unless set), and its <c>jti</c> is accepted once (the API's shared replay store).
/// </summary>
public sealed class CdsClientTokens(IOptions<CdsHooksOptions> options, TokenReplayCache replays, TimeProvider time, IHttpClientFactory http)
{
    public const string HttpClientName = "cds-jwks";

    /// <summary>How long the EHR's key set may take to fetch, on the app's clock, inside the hook's time budget.</summary>
    public static readonly TimeSpan KeySetTimeout = TimeSpan.FromSeconds(5);

    private const string NoKeySet = "the EHR's key set could not be fetched";

    private static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    private readonly ConcurrentDictionary<string, ConfigurationManager<JsonWebKeySet>> keySets = new(StringComparer.Ordinal);
    private readonly JsonWebTokenHandler handler = new();

    public async Task<CdsAuthentication> AuthenticateAsync(string? authorization, string serviceId, CancellationToken cancellationToken)
    {
        const string prefix = "Bearer ";
        if (authorization is null || !authorization.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return new(null, "no bearer token", null);
        }

        var raw = authorization[prefix.Length..].Trim();
        string? issuer;
        try
        {
            issuer = handler.CanReadToken(raw) ? handler.ReadJsonWebToken(raw).Issuer : null;
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or FormatException or System.Text.Json.JsonException)
        {
            issuer = null;
        }

        var client = options.Value.Clients.FirstOrDefault(c => string.Equals(c.Issuer, issuer, StringComparison.Ordinal));
        if (client is null)
        {
            return new(null, "issuer not on the allow-list", issuer);
        }

        var keys = keySets.GetOrAdd(client.Issuer, _ => new ConfigurationManager<JsonWebKeySet>(
            client.JwksUrl, new JwksRetriever(), new HttpDocumentRetriever(http.CreateClient(HttpClientName)) { RequireHttps = options.Value.RequireHttpsMetadata }));
        if (await KeySetAsync(keys, cancellationToken) is not { } keySet)
        {
            return new(null, NoKeySet, issuer);
        }

        var result = await ValidateAsync(raw, client, serviceId, keySet);
        if (result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // A key the cached set lacks: the EHR may have rotated. One fresh fetch (the manager spaces them out).
            keys.RequestRefresh();
            if (await KeySetAsync(keys, cancellationToken) is not { } refreshed)
            {
                return new(null, NoKeySet, issuer);
            }

            result = await ValidateAsync(raw, client, serviceId, refreshed);
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            return new(null, "invalid token: " + (result.Exception?.GetType().Name ?? "unknown"), issuer);
        }

        if (!token.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Iat, out var iat)
            || !token.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Exp, out var exp)
            || exp < iat || exp - iat > (long)client.MaxTokenLifetime.TotalSeconds
            || DateTimeOffset.FromUnixTimeSeconds(iat) > time.GetUtcNow() + ApiAuthentication.ClockSkew)
        {
            return new(null, "token lifetime longer than the EHR's registration allows, or iat missing or in the future", issuer);
        }

        if (string.IsNullOrEmpty(token.Id))
        {
            return new(null, "token without jti", issuer);
        }

        // The replay store is shared with the physician tokens: the issuer keeps one EHR's jti from another's.
        if (!await replays.TryUseAsync($"cds\n{client.Issuer}\n{token.Id}", DateTimeOffset.FromUnixTimeSeconds(exp), cancellationToken))
        {
            return new(null, "jti used before", issuer);
        }

        return new(client, null, issuer);
    }

    /// <summary>The URL of one of this app's CDS services, as an EHR's JWT must name it in <c>aud</c>.</summary>
    public string ServiceUrl(string serviceId) => $"{options.Value.BaseUrl.TrimEnd('/')}/cds-services/{serviceId}";

    private Task<TokenValidationResult> ValidateAsync(string raw, CdsClient client, string serviceId, JsonWebKeySet keys) =>
        handler.ValidateTokenAsync(raw, new TokenValidationParameters
        {
            ValidIssuer = client.Issuer,
            ValidAudience = ServiceUrl(serviceId),
            IssuerSigningKeys = keys.GetSigningKeys(),
            ValidAlgorithms = Algorithms,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            // The key is the one the token's kid names in the EHR's set, never any key that happens to verify.
            TryAllIssuerSigningKeys = false,
            ClockSkew = ApiAuthentication.ClockSkew,
            LifetimeValidator = (notBefore, expires, _, parameters) => TokenLifetime.IsCurrent(notBefore, expires, time, parameters.ClockSkew),
        });

    /// <summary>
    /// The EHR's key set, from the manager's cache or fetched within <see cref="KeySetTimeout"/>; null when it cannot be
    /// had (unreachable, too slow, not a key set): the token cannot be checked, so the call is refused (401), never a
    /// server error.
    /// </summary>
    private async Task<JsonWebKeySet?> KeySetAsync(ConfigurationManager<JsonWebKeySet> keys, CancellationToken cancellationToken)
    {
        using var deadline = new Deadline(KeySetTimeout, time, cancellationToken);
        try
        {
            // The manager's fetch may not heed the token once under way: the wait for it does (its HttpClient's own
            // timeout, a backstop, ends the fetch itself).
            return await keys.GetConfigurationAsync(deadline.Token).WaitAsync(deadline.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or HttpRequestException or OperationCanceledException
                                  && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>A bare JWKS document as a key set (CDS clients publish no OpenID discovery).</summary>
    private sealed class JwksRetriever : IConfigurationRetriever<JsonWebKeySet>
    {
        public async Task<JsonWebKeySet> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel) =>
            new(await retriever.GetDocumentAsync(address, cancel));
    }
}

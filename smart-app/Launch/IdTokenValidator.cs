using Duende.IdentityModel.Client;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Model;
using Referral.Model.Signing;

namespace Referral.SmartApp.Launch;

public sealed class IdTokenException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Validates an EHR's id_token before its <c>fhirUser</c> is trusted (SMART App Launch 2.2, OpenID Connect Core
/// §3.1.3.7): the expected issuer (the EHR's, from its configuration), its OpenID configuration and JWKS fetched
/// from that issuer and cached, the signature, audience = our client id, expiry, and the nonce we sent.
/// </summary>
public sealed class IdTokenValidator(IHttpClientFactory clients, IMemoryCache cache, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromHours(1);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);
    private static readonly JsonWebTokenHandler Handler = new();

    private static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    /// <summary>The validated token's claims; throws <see cref="IdTokenException"/> naming what failed.</summary>
    public async Task<JsonWebToken> ValidateAsync(string idToken, string expectedIssuer, string clientId, string nonce, CancellationToken cancellationToken)
    {
        var keys = await SigningKeysAsync(expectedIssuer, refresh: false, cancellationToken);
        var result = await Handler.ValidateTokenAsync(idToken, Parameters(expectedIssuer, clientId, keys));
        if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // The EHR may have rotated its keys since they were cached.
            keys = await SigningKeysAsync(expectedIssuer, refresh: true, cancellationToken);
            result = await Handler.ValidateTokenAsync(idToken, Parameters(expectedIssuer, clientId, keys));
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            throw new IdTokenException("The id_token is not valid: " + (result.Exception?.GetType().Name ?? "unreadable"), result.Exception);
        }

        if (token.TryGetPayloadValue<string>("nonce", out var returned) && !string.Equals(returned, nonce, StringComparison.Ordinal))
        {
            throw new IdTokenException("The id_token's nonce is not the one this launch sent.");
        }

        return token;
    }

    private TokenValidationParameters Parameters(string issuer, string clientId, IReadOnlyList<SecurityKey> keys) => new()
    {
        ValidIssuer = issuer,
        ValidAudience = clientId,
        IssuerSigningKeys = keys,
        ValidAlgorithms = Algorithms,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateLifetime = true,
        LifetimeValidator = (notBefore, expires, _, _) => TokenLifetime.IsCurrent(notBefore, expires, time, ClockSkew),
    };

    private async Task<IReadOnlyList<SecurityKey>> SigningKeysAsync(string issuer, bool refresh, CancellationToken cancellationToken)
    {
        var key = "openid-keys:" + issuer;
        if (!refresh && cache.TryGetValue(key, out IReadOnlyList<SecurityKey>? cached) && cached is not null)
        {
            return cached;
        }

        using var timeout = new Deadline(SmartDiscovery.Timeout, time, cancellationToken);
        var http = clients.CreateClient(EhrHttp.ClientName);
        DiscoveryDocumentResponse discovery;
        try
        {
            discovery = await http.GetDiscoveryDocumentAsync(new DiscoveryDocumentRequest
            {
                Address = issuer,
                Policy = new DiscoveryPolicy
                {
                    // The issuer must be the one asked for; SMART EHRs often serve endpoints from other hosts.
                    ValidateIssuerName = true,
                    ValidateEndpoints = false,
                    RequireKeySet = true,
                },
            }, timeout.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IdTokenException("The EHR's OpenID configuration did not arrive in time.", e);
        }

        if (discovery.IsError || discovery.KeySet?.RawData is not { } jwks)
        {
            throw new IdTokenException("The EHR's OpenID configuration or keys could not be read: " + discovery.Error, discovery.Exception);
        }

        IReadOnlyList<SecurityKey> keys = [.. new JsonWebKeySet(jwks).GetSigningKeys()];
        cache.Set(key, keys, CacheFor);
        return keys;
    }
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SandboxEhr.Clients;

namespace SandboxEhr.Auth;

/// <summary>
/// Who is calling the token endpoint: a private_key_jwt client assertion (SMART asymmetric, RS384 or ES384),
/// a client secret (Basic or in the body), or a public client naming itself.
/// </summary>
public sealed class ClientAuthenticator(ClientRegistry clients, ClientKeys keys, AuthorizationStore store, TimeProvider time)
{
    public const string JwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>SMART: the assertion's exp is at most five minutes ahead.</summary>
    public static readonly TimeSpan MaxAssertionLifetime = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);
    private static readonly string[] AssertionAlgorithms = [SecurityAlgorithms.RsaSha384, SecurityAlgorithms.EcdsaSha384];
    private static readonly JsonWebTokenHandler Handler = new();

    public async Task<(RegisteredClient? Client, OAuthError? Error)> AuthenticateAsync(HttpRequest request, IFormCollection form, string tokenEndpoint, CancellationToken cancellationToken)
    {
        var clientId = FormValue(form, "client_id");
        if (FormValue(form, "client_assertion_type") is { } assertionType)
        {
            return await AssertionAsync(assertionType, FormValue(form, "client_assertion"), clientId, tokenEndpoint, cancellationToken);
        }

        if (request.Headers.Authorization.ToString() is { } header && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return Basic(header["Basic ".Length..].Trim(), clientId);
        }

        if (FormValue(form, "client_secret") is { } secret)
        {
            var client = clients.Find(clientId);
            return client is { UsesSecret: true } && SecretMatches(client, secret)
                ? (client, null)
                : (null, OAuthError.Client("The client id or secret is wrong."));
        }

        var publicClient = clients.Find(clientId);
        return publicClient switch
        {
            null when clientId is null => (null, OAuthError.Client("No client authentication was given.")),
            null => (null, OAuthError.Client($"Client '{clientId}' is not registered.")),
            { IsPublic: true } => (publicClient, null),
            _ => (null, OAuthError.Client($"Client '{clientId}' must authenticate with {publicClient.TokenEndpointAuthMethod}.")),
        };
    }

    private async Task<(RegisteredClient?, OAuthError?)> AssertionAsync(string assertionType, string? assertion, string? clientId, string tokenEndpoint, CancellationToken cancellationToken)
    {
        if (assertionType != JwtBearerAssertion)
        {
            return (null, OAuthError.Client($"client_assertion_type must be {JwtBearerAssertion}."));
        }

        if (string.IsNullOrEmpty(assertion))
        {
            return (null, OAuthError.Client("client_assertion is missing."));
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(assertion);
        }
        catch (ArgumentException)
        {
            return (null, OAuthError.Client("client_assertion is not a JWT."));
        }

        var client = clients.Find(jwt.Issuer);
        if (client is null)
        {
            return (null, OAuthError.Client($"The assertion's iss '{jwt.Issuer}' is not a registered client."));
        }

        if (clientId is not null && clientId != client.ClientId)
        {
            return (null, OAuthError.Client("client_id and the assertion's iss differ."));
        }

        if (client.TokenEndpointAuthMethod != AuthMethods.PrivateKeyJwt)
        {
            return (null, OAuthError.Client($"Client '{client.ClientId}' is registered for {client.TokenEndpointAuthMethod}, not private_key_jwt."));
        }

        if (!AssertionAlgorithms.Contains(jwt.Alg))
        {
            return (null, OAuthError.Client($"The assertion is signed with '{jwt.Alg}'; only RS384 and ES384 are accepted."));
        }

        if (string.IsNullOrEmpty(jwt.Kid))
        {
            return (null, OAuthError.Client("The assertion has no kid header."));
        }

        if (jwt.TryGetHeaderValue<string>("jku", out var jku) && jku != client.JwksUrl)
        {
            return (null, OAuthError.Client("The assertion's jku is not the client's registered JWKS URL."));
        }

        IReadOnlyList<JsonWebKey> signingKeys;
        try
        {
            signingKeys = await keys.FindAsync(client, jwt.Kid, cancellationToken);
        }
        catch (ClientKeysUnavailableException e)
        {
            return (null, OAuthError.Client(e.Message));
        }

        if (signingKeys.Count == 0)
        {
            return (null, OAuthError.Client($"Key '{jwt.Kid}' is not in the client's registered JWKS."));
        }

        var result = await Handler.ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            ValidIssuer = client.ClientId,
            ValidAudience = tokenEndpoint,
            IssuerSigningKeys = signingKeys,
            ValidAlgorithms = AssertionAlgorithms,
            ValidTypes = ["JWT"],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            LifetimeValidator = TokenLifetime.ValidatorAt(time, ClockSkew),
        });
        if (!result.IsValid)
        {
            return (null, OAuthError.Client($"The client assertion is not valid: {result.Exception?.Message}"));
        }

        var now = time.GetUtcNow();
        var expires = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
        if (jwt.Subject != client.ClientId)
        {
            return (null, OAuthError.Client("The assertion's sub must be the client_id."));
        }

        if (expires > now + MaxAssertionLifetime + ClockSkew)
        {
            return (null, OAuthError.Client("The assertion's exp is more than five minutes ahead."));
        }

        if (string.IsNullOrEmpty(jwt.Id))
        {
            return (null, OAuthError.Client("The assertion has no jti."));
        }

        if (!store.TryUseAssertionId(client.ClientId, jwt.Id, expires + ClockSkew))
        {
            return (null, OAuthError.Client("The assertion's jti was used before."));
        }

        return (client, null);
    }

    private (RegisteredClient?, OAuthError?) Basic(string encoded, string? clientIdInBody)
    {
        const string Challenge = "Basic realm=\"sandbox-ehr\"";
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            return (null, OAuthError.Client("The Basic credentials are not base64.", Challenge));
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return (null, OAuthError.Client("The Basic credentials have no ':'.", Challenge));
        }

        // RFC 6749 §2.3.1: id and secret are form-url-encoded before Basic encoding.
        var id = Uri.UnescapeDataString(decoded[..colon].Replace('+', ' '));
        var secret = Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' '));
        var client = clients.Find(id);
        if (client is not { UsesSecret: true } || !SecretMatches(client, secret) || (clientIdInBody is not null && clientIdInBody != id))
        {
            return (null, OAuthError.Client("The client id or secret is wrong.", Challenge));
        }

        return (client, null);
    }

    private static bool SecretMatches(RegisteredClient client, string secret) =>
        client.ClientSecret is { } expected
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(secret));

    /// <summary>One non-empty value; the token endpoint refuses repeated parameters (RFC 6749 §3.2) before this is asked.</summary>
    public static string? FormValue(IFormCollection form, string name) =>
        form.TryGetValue(name, out var values) && values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
}

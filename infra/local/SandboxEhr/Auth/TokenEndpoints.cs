using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using SandboxEhr.Clients;

namespace SandboxEhr.Auth;

/// <summary>The token endpoint: authorization_code (PKCE S256), refresh_token (rotating) and client_credentials (SMART Backend Services).</summary>
public static class TokenEndpoints
{
    public static IEndpointRouteBuilder MapToken(this IEndpointRouteBuilder app)
    {
        app.MapPost("/auth/token", TokenAsync).DisableAntiforgery().RequireCors(Cors.Public);
        return app;
    }

    private static async Task<IResult> TokenAsync(
        HttpContext context,
        ClientAuthenticator authenticator,
        AuthorizationStore store,
        TokenIssuer issuer,
        SandboxUrls urls,
        IOptions<SandboxOptions> options,
        CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        if (!context.Request.HasFormContentType)
        {
            return new OAuthError(OAuthError.InvalidRequest, "The token request must be application/x-www-form-urlencoded.").ToResult(response);
        }

        var form = await context.Request.ReadFormAsync(cancellationToken);
        if (form.FirstOrDefault(p => p.Value.Count > 1) is { Key: not null } repeated)
        {
            return new OAuthError(OAuthError.InvalidRequest, $"Parameter '{repeated.Key}' is repeated.").ToResult(response);
        }

        var endpoints = urls.For(context.Request);
        var (client, error) = await authenticator.AuthenticateAsync(context.Request, form, endpoints.Token, cancellationToken);
        if (client is null)
        {
            return error!.ToResult(response);
        }

        var exchange = new Exchange(form, client, endpoints, store, issuer, options.Value);
        var outcome = ClientAuthenticator.FormValue(form, "grant_type") switch
        {
            null => new OAuthError(OAuthError.InvalidRequest, "grant_type is missing."),
            GrantTypes.AuthorizationCode => exchange.AuthorizationCode(),
            GrantTypes.RefreshToken => exchange.RefreshToken(),
            GrantTypes.ClientCredentials => exchange.ClientCredentials(),
            var other => new OAuthError(OAuthError.UnsupportedGrantType, $"grant_type '{other}' is not supported."),
        };
        return outcome switch
        {
            TokenResponse tokens => Results.Json(tokens),
            OAuthError oauthError => oauthError.ToResult(response),
            _ => throw new InvalidOperationException("Unexpected token outcome."),
        };
    }

    private sealed class Exchange(IFormCollection form, RegisteredClient client, SandboxEndpoints urls, AuthorizationStore store, TokenIssuer issuer, SandboxOptions options)
    {
        public object AuthorizationCode()
        {
            if (!client.Allows(GrantTypes.AuthorizationCode))
            {
                return new OAuthError(OAuthError.UnauthorizedClient, "This client may not use the authorization_code grant.");
            }

            var code = Param("code");
            var redirectUri = Param("redirect_uri");
            if (code is null || redirectUri is null)
            {
                return new OAuthError(OAuthError.InvalidRequest, "code and redirect_uri are required.");
            }

            var (outcome, issued) = store.RedeemCode(code);
            switch (outcome)
            {
                case RedeemOutcome.Unknown:
                    return new OAuthError(OAuthError.InvalidGrant, "The authorization code is not known.");
                case RedeemOutcome.AlreadyUsed:
                    return new OAuthError(OAuthError.InvalidGrant, "The authorization code was used already; the tokens issued for it are revoked.");
                case RedeemOutcome.Expired:
                    return new OAuthError(OAuthError.InvalidGrant, "The authorization code has expired.");
            }

            if (issued!.Grant.ClientId != client.ClientId)
            {
                return new OAuthError(OAuthError.InvalidGrant, "The authorization code was issued to another client.");
            }

            if (issued.RedirectUri != redirectUri)
            {
                return new OAuthError(OAuthError.InvalidGrant, "redirect_uri differs from the one of the authorization request.");
            }

            if (Param("code_verifier") is not { } verifier || !VerifierMatches(verifier, issued.CodeChallenge))
            {
                return new OAuthError(OAuthError.InvalidGrant, "code_verifier does not match the code_challenge (PKCE S256).");
            }

            return Tokens(issued.Grant, issued.Nonce, includeIdToken: true);
        }

        public object RefreshToken()
        {
            if (Param("refresh_token") is not { } token)
            {
                return new OAuthError(OAuthError.InvalidRequest, "refresh_token is required.");
            }

            var (outcome, issued) = store.RedeemRefreshToken(token);
            if (outcome != RedeemOutcome.Redeemed || issued!.Grant.ClientId != client.ClientId)
            {
                return new OAuthError(OAuthError.InvalidGrant, outcome switch
                {
                    RedeemOutcome.AlreadyUsed => "The refresh token was used already; its grant is revoked.",
                    RedeemOutcome.Expired => "The refresh token has expired.",
                    _ => "The refresh token is not valid for this client.",
                });
            }

            var grant = issued.Grant;
            if (Param("scope") is { } scope)
            {
                // SMART: a refresh may narrow the scopes, never widen them.
                var requested = Scopes.Split(scope);
                if (requested.Any(s => !grant.Has(s)))
                {
                    return new OAuthError(OAuthError.InvalidScope, "A refresh can only ask for scopes of the original grant.");
                }

                grant = grant with { Scopes = requested };
            }

            return Tokens(grant, nonce: null, includeIdToken: false);
        }

        public object ClientCredentials()
        {
            if (!client.Allows(GrantTypes.ClientCredentials) || client.IsPublic)
            {
                return new OAuthError(OAuthError.UnauthorizedClient, "This client may not use the client_credentials grant.");
            }

            var requested = Scopes.Split(Param("scope"));
            if (requested.Count == 0)
            {
                return new OAuthError(OAuthError.InvalidScope, "scope is required.");
            }

            // Backend services act for no user and no patient, so only system/ scopes mean anything here.
            var granted = Scopes.Grantable(requested, client.Scopes)
                .Where(s => ResourceScope.TryParse(s, out var parsed) && parsed.Level == ResourceScope.SystemLevel)
                .ToList();
            if (granted.Count == 0)
            {
                return new OAuthError(OAuthError.InvalidScope, "None of the requested scopes may be granted to this client.");
            }

            var grant = new Grant(RandomTokens.Create(16), client.ClientId, granted, User: null, PatientId: null, EncounterId: null);
            var (accessToken, lifetime) = issuer.AccessToken(urls, client, grant, options.BackendAccessTokenLifetime);
            return new TokenResponse
            {
                AccessToken = accessToken,
                ExpiresIn = (long)lifetime.TotalSeconds,
                Scope = Scopes.Join(granted),
            };
        }

        private TokenResponse Tokens(Grant grant, string? nonce, bool includeIdToken)
        {
            var (accessToken, lifetime) = issuer.AccessToken(urls, client, grant, options.AccessTokenLifetime);
            string? refreshToken = null;
            if (grant.Has(Scopes.OfflineAccess) || grant.Has(Scopes.OnlineAccess))
            {
                var refreshLifetime = grant.Has(Scopes.OfflineAccess) ? options.OfflineAccessLifetime : options.OnlineAccessLifetime;
                refreshToken = store.IssueRefreshToken(grant, refreshLifetime).Token;
            }

            var idToken = includeIdToken && grant.Has(Scopes.OpenId) && grant.User is not null
                ? issuer.IdToken(urls, client, grant, accessToken, nonce)
                : null;
            return new TokenResponse
            {
                AccessToken = accessToken,
                ExpiresIn = (long)lifetime.TotalSeconds,
                Scope = Scopes.Join(grant.Scopes),
                IdToken = idToken,
                RefreshToken = refreshToken,
                Patient = grant.PatientId,
                Encounter = grant.EncounterId,
                NeedPatientBanner = grant.HasLaunchContext ? true : null,
                SmartStyleUrl = grant.HasLaunchContext ? urls.SmartStyle : null,
                AppContext = grant.HasLaunchContext ? grant.AppContext : null,
            };
        }

        private string? Param(string name) => ClientAuthenticator.FormValue(form, name);

        /// <summary>RFC 7636 §4.6 with S256: BASE64URL(SHA256(ASCII(code_verifier))) equals the challenge.</summary>
        private static bool VerifierMatches(string verifier, string challenge)
        {
            if (verifier.Length is < 43 or > 128 || verifier.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~')))
            {
                return false;
            }

            var computed = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
            return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(challenge));
        }
    }

    private sealed record TokenResponse
    {
        [JsonPropertyName("access_token")]
        public required string AccessToken { get; init; }

        [JsonPropertyName("token_type")]
        public string TokenType { get; init; } = "Bearer";

        [JsonPropertyName("expires_in")]
        public long ExpiresIn { get; init; }

        [JsonPropertyName("scope")]
        public required string Scope { get; init; }

        [JsonPropertyName("id_token")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? IdToken { get; init; }

        [JsonPropertyName("refresh_token")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? RefreshToken { get; init; }

        [JsonPropertyName("patient")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Patient { get; init; }

        [JsonPropertyName("encounter")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Encounter { get; init; }

        [JsonPropertyName("need_patient_banner")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public bool? NeedPatientBanner { get; init; }

        [JsonPropertyName("smart_style_url")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? SmartStyleUrl { get; init; }

        /// <summary>SMART App Launch 2: the launch's appContext (a CDS card's), a string the app interprets.</summary>
        [JsonPropertyName("appContext")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? AppContext { get; init; }
    }
}

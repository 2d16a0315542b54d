using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.IdentityModel.Tokens;
using SandboxEhr.Auth;

namespace SandboxEhr.Clients;

/// <summary>RFC 7591 dynamic client registration, open (no initial access token): it is a development EHR.</summary>
public static class RegistrationEndpoints
{
    public static IEndpointRouteBuilder MapRegistration(this IEndpointRouteBuilder app)
    {
        app.MapPost("/auth/register", RegisterAsync).DisableAntiforgery().RequireCors(Cors.Public);
        return app;
    }

    private static async Task<IResult> RegisterAsync(HttpRequest request, HttpResponse response, ClientRegistry registry, CancellationToken cancellationToken)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        if (!request.HasJsonContentType())
        {
            return Error("invalid_client_metadata", "The request body must be application/json client metadata.");
        }

        ClientMetadata? metadata;
        try
        {
            metadata = await JsonSerializer.DeserializeAsync<ClientMetadata>(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return Error("invalid_client_metadata", $"The client metadata is not valid JSON: {e.Message}");
        }

        if (metadata is null)
        {
            return Error("invalid_client_metadata", "The client metadata must be a JSON object.");
        }

        var grantTypes = metadata.GrantTypes is { Count: > 0 } g ? g.Distinct(StringComparer.Ordinal).ToList() : [GrantTypes.AuthorizationCode];
        if (grantTypes.FirstOrDefault(t => !GrantTypes.All.Contains(t)) is { } unknownGrant)
        {
            return Error("invalid_client_metadata", $"grant_type '{unknownGrant}' is not supported.");
        }

        var responseTypes = metadata.ResponseTypes is { Count: > 0 } r ? r.ToList() : ["code"];
        if (responseTypes.Any(t => t != "code"))
        {
            return Error("invalid_client_metadata", "Only the response_type 'code' is supported.");
        }

        // RFC 7591 §2: without a method the default is client_secret_basic.
        var method = metadata.TokenEndpointAuthMethod ?? AuthMethods.ClientSecretBasic;
        if (!AuthMethods.All.Contains(method))
        {
            return Error("invalid_client_metadata", $"token_endpoint_auth_method '{method}' is not supported.");
        }

        var redirectUris = metadata.RedirectUris ?? [];
        if (redirectUris.FirstOrDefault(u => !SandboxOptionsValidator.IsAbsoluteHttp(u)) is { } badRedirect)
        {
            return Error("invalid_redirect_uri", $"'{badRedirect}' is not an absolute http(s) URI without a fragment.");
        }

        if (grantTypes.Contains(GrantTypes.AuthorizationCode) && redirectUris.Count == 0)
        {
            return Error("invalid_redirect_uri", "The authorization_code grant needs at least one redirect_uri.");
        }

        var postLogout = metadata.PostLogoutRedirectUris ?? [];
        if (postLogout.FirstOrDefault(u => !SandboxOptionsValidator.IsAbsoluteHttp(u)) is { } badLogout)
        {
            return Error("invalid_client_metadata", $"post_logout_redirect_uri '{badLogout}' is not an absolute http(s) URI.");
        }

        if (grantTypes.Contains(GrantTypes.ClientCredentials) && method == AuthMethods.None)
        {
            return Error("invalid_client_metadata", "client_credentials needs a confidential client; SMART Backend Services use private_key_jwt.");
        }

        if (metadata.LaunchUri is not null && !SandboxOptionsValidator.IsAbsoluteHttp(metadata.LaunchUri))
        {
            return Error("invalid_client_metadata", "launch_uri must be an absolute http(s) URI.");
        }

        JsonWebKeySet? jwks = null;
        if (method == AuthMethods.PrivateKeyJwt)
        {
            if ((metadata.JwksUri is null) == (metadata.Jwks is null))
            {
                return Error("invalid_client_metadata", "private_key_jwt needs exactly one of jwks_uri and jwks.");
            }

            if (metadata.JwksUri is not null && !SandboxOptionsValidator.IsAbsoluteHttp(metadata.JwksUri))
            {
                return Error("invalid_client_metadata", "jwks_uri must be an absolute http(s) URI.");
            }

            if (metadata.Jwks is { } inline)
            {
                try
                {
                    jwks = new JsonWebKeySet(inline.GetRawText());
                }
                catch (ArgumentException e)
                {
                    return Error("invalid_client_metadata", $"jwks is not a JWK Set: {e.Message}");
                }

                if (jwks.Keys.Count == 0 || jwks.Keys.Any(k => string.IsNullOrEmpty(k.Kid) || k.Kty is not ("RSA" or "EC")))
                {
                    return Error("invalid_client_metadata", "Each key in jwks needs a kid and kty RSA or EC.");
                }
            }
        }

        var scope = Scopes.Split(metadata.Scope ?? (grantTypes.Contains(GrantTypes.ClientCredentials) && !grantTypes.Contains(GrantTypes.AuthorizationCode)
            ? "system/*.rs"
            : "openid fhirUser launch launch/patient launch/encounter online_access offline_access patient/*.rs user/*.rs"));
        if (scope.FirstOrDefault(s => Scopes.LooksLikeResourceScope(s) && !ResourceScope.TryParse(s, out _)) is { } badScope)
        {
            return Error("invalid_client_metadata", $"scope '{badScope}' is not a supported SMART scope.");
        }

        var client = registry.Register(new RegisteredClient
        {
            ClientId = "pending",
            ClientName = string.IsNullOrWhiteSpace(metadata.ClientName) ? "Registered app" : metadata.ClientName,
            LaunchUrl = metadata.LaunchUri,
            RedirectUris = [.. redirectUris],
            PostLogoutRedirectUris = [.. postLogout],
            JwksUrl = method == AuthMethods.PrivateKeyJwt ? metadata.JwksUri : null,
            Jwks = jwks,
            TokenEndpointAuthMethod = method,
            ClientSecret = method is AuthMethods.ClientSecretBasic or AuthMethods.ClientSecretPost ? RandomTokens.Create() : null,
            GrantTypes = grantTypes,
            Scopes = scope,
        });

        return Results.Json(
            new RegistrationResponse
            {
                ClientId = client.ClientId,
                ClientIdIssuedAt = client.IssuedAt.ToUnixTimeSeconds(),
                ClientSecret = client.ClientSecret,
                ClientSecretExpiresAt = client.ClientSecret is null ? null : 0,
                ClientName = client.ClientName,
                RedirectUris = client.RedirectUris,
                PostLogoutRedirectUris = client.PostLogoutRedirectUris.Count == 0 ? null : client.PostLogoutRedirectUris,
                GrantTypes = client.GrantTypes,
                ResponseTypes = grantTypes.Contains(GrantTypes.AuthorizationCode) ? responseTypes : [],
                TokenEndpointAuthMethod = client.TokenEndpointAuthMethod,
                JwksUri = client.JwksUrl,
                Jwks = metadata.Jwks,
                Scope = Scopes.Join(client.Scopes),
                LaunchUri = client.LaunchUrl,
            },
            statusCode: StatusCodes.Status201Created);
    }

    private static IResult Error(string error, string description) =>
        Results.Json(new OAuthErrorBody(error, description), statusCode: StatusCodes.Status400BadRequest);

    private sealed record ClientMetadata
    {
        [JsonPropertyName("client_name")]
        public string? ClientName { get; init; }

        [JsonPropertyName("redirect_uris")]
        public IReadOnlyList<string>? RedirectUris { get; init; }

        [JsonPropertyName("post_logout_redirect_uris")]
        public IReadOnlyList<string>? PostLogoutRedirectUris { get; init; }

        [JsonPropertyName("jwks_uri")]
        public string? JwksUri { get; init; }

        [JsonPropertyName("jwks")]
        public JsonElement? Jwks { get; init; }

        [JsonPropertyName("token_endpoint_auth_method")]
        public string? TokenEndpointAuthMethod { get; init; }

        [JsonPropertyName("grant_types")]
        public IReadOnlyList<string>? GrantTypes { get; init; }

        [JsonPropertyName("response_types")]
        public IReadOnlyList<string>? ResponseTypes { get; init; }

        [JsonPropertyName("scope")]
        public string? Scope { get; init; }

        /// <summary>Sandbox extension: where the chart's launch button opens the app.</summary>
        [JsonPropertyName("launch_uri")]
        public string? LaunchUri { get; init; }
    }

    private sealed record RegistrationResponse
    {
        [JsonPropertyName("client_id")]
        public required string ClientId { get; init; }

        [JsonPropertyName("client_id_issued_at")]
        public long ClientIdIssuedAt { get; init; }

        [JsonPropertyName("client_secret")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? ClientSecret { get; init; }

        [JsonPropertyName("client_secret_expires_at")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public long? ClientSecretExpiresAt { get; init; }

        [JsonPropertyName("client_name")]
        public required string ClientName { get; init; }

        [JsonPropertyName("redirect_uris")]
        public required IReadOnlyList<string> RedirectUris { get; init; }

        [JsonPropertyName("post_logout_redirect_uris")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public IReadOnlyList<string>? PostLogoutRedirectUris { get; init; }

        [JsonPropertyName("grant_types")]
        public required IReadOnlyList<string> GrantTypes { get; init; }

        [JsonPropertyName("response_types")]
        public required IReadOnlyList<string> ResponseTypes { get; init; }

        [JsonPropertyName("token_endpoint_auth_method")]
        public required string TokenEndpointAuthMethod { get; init; }

        [JsonPropertyName("jwks_uri")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? JwksUri { get; init; }

        [JsonPropertyName("jwks")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public JsonElement? Jwks { get; init; }

        [JsonPropertyName("scope")]
        public required string Scope { get; init; }

        [JsonPropertyName("launch_uri")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? LaunchUri { get; init; }
    }
}

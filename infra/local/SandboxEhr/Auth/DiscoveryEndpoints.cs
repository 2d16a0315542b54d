using System.Text.Json.Serialization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SandboxEhr.Clients;

namespace SandboxEhr.Auth;

/// <summary>
/// SMART discovery (<c>{fhir}/.well-known/smart-configuration</c>), OpenID Connect discovery and JWKS (at the issuer),
/// and the OpenID Connect end-session endpoint that ASP.NET Core's handler needs to sign out.
/// </summary>
public static class DiscoveryEndpoints
{
    /// <summary>Only what this sandbox really does (SMART App Launch 2.2 §capabilities).</summary>
    public static readonly IReadOnlyList<string> Capabilities =
    [
        "launch-ehr", "launch-standalone", "authorize-post",
        "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
        "sso-openid-connect",
        "context-passthrough-banner", "context-passthrough-style",
        "context-ehr-patient", "context-ehr-encounter", "context-standalone-patient", "context-standalone-encounter",
        "permission-offline", "permission-online", "permission-patient", "permission-user", "permission-v1", "permission-v2",
    ];

    public static readonly IReadOnlyList<string> ScopesSupported =
    [
        Scopes.OpenId, Scopes.FhirUser, Scopes.Profile, Scopes.Launch, Scopes.LaunchPatient, Scopes.LaunchEncounter,
        Scopes.OnlineAccess, Scopes.OfflineAccess,
        "patient/*.cruds", "user/*.cruds", "system/*.cruds", "patient/*.read", "patient/*.write", "user/*.read", "user/*.write", "system/*.read", "system/*.write",
    ];

    private static readonly string[] AssertionAlgorithms = [SecurityAlgorithms.RsaSha384, SecurityAlgorithms.EcdsaSha384];

    public static IEndpointRouteBuilder MapDiscovery(this IEndpointRouteBuilder app)
    {
        app.MapGet("/fhir/.well-known/smart-configuration", (HttpRequest request, SandboxUrls urls) => Results.Json(SmartConfiguration(urls.For(request))))
            .RequireCors(Cors.Public);
        app.MapGet("/.well-known/openid-configuration", (HttpRequest request, SandboxUrls urls) => Results.Json(OpenIdConfiguration(urls.For(request))))
            .RequireCors(Cors.Public);
        app.MapGet("/.well-known/jwks.json", (SigningKeys keys) => Results.Json(keys.Jwks)).RequireCors(Cors.Public);
        app.MapMethods("/auth/end-session", [HttpMethods.Get, HttpMethods.Post], EndSessionAsync).DisableAntiforgery();
        return app;
    }

    private static SmartConfigurationDocument SmartConfiguration(SandboxEndpoints urls) => new()
    {
        Issuer = urls.Issuer,
        JwksUri = urls.Jwks,
        AuthorizationEndpoint = urls.Authorize,
        TokenEndpoint = urls.Token,
        RegistrationEndpoint = urls.Register,
        GrantTypesSupported = GrantTypes.All,
        TokenEndpointAuthMethodsSupported = AuthMethods.All,
        TokenEndpointAuthSigningAlgValuesSupported = AssertionAlgorithms,
        ScopesSupported = ScopesSupported,
        ResponseTypesSupported = ["code"],
        CodeChallengeMethodsSupported = ["S256"],
        Capabilities = Capabilities,
    };

    private static OpenIdConfigurationDocument OpenIdConfiguration(SandboxEndpoints urls) => new()
    {
        Issuer = urls.Issuer,
        JwksUri = urls.Jwks,
        AuthorizationEndpoint = urls.Authorize,
        TokenEndpoint = urls.Token,
        RegistrationEndpoint = urls.Register,
        EndSessionEndpoint = urls.EndSession,
        GrantTypesSupported = GrantTypes.All,
        TokenEndpointAuthMethodsSupported = AuthMethods.All,
        TokenEndpointAuthSigningAlgValuesSupported = AssertionAlgorithms,
        ScopesSupported = ScopesSupported,
        ResponseTypesSupported = ["code"],
        ResponseModesSupported = [AuthorizationResponse.Query, AuthorizationResponse.FormPost],
        SubjectTypesSupported = ["public"],
        IdTokenSigningAlgValuesSupported = [SecurityAlgorithms.RsaSha256],
        CodeChallengeMethodsSupported = ["S256"],
        ClaimsSupported = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "fhirUser", "name", "given_name", "family_name"],
    };

    /// <summary>
    /// RP-initiated logout. The sandbox keeps no sign-in session of its own, so there is nothing to end: it only
    /// checks that the post-logout URI is registered for the client (else it would be an open redirector) and returns.
    /// </summary>
    private static async Task<IResult> EndSessionAsync(HttpContext context, ClientRegistry clients, SigningKeys keys, CancellationToken cancellationToken)
    {
        var parameters = HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync(cancellationToken)).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal)
            : context.Request.Query.ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
        var redirect = parameters.GetValueOrDefault("post_logout_redirect_uri");
        if (string.IsNullOrEmpty(redirect))
        {
            return Results.Content("<!DOCTYPE html><html lang=\"en\"><head><title>Signed out - Sandbox EHR</title></head><body><main><h1>Signed out</h1></main></body></html>", "text/html");
        }

        var clientId = parameters.GetValueOrDefault("client_id");
        if (string.IsNullOrEmpty(clientId) && parameters.GetValueOrDefault("id_token_hint") is { Length: > 0 } hint)
        {
            // An expired id_token is still a fine hint of who the client is, as long as the sandbox signed it.
            var result = await new JsonWebTokenHandler().ValidateTokenAsync(hint, new TokenValidationParameters
            {
                ValidateIssuer = false,
                ValidateAudience = false,
                ValidateLifetime = false,
                IssuerSigningKey = keys.ValidationKey,
            });
            clientId = result.IsValid ? (result.SecurityToken as JsonWebToken)?.Audiences.FirstOrDefault() : null;
        }

        var client = clients.Find(clientId);
        if (client is null || !client.PostLogoutRedirectUris.Contains(redirect, StringComparer.Ordinal))
        {
            return HtmlPages.Error("Sign-out redirect not registered", "The post_logout_redirect_uri is not registered for this app.");
        }

        var state = parameters.GetValueOrDefault("state");
        return Results.Redirect(string.IsNullOrEmpty(state) ? redirect : Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(redirect, "state", state));
    }

    private sealed record SmartConfigurationDocument
    {
        [JsonPropertyName("issuer")]
        public required string Issuer { get; init; }

        [JsonPropertyName("jwks_uri")]
        public required string JwksUri { get; init; }

        [JsonPropertyName("authorization_endpoint")]
        public required string AuthorizationEndpoint { get; init; }

        [JsonPropertyName("token_endpoint")]
        public required string TokenEndpoint { get; init; }

        [JsonPropertyName("registration_endpoint")]
        public required string RegistrationEndpoint { get; init; }

        [JsonPropertyName("grant_types_supported")]
        public required IReadOnlyList<string> GrantTypesSupported { get; init; }

        [JsonPropertyName("token_endpoint_auth_methods_supported")]
        public required IReadOnlyList<string> TokenEndpointAuthMethodsSupported { get; init; }

        [JsonPropertyName("token_endpoint_auth_signing_alg_values_supported")]
        public required IReadOnlyList<string> TokenEndpointAuthSigningAlgValuesSupported { get; init; }

        [JsonPropertyName("scopes_supported")]
        public required IReadOnlyList<string> ScopesSupported { get; init; }

        [JsonPropertyName("response_types_supported")]
        public required IReadOnlyList<string> ResponseTypesSupported { get; init; }

        [JsonPropertyName("code_challenge_methods_supported")]
        public required IReadOnlyList<string> CodeChallengeMethodsSupported { get; init; }

        [JsonPropertyName("capabilities")]
        public required IReadOnlyList<string> Capabilities { get; init; }
    }

    private sealed record OpenIdConfigurationDocument
    {
        [JsonPropertyName("issuer")]
        public required string Issuer { get; init; }

        [JsonPropertyName("jwks_uri")]
        public required string JwksUri { get; init; }

        [JsonPropertyName("authorization_endpoint")]
        public required string AuthorizationEndpoint { get; init; }

        [JsonPropertyName("token_endpoint")]
        public required string TokenEndpoint { get; init; }

        [JsonPropertyName("registration_endpoint")]
        public required string RegistrationEndpoint { get; init; }

        [JsonPropertyName("end_session_endpoint")]
        public required string EndSessionEndpoint { get; init; }

        [JsonPropertyName("grant_types_supported")]
        public required IReadOnlyList<string> GrantTypesSupported { get; init; }

        [JsonPropertyName("token_endpoint_auth_methods_supported")]
        public required IReadOnlyList<string> TokenEndpointAuthMethodsSupported { get; init; }

        [JsonPropertyName("token_endpoint_auth_signing_alg_values_supported")]
        public required IReadOnlyList<string> TokenEndpointAuthSigningAlgValuesSupported { get; init; }

        [JsonPropertyName("scopes_supported")]
        public required IReadOnlyList<string> ScopesSupported { get; init; }

        [JsonPropertyName("response_types_supported")]
        public required IReadOnlyList<string> ResponseTypesSupported { get; init; }

        [JsonPropertyName("response_modes_supported")]
        public required IReadOnlyList<string> ResponseModesSupported { get; init; }

        [JsonPropertyName("subject_types_supported")]
        public required IReadOnlyList<string> SubjectTypesSupported { get; init; }

        [JsonPropertyName("id_token_signing_alg_values_supported")]
        public required IReadOnlyList<string> IdTokenSigningAlgValuesSupported { get; init; }

        [JsonPropertyName("code_challenge_methods_supported")]
        public required IReadOnlyList<string> CodeChallengeMethodsSupported { get; init; }

        [JsonPropertyName("claims_supported")]
        public required IReadOnlyList<string> ClaimsSupported { get; init; }
    }
}

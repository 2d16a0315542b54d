using Microsoft.IdentityModel.Tokens;

namespace SandboxEhr.Clients;

/// <summary>A client the sandbox knows, from configuration or from RFC 7591 registration.</summary>
public sealed record RegisteredClient
{
    public required string ClientId { get; init; }

    public required string ClientName { get; init; }

    /// <summary>The app's EHR launch URL, if it can be launched from the chart.</summary>
    public string? LaunchUrl { get; init; }

    public string? LaunchLabel { get; init; }

    public IReadOnlyList<string> RedirectUris { get; init; } = [];

    public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];

    public string? JwksUrl { get; init; }

    /// <summary>A JWK Set given at registration instead of a URL (SMART allows it, discouraged).</summary>
    public JsonWebKeySet? Jwks { get; init; }

    public required string TokenEndpointAuthMethod { get; init; }

    public string? ClientSecret { get; init; }

    public IReadOnlyList<string> GrantTypes { get; init; } = [];

    /// <summary>The scopes the client may be granted.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    public string UserType { get; init; } = SandboxEhr.UserTypes.Physician;

    public string? AccessTokenAudience { get; init; }

    public DateTimeOffset IssuedAt { get; init; }

    public bool IsPublic => TokenEndpointAuthMethod == AuthMethods.None;

    public bool UsesSecret => TokenEndpointAuthMethod is AuthMethods.ClientSecretBasic or AuthMethods.ClientSecretPost;

    public bool Allows(string grantType) => GrantTypes.Contains(grantType, StringComparer.Ordinal);

    public string ButtonLabel => string.IsNullOrWhiteSpace(LaunchLabel) ? ClientName : LaunchLabel;
}

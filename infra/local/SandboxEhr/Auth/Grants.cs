using SandboxEhr.Clients;

namespace SandboxEhr.Auth;

/// <summary>Who signed in: a physician (Practitioner) for SMART apps, a therapist (PractitionerRole) for the inbox.</summary>
/// <summary>One person who can sign in; <paramref name="AppRoles"/> are the identity provider's app roles they hold.</summary>
public sealed record SandboxUser(string ResourceType, string Id, string Name, string? GivenName, string? FamilyName, string Description, IReadOnlyList<string> AppRoles);

/// <summary>
/// What one authorization allowed: it outlives its code and is carried by its refresh tokens, so a reused code
/// or refresh token can revoke everything issued under it.
/// </summary>
public sealed record Grant(string Id, string ClientId, IReadOnlyList<string> Scopes, SandboxUser? User, string? PatientId, string? EncounterId)
{
    /// <summary>The launch's <c>appContext</c> (a CDS card's SMART link hands it over), returned in the token response.</summary>
    public string? AppContext { get; init; }

    public bool Has(string scope) => Scopes.Contains(scope, StringComparer.Ordinal);

    public bool HasLaunchContext => Has(Auth.Scopes.Launch) || Has(Auth.Scopes.LaunchPatient) || Has(Auth.Scopes.LaunchEncounter);
}

/// <summary>An EHR launch: the opaque <c>launch</c> value bound on the server to who launched which app for which patient, and the CDS card's appContext when a card launched it.</summary>
public sealed record EhrLaunch(string Id, string ClientId, string PatientId, string? EncounterId, string PractitionerId, DateTimeOffset ExpiresAt, string? AppContext = null);

/// <summary>A checked authorization request; <see cref="Scopes"/> are those that may be granted.</summary>
public sealed record AuthorizationRequest
{
    public required RegisteredClient Client { get; init; }

    public required string RedirectUri { get; init; }

    public required string State { get; init; }

    public required string CodeChallenge { get; init; }

    public required string ResponseMode { get; init; }

    public required IReadOnlyList<string> Scopes { get; init; }

    public string? Nonce { get; init; }

    /// <summary>Patient-level access needs a patient, so a standalone launch that asks for it shows a patient picker.</summary>
    public bool NeedsPatient =>
        Scopes.Contains(Auth.Scopes.LaunchPatient, StringComparer.Ordinal)
        || Auth.Scopes.ResourceScopes(Scopes).Any(s => s.Level == ResourceScope.PatientLevel);
}

/// <summary>An authorization request waiting for its sign-in, picker and approval page.</summary>
public sealed record PendingAuthorization(string Id, AuthorizationRequest Request, DateTimeOffset ExpiresAt);

public sealed record IssuedCode(string Code, Grant Grant, string RedirectUri, string CodeChallenge, string? Nonce, DateTimeOffset ExpiresAt);

public sealed record IssuedRefreshToken(string Token, Grant Grant, DateTimeOffset ExpiresAt);

public enum RedeemOutcome
{
    Redeemed,
    Unknown,
    Expired,
    AlreadyUsed,
}

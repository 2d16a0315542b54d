namespace Referral.SmartApp.Launch;

/// <summary>
/// What the app remembers between <c>/launch</c> and <c>/callback</c>, on the server in the browser's session:
/// the state value is the key, so a state from another session, a reused or an expired one finds nothing.
/// </summary>
public sealed record LaunchRecord
{
    public required string State { get; init; }

    public required string Iss { get; init; }

    public required string CodeVerifier { get; init; }

    public required string Nonce { get; init; }

    public required string Scope { get; init; }

    public required bool Standalone { get; init; }

    public required DateTimeOffset Created { get; init; }

    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    public static string Key(string state) => "launch:" + state;

    /// <summary>Kept after the state is used, so a replay is told "already used" rather than "unknown".</summary>
    public static string UsedKey(string state) => "launch-used:" + state;
}

/// <summary>One launched patient context: the EHR, the verified user, the tokens (server only) and what was read.</summary>
public sealed record LaunchContext
{
    public required string Id { get; init; }

    public required string Iss { get; init; }

    /// <summary>The physician, as the absolute URL of their FHIR resource from the validated id_token.</summary>
    public required string FhirUser { get; init; }

    public required string PatientId { get; init; }

    public string? EncounterId { get; init; }

    public required string GrantedScope { get; init; }

    public required string AccessToken { get; init; }

    public string? RefreshToken { get; init; }

    public required DateTimeOffset AccessTokenExpires { get; init; }

    public required string TokenEndpoint { get; init; }

    public bool NeedPatientBanner { get; init; }

    public string? SmartStyleUrl { get; init; }

    /// <summary>The token response's <c>appContext</c> (a CDS card's link puts the diagnosis there): a hint, checked against the record before use.</summary>
    public string? AppContext { get; init; }

    public static string Key(string id) => "context:" + id;
}

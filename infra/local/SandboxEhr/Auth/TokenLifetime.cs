using Microsoft.IdentityModel.Tokens;

namespace SandboxEhr.Auth;

/// <summary>
/// Lifetime checks against <see cref="TimeProvider"/> rather than the wall clock, so tests can move time
/// (Microsoft.IdentityModel 8 keeps its own TimeProvider setting internal).
/// </summary>
public static class TokenLifetime
{
    public static LifetimeValidator ValidatorAt(TimeProvider time, TimeSpan clockSkew) => (notBefore, expires, _, _) =>
    {
        var now = time.GetUtcNow().UtcDateTime;
        return expires is { } exp && exp > now - clockSkew && (notBefore is not { } nbf || nbf <= now + clockSkew);
    };
}

namespace Referral.Model.Signing;

/// <summary>
/// A token's lifetime judged by the app's clock. Microsoft.IdentityModel 8 checks <c>nbf</c> and <c>exp</c> against the
/// machine clock (its own TimeProvider setting is internal), so every validation in the apps sets
/// <c>TokenValidationParameters.LifetimeValidator</c> to this check with the injected <see cref="TimeProvider"/>,
/// which the tests replace with a fake clock. (The model takes no IdentityModel package: the apps wrap it in the delegate.)
/// </summary>
public static class TokenLifetime
{
    /// <summary>True when the token has an expiry that has not passed and is not before its <c>nbf</c>, each within <paramref name="clockSkew"/>.</summary>
    public static bool IsCurrent(DateTime? notBefore, DateTime? expires, TimeProvider time, TimeSpan clockSkew)
    {
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow().UtcDateTime;
        return expires is { } exp && exp > now - clockSkew && (notBefore is not { } nbf || nbf <= now + clockSkew);
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Caching.Distributed;

namespace Referral.SmartApp.Security;

/// <summary>
/// The browser's only credential: an opaque random session id in a cookie. Everything else (launch records,
/// tokens, the patient's record, the form) lives on the server in <see cref="IDistributedCache"/>, under keys
/// derived from a hash of the id, each value encrypted with Data Protection before it leaves the process, so a dump of
/// a shared cache (Redis, <see cref="SharedState"/>) shows no token and no name.
/// </summary>
public sealed class AppSession(IDistributedCache cache, IDataProtectionProvider protection, TimeProvider time)
{
    public const string CookieName = "mmr-session";

    /// <summary>How long an idle session keeps its tokens and form.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromHours(8);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly IDataProtector protector = protection.CreateProtector("Referral.SmartApp.Session");

    /// <summary>
    /// The cookie options that let the app work inside an EHR's iframe: a third-party context needs
    /// <c>SameSite=None</c> (so <c>Secure</c>), and CHIPS <c>Partitioned</c> keeps the cookie to this EHR's top-level site.
    /// </summary>
    public static CookieOptions CookieOptions() => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = SameSiteMode.None,
        Path = "/",
        IsEssential = true,
        Extensions = { "Partitioned" },
    };

    /// <summary>The session of this request, if the browser sent one.</summary>
    public static string? IdOf(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var id = http.Request.Cookies[CookieName];
        return id is { Length: 43 } ? id : null;
    }

    /// <summary>This request's session, starting one (and setting its cookie) when there is none.</summary>
    public static string Ensure(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (IdOf(http) is { } existing)
        {
            return existing;
        }

        var id = Base64UrlToken(32);
        http.Response.Cookies.Append(CookieName, id, CookieOptions());
        return id;
    }

    public static string Base64UrlToken(int bytes) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(bytes));

    public async Task<T?> GetAsync<T>(string session, string key, CancellationToken cancellationToken)
        where T : class
    {
        var bytes = await cache.GetAsync(Key(await StoreOfAsync(session, cancellationToken), key), cancellationToken);
        return Read<T>(bytes);
    }

    public async Task SetAsync<T>(string session, string key, T value, TimeSpan lifetime, CancellationToken cancellationToken, bool sliding = false) =>
        await cache.SetAsync(Key(await StoreOfAsync(session, cancellationToken), key), Write(value), sliding
            ? new DistributedCacheEntryOptions { SlidingExpiration = lifetime }
            : new DistributedCacheEntryOptions { AbsoluteExpiration = time.GetUtcNow() + lifetime }, cancellationToken);

    public async Task RemoveAsync(string session, string key, CancellationToken cancellationToken) =>
        await cache.RemoveAsync(Key(await StoreOfAsync(session, cancellationToken), key), cancellationToken);

    /// <summary>
    /// A new session id for a browser whose launch succeeded (no session fixation: a value planted before the launch,
    /// or seen before it, opens nothing after it). The old id stops working at once. The session's data stays with the
    /// new id only when the same EHR user launched it; another user starts with nothing, so their predecessor's launch
    /// contexts on a shared workstation no longer open. Returns the new id, already set as the cookie.
    /// </summary>
    public async Task<string> RenewAsync(HttpContext http, string session, string fhirUser, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var owner = await OwnerOfAsync(session, cancellationToken);
        var store = owner is not null && string.Equals(owner.FhirUser, fhirUser, StringComparison.Ordinal) ? owner.Store : Base64UrlToken(32);
        var renewed = Base64UrlToken(32);
        await cache.SetAsync(OwnerKey(renewed), Write(new SessionOwner(store, fhirUser)),
            new DistributedCacheEntryOptions { SlidingExpiration = IdleTimeout }, cancellationToken);
        await cache.RemoveAsync(OwnerKey(session), cancellationToken);
        http.Response.Cookies.Append(CookieName, renewed, CookieOptions());
        return renewed;
    }

    /// <summary>
    /// Where a session's data lives: a session renewed at a launch points to its store (a random id never sent to a
    /// browser); one not yet launched keeps its data under its own id, which holds nothing but pending launch records.
    /// </summary>
    private async Task<string> StoreOfAsync(string session, CancellationToken cancellationToken) =>
        (await OwnerOfAsync(session, cancellationToken))?.Store ?? session;

    private async Task<SessionOwner?> OwnerOfAsync(string session, CancellationToken cancellationToken)
    {
        return Read<SessionOwner>(await cache.GetAsync(OwnerKey(session), cancellationToken));
    }

    private byte[] Write<T>(T value) => protector.Protect(JsonSerializer.SerializeToUtf8Bytes(value, Json));

    private T? Read<T>(byte[]? bytes)
        where T : class
    {
        if (bytes is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(protector.Unprotect(bytes), Json);
        }
        catch (CryptographicException)
        {
            // Written under a Data Protection key this instance does not have (or tampered with): as if never written.
            return null;
        }
    }

    private static string OwnerKey(string session) => "owner:" + Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(session)));

    private sealed record SessionOwner(string Store, string FhirUser);

    /// <summary>The cache never sees the cookie's value itself, so a cache dump cannot be replayed as a cookie.</summary>
    private static string Key(string session, string key) =>
        "s:" + Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(session))) + ":" + key;
}

public static class AppSessionRegistration
{
    public static IServiceCollection AddAppSessions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSharedState(configuration);
        services.AddSingleton<AppSession>();

        // Form posts from inside the EHR's frame carry the antiforgery cookie too: it needs the same cross-site settings.
        // X-Frame-Options is left to CSP frame-ancestors, which names the EHRs that may frame the app.
        services.AddAntiforgery(options =>
        {
            // SameSite=None with Secure, stated so the framework knows (no "SameSite=None must also set Secure" warning):
            // a builder that marks the cookie Secure whatever the request's scheme. CookieSecurePolicy.Always is not used
            // because antiforgery then refuses every non-TLS request, and TLS may end before the app (a proxy) or not be
            // there at all (the local run, plain http on loopback, where browsers accept Secure cookies: a trustworthy origin,
            // as they do for the session cookie).
            options.Cookie = new SecureCookieBuilder
            {
                Name = "mmr-antiforgery",
                SameSite = SameSiteMode.None,
                HttpOnly = true,
                Extensions = { "Partitioned" },
            };
            options.SuppressXFrameOptionsHeader = true;
        });
        return services;
    }
}

/// <summary>
/// A cookie that is always <c>Secure</c>, set through <see cref="CookieOptions.Secure"/> (not as a raw attribute), without
/// <see cref="CookieSecurePolicy.Always"/>, which makes antiforgery refuse a request that did not arrive over TLS itself.
/// </summary>
public sealed class SecureCookieBuilder : CookieBuilder
{
    public override CookieOptions Build(HttpContext context, DateTimeOffset expiresFrom)
    {
        var options = base.Build(context, expiresFrom);
        options.Secure = true;
        return options;
    }
}

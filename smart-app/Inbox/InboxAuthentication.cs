using System.Globalization;
using System.Security.Claims;
using Duende.IdentityModel.Client;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Referral.Model.Fhir;
using Referral.Model.Signing;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Inbox;

/// <summary>The therapists' OpenID Connect provider (section <c>Inbox</c>): Entra ID in Azure, the sandbox EHR locally.</summary>
public sealed class InboxOptions
{
    public const string Section = "Inbox";

    /// <summary>The provider's issuer; its discovery document is at <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string Authority { get; set; } = "";

    public string ClientId { get; set; } = "";

    /// <summary>Sent as client_secret_post. A secret: from Key Vault or the environment, never from a committed file outside Development.</summary>
    public string ClientSecret { get; set; } = "";

    /// <summary>
    /// Space-separated scopes: openid, offline_access (a refresh token) and what gives an access token for the functions
    /// API and the claim naming the therapist's PractitionerRole (the sandbox: <c>fhirUser referral.inbox</c>).
    /// </summary>
    public string Scopes { get; set; } = "openid profile offline_access";

    /// <summary>The id_token claim naming the therapist's PractitionerRole (<c>PractitionerRole/{id}</c>).</summary>
    public string TherapistClaim { get; set; } = "fhirUser";

    /// <summary>Provider metadata only over HTTPS; off only for the loopback sandbox of the local run and the tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>
    /// The practice's time zone (IANA id, e.g. <c>America/Chicago</c>): a session's date and time as typed are in it.
    /// The pages work without JavaScript, so the browser's own offset is not known to the server.
    /// </summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>The provider's app role (in the id_token's <c>roles</c> claim) that opens the admin pages (<c>/admin/self-check</c>).</summary>
    public string AdminRole { get; set; } = "referral-admin";

    public TimeZoneInfo Zone => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
}

/// <summary>
/// Therapist sign-in for <c>/inbox/**</c>: ASP.NET Core's OpenIdConnect handler (code flow, PKCE, client_secret_post,
/// the redirect URI <c>{App:BaseUrl}/signin-oidc</c>) signs into a cookie scheme of its own, so the physician's SMART
/// session is untouched. The cookie holds a key to a server-side ticket (<see cref="InboxTicketStore"/>); the access
/// token is refreshed before it expires (<see cref="InboxTokenRefresh"/>), and when it cannot be, the therapist signs in again.
/// </summary>
public static class InboxAuthentication
{
    public const string CookieScheme = "InboxCookie";
    public const string OidcScheme = "InboxOidc";
    public const string Policy = "therapist";
    public const string AdminPolicy = "referral-admin";
    public const string RolesClaim = "roles";
    public const string CookieName = "mmr-inbox";
    public const string CallbackPath = "/signin-oidc";
    public const string SignedOutCallbackPath = "/signout-callback-oidc";
    public const string SignedOutPath = "/inbox/signed-out";

    public static IServiceCollection AddInbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<InboxOptions>()
            .Bind(configuration.GetSection(InboxOptions.Section))
            .Validate(o => Uri.TryCreate(o.Authority, UriKind.Absolute, out _), "Inbox:Authority must be the absolute URL of the therapists' OpenID Connect provider (its issuer).")
            .Validate(o => !string.IsNullOrWhiteSpace(o.ClientId), "Inbox:ClientId is missing: the inbox's client id at the therapists' OpenID Connect provider.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.ClientSecret), "Inbox:ClientSecret is missing: the inbox's client secret at the therapists' OpenID Connect provider.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.AdminRole), "Inbox:AdminRole is missing: the provider's app role of the administrators (referral-admin).")
            .Validate(o => !string.IsNullOrWhiteSpace(o.TherapistClaim), "Inbox:TherapistClaim is missing: the id_token claim naming the therapist's PractitionerRole.")
            .Validate(o => PracticeTime.TryFindZone(o.TimeZone, out _), "Inbox:TimeZone must be an IANA time zone id (such as America/Chicago): the practice's time, in which sessions are typed.")
            .Validate(o => o.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("openid", StringComparer.Ordinal), "Inbox:Scopes must include openid.")
            .Validate(o => !o.RequireHttpsMetadata || o.Authority.StartsWith("https://", StringComparison.Ordinal),
                "Inbox:Authority must be an https URL (Inbox:RequireHttpsMetadata is true).")
            .ValidateOnStart();

        var inbox = configuration.GetSection(InboxOptions.Section).Get<InboxOptions>() ?? new InboxOptions();
        services.AddSingleton<InboxTicketStore>();
        services.AddSingleton<InboxTokenRefresh>();

        services.AddAuthentication()
            .AddCookie(CookieScheme, options =>
            {
                options.Cookie.Name = CookieName;
                // The inbox is its own top-level site (not framed by an EHR): Lax. Path "/": the same sign-in opens the admin
                // pages (/admin/self-check) for the provider's administrators.
                options.Cookie.Path = "/";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
                options.Cookie.IsEssential = true;
                options.ExpireTimeSpan = AppSession.IdleTimeout;
                options.SlidingExpiration = true;
                options.ForwardChallenge = OidcScheme;
                options.AccessDeniedPath = SignedOutPath;
                options.Events.OnRedirectToAccessDenied = context =>
                {
                    // A signed-in user without the administrator role is told so plainly on the admin pages.
                    if (context.Request.Path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase))
                    {
                        context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    }
                    else
                    {
                        context.Response.Redirect(context.RedirectUri);
                    }

                    return Task.CompletedTask;
                };
            })
            .AddOpenIdConnect(OidcScheme, options =>
            {
                options.SignInScheme = CookieScheme;
                options.SignOutScheme = CookieScheme;
                options.Authority = inbox.Authority;
                options.RequireHttpsMetadata = inbox.RequireHttpsMetadata;
                options.ClientId = inbox.ClientId;
                options.ClientSecret = inbox.ClientSecret;
                options.ResponseType = OpenIdConnectResponseType.Code;
                options.UsePkce = true;
                options.Scope.Clear();
                foreach (var scope in inbox.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    options.Scope.Add(scope);
                }

                options.SaveTokens = true;
                options.MapInboundClaims = false;
                options.GetClaimsFromUserInfoEndpoint = false;
                options.DisableTelemetry = true;
                options.TokenValidationParameters.NameClaimType = "name";
                options.CallbackPath = CallbackPath;
                options.SignedOutCallbackPath = SignedOutCallbackPath;
                options.SignedOutRedirectUri = SignedOutPath;
            });

        // Set from DI, where the app's base URL, the clock, the store and the refresher are.
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme)
            .Configure<InboxTicketStore, InboxTokenRefresh>((options, store, refresh) =>
            {
                options.SessionStore = store;
                options.Events.OnValidatePrincipal = refresh.ValidateAsync;
            });
        services.AddOptions<OpenIdConnectOptions>(OidcScheme)
            .Configure<IOptions<AppOptions>, TimeProvider>((options, app, time) =>
            {
                // The id_token's nbf and exp by the app's clock (the TimeProvider in DI; a fake one in tests), not the machine's.
                options.TokenValidationParameters.LifetimeValidator = (notBefore, expires, _, parameters) =>
                    TokenLifetime.IsCurrent(notBefore, expires, time, parameters.ClockSkew);

                // From configuration, never from the request's Host: the URIs registered at the provider.
                var baseUrl = app.Value.BaseUrl.TrimEnd('/');
                options.Events.OnRedirectToIdentityProvider = context =>
                {
                    context.ProtocolMessage.RedirectUri = baseUrl + CallbackPath;
                    return Task.CompletedTask;
                };
                options.Events.OnRedirectToIdentityProviderForSignOut = context =>
                {
                    context.ProtocolMessage.PostLogoutRedirectUri = baseUrl + SignedOutCallbackPath;
                    return Task.CompletedTask;
                };
                options.Events.OnTicketReceived = context => ForgetEarlierSessionAsync(context.HttpContext);
                options.Events.OnRemoteFailure = context =>
                {
                    // A refused or broken sign-in (the therapist pressed Deny, a stale browser tab) gets a page, not an exception.
                    context.Response.Redirect(SignedOutPath + "?failed=true");
                    context.HandleResponse();
                    return Task.CompletedTask;
                };
            });

        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy
                .AddAuthenticationSchemes(CookieScheme)
                .RequireAuthenticatedUser()
                .RequireClaim(inbox.TherapistClaim))
            .AddPolicy(AdminPolicy, policy => policy
                .AddAuthenticationSchemes(CookieScheme)
                .RequireAuthenticatedUser()
                .RequireClaim(RolesClaim, inbox.AdminRole));
        return services;
    }

    /// <summary>
    /// No session fixation at sign-in: the cookie handler renews the ticket under the key of an inbox cookie the request
    /// carries (one planted with a wider path, say), which would hand this sign-in to whoever holds that cookie. The
    /// earlier ticket is removed and its cookie dropped from the request, so the sign-in stores its ticket under a new key.
    /// </summary>
    private static async Task ForgetEarlierSessionAsync(HttpContext http)
    {
        var cookies = http.RequestServices.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieScheme);
        var earlier = cookies.CookieManager.GetRequestCookie(http, CookieName);
        if (string.IsNullOrEmpty(earlier))
        {
            return;
        }

        if (cookies.TicketDataFormat.Unprotect(earlier)?.Principal.FindFirst(SessionIdClaim)?.Value is { } key)
        {
            await http.RequestServices.GetRequiredService<InboxTicketStore>().RemoveAsync(key, http.RequestAborted);
        }

        var kept = http.Request.Cookies.Where(c => !c.Key.StartsWith(CookieName, StringComparison.Ordinal)).Select(c => c.Key + "=" + c.Value);
        http.Request.Headers.Cookie = string.Join("; ", kept);
    }

    /// <summary>The claim in which the cookie handler keeps its session store key.</summary>
    private const string SessionIdClaim = "Microsoft.AspNetCore.Authentication.Cookies-SessionId";

    /// <summary>The signed-in therapist's PractitionerRole id, from the claim that names it (<c>PractitionerRole/{id}</c>).</summary>
    public static string? PractitionerRoleId(ClaimsPrincipal user, InboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(options);
        var value = user.FindFirstValue(options.TherapistClaim);
        const string prefix = "PractitionerRole/";
        var at = value?.LastIndexOf(prefix, StringComparison.Ordinal) ?? -1;
        return at < 0 ? null : value![(at + prefix.Length)..];
    }
}

/// <summary>
/// Keeps the therapist's access token fresh: on each inbox request, a token that expires within <see cref="RefreshAhead"/>
/// is refreshed with the refresh token (Duende.IdentityModel), one refresh at a time per sign-in on every instance
/// (<see cref="SharedGate"/>), because the provider rotates refresh tokens and a replayed one revokes the grant. The new
/// tokens are written to the ticket store at once, so a request that waited reads them instead of refreshing again. When the refresh fails, the sign-in ends and the
/// therapist is sent to sign in again.
/// </summary>
public sealed partial class InboxTokenRefresh(
    IOptionsMonitor<OpenIdConnectOptions> oidc, InboxTicketStore store, SharedGate refreshing, TimeProvider time, ILogger<InboxTokenRefresh> logger)
{
    public static readonly TimeSpan RefreshAhead = TimeSpan.FromMinutes(2);

    public async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!NeedsRefresh(context.Properties))
        {
            return;
        }

        var cancellationToken = context.HttpContext.RequestAborted;
        if (!context.Properties.Items.TryGetValue(InboxTicketStore.KeyItem, out var key) || key is null)
        {
            await SignInAgainAsync(context);
            return;
        }

        await using (await refreshing.EnterAsync(key, cancellationToken))
        {
            // Another request of this sign-in may have refreshed while this one waited.
            var latest = await store.RetrieveAsync(key, cancellationToken);
            if (latest is not null && !NeedsRefresh(latest.Properties))
            {
                context.Properties.StoreTokens(latest.Properties.GetTokens());
                return;
            }

            var refreshToken = context.Properties.GetTokenValue(OpenIdConnectParameterNames.RefreshToken);
            if (string.IsNullOrEmpty(refreshToken))
            {
                await SignInAgainAsync(context);
                return;
            }

            var options = oidc.Get(InboxAuthentication.OidcScheme);
            var configuration = await options.ConfigurationManager!.GetConfigurationAsync(cancellationToken);
            var response = await options.Backchannel.RequestRefreshTokenAsync(new RefreshTokenRequest
            {
                Address = configuration.TokenEndpoint,
                ClientId = options.ClientId!,
                ClientSecret = options.ClientSecret,
                ClientCredentialStyle = ClientCredentialStyle.PostBody,
                RefreshToken = refreshToken,
            }, cancellationToken);
            if (response.IsError || string.IsNullOrEmpty(response.AccessToken))
            {
                LogRefreshFailed(logger, response.Error ?? response.HttpStatusCode.ToString());
                await SignInAgainAsync(context);
                return;
            }

            var tokens = context.Properties.GetTokens()
                .Where(t => t.Name is not (OpenIdConnectParameterNames.AccessToken or OpenIdConnectParameterNames.RefreshToken or "expires_at"))
                .ToList();
            tokens.Add(new AuthenticationToken { Name = OpenIdConnectParameterNames.AccessToken, Value = response.AccessToken });
            // A provider that does not rotate answers without one: the old refresh token stays valid.
            tokens.Add(new AuthenticationToken { Name = OpenIdConnectParameterNames.RefreshToken, Value = string.IsNullOrEmpty(response.RefreshToken) ? refreshToken : response.RefreshToken });
            var expires = time.GetUtcNow() + TimeSpan.FromSeconds(response.ExpiresIn > 0 ? response.ExpiresIn : 300);
            tokens.Add(new AuthenticationToken { Name = "expires_at", Value = expires.ToString("o", CultureInfo.InvariantCulture) });
            context.Properties.StoreTokens(tokens);
            await store.RenewAsync(key, new AuthenticationTicket(context.Principal!, context.Properties, context.Scheme.Name), cancellationToken);
            context.ShouldRenew = true;
        }
    }

    /// <summary>The access token's expiry as the handler saved it (<c>expires_at</c>); none known counts as expiring.</summary>
    public bool NeedsRefresh(AuthenticationProperties properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var expiresAt = properties.GetTokenValue("expires_at");
        return !DateTimeOffset.TryParse(expiresAt, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expires)
            || expires - time.GetUtcNow() < RefreshAhead;
    }

    private static async Task SignInAgainAsync(CookieValidatePrincipalContext context)
    {
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(InboxAuthentication.CookieScheme);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The therapist's access token could not be refreshed ({Error}); they are asked to sign in again.")]
    private static partial void LogRefreshFailed(ILogger logger, string error);
}

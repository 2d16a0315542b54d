using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using Referral.Model.Signing;

namespace Referral.Functions.Security;

/// <summary>
/// Two JwtBearer schemes behind one: tokens the smart-app signs for physicians, and therapists' access tokens
/// from their identity provider. The token's <c>iss</c> picks the scheme; each scheme then checks
/// signature, issuer, audience and lifetime on its own, so a token can never borrow the other's trust.
/// </summary>
public static class ApiAuthentication
{
    public const string Scheme = "Bearer";
    public const string PhysicianScheme = "Physician";
    public const string TherapistScheme = "Therapist";

    public const string PhysicianPolicy = "physician";
    public const string TherapistPolicy = "therapist";
    public const string AdminPolicy = "admin";

    /// <summary>Asymmetric algorithms only: <c>none</c> and shared-secret HMAC are refused.</summary>
    private static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    /// <summary>How far the API's clock and a token issuer's may differ.</summary>
    public static readonly TimeSpan ClockSkew = TokenReplayCache.ClockSkew;

    /// <summary>The longest a physician token may live: the smart-app signs one per call.</summary>
    public static readonly TimeSpan PerCallLifetime = TimeSpan.FromMinutes(5);

    public static IServiceCollection AddApiAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>()
            .Bind(configuration.GetSection(AuthOptions.Section))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Audience), "Auth:Audience is missing: the aud every token for this API carries.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Physician.Issuer), "Auth:Physician:Issuer is missing: the smart-app's base URL, its tokens' iss.")
            .Validate(o => Uri.TryCreate(o.Physician.JwksUrl, UriKind.Absolute, out _), "Auth:Physician:JwksUrl must be the absolute URL of the smart-app's JWKS.")
            .Validate(o => Uri.TryCreate(o.Therapist.Authority, UriKind.Absolute, out _), "Auth:Therapist:Authority must be the absolute URL of the therapists' OpenID Connect issuer.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Therapist.TherapistClaim), "Auth:Therapist:TherapistClaim is missing.")
            .Validate(o => !o.RequireHttpsMetadata || (IsHttps(o.Physician.JwksUrl) && IsHttps(o.Therapist.Authority)),
                "Auth:Physician:JwksUrl and Auth:Therapist:Authority must be https URLs (Auth:RequireHttpsMetadata is true).")
            .ValidateOnStart();

        var auth = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();

        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "Physician or therapist token", options =>
            {
                options.ForwardDefaultSelector = context =>
                    string.Equals(IssuerOf(context.Request), auth.Physician.Issuer, StringComparison.Ordinal) ? PhysicianScheme : TherapistScheme;
            })
            .AddJwtBearer(PhysicianScheme, options =>
            {
                options.MapInboundClaims = false;
                options.RequireHttpsMetadata = auth.RequireHttpsMetadata;
                options.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(
                    auth.Physician.JwksUrl,
                    new JwksRetriever(auth.Physician.Issuer),
                    new HttpDocumentRetriever { RequireHttps = auth.RequireHttpsMetadata });
                options.TokenValidationParameters = Parameters(auth.Physician.Issuer, auth.Audience);
                // The key is found by the token's kid among the API-signing keys only, never by trying every key.
                options.TokenValidationParameters.TryAllIssuerSigningKeys = false;
                options.Events = new JwtBearerEvents { OnTokenValidated = context => ValidatePhysicianAsync(context, auth) };
            })
            .AddJwtBearer(TherapistScheme, options =>
            {
                options.MapInboundClaims = false;
                options.RequireHttpsMetadata = auth.RequireHttpsMetadata;
                options.Authority = auth.Therapist.Authority;
                options.Audience = auth.Audience;
                options.TokenValidationParameters = Parameters(auth.Therapist.Authority, auth.Audience);
                options.Events = new JwtBearerEvents { OnTokenValidated = context => AddRoles(context, TherapistScheme, auth) };
            });

        // Both schemes judge nbf and exp by the app's clock (the TimeProvider in DI; a fake one in tests), not the machine's.
        foreach (var scheme in new[] { PhysicianScheme, TherapistScheme })
        {
            services.AddOptions<JwtBearerOptions>(scheme).Configure<TimeProvider>((options, time) =>
                options.TokenValidationParameters.LifetimeValidator = (notBefore, expires, _, parameters) =>
                    TokenLifetime.IsCurrent(notBefore, expires, time, parameters.ClockSkew));
        }

        services.AddSingleton<TokenReplayCache>();

        services.AddAuthorizationBuilder()
            .SetDefaultPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder(Scheme)
                .RequireAuthenticatedUser().Build())
            .AddPolicy(PhysicianPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireRole(Caller.PhysicianRole))
            .AddPolicy(TherapistPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireRole(Caller.TherapistRole))
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireRole(Caller.AdminRole));

        return services;
    }

    private static bool IsHttps(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps;

    private static TokenValidationParameters Parameters(string issuer, string audience) => new()
    {
        ValidIssuer = issuer.TrimEnd('/'),
        ValidIssuers = [issuer.TrimEnd('/'), issuer.TrimEnd('/') + "/"],
        ValidAudience = audience,
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateLifetime = true,
        ValidateIssuerSigningKey = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ValidAlgorithms = Algorithms,
        ClockSkew = ClockSkew,
        RoleClaimType = Caller.RoleClaim,
        NameClaimType = "sub",
    };

    private static string? IssuerOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header[prefix.Length..].Trim();
        var handler = new JsonWebTokenHandler();
        if (!handler.CanReadToken(token))
        {
            return null;
        }

        try
        {
            return handler.ReadJsonWebToken(token).Issuer;
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or FormatException or System.Text.Json.JsonException)
        {
            // Not a JWT after all: no scheme's issuer, so the chosen scheme refuses it as invalid_token (401), never a 500.
            return null;
        }
    }

    /// <summary>
    /// A physician token is signed by the smart-app for one call: it lives at most <see cref="PerCallLifetime"/>
    /// (<c>exp - iat</c>, with <c>iat</c> not in the future), carries a <c>jti</c>, and that jti is accepted once.
    /// </summary>
    private static async Task ValidatePhysicianAsync(TokenValidatedContext context, AuthOptions auth)
    {
        await AddRoles(context, PhysicianScheme, auth);
        if (context.Result is not null)
        {
            return;
        }

        var token = context.SecurityToken as JsonWebToken;
        if (token is null
            || !token.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Iat, out var iat)
            || !token.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Exp, out var exp))
        {
            context.Fail("The physician token must carry iat and exp.");
            return;
        }

        var now = context.HttpContext.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        if (exp - iat > (long)PerCallLifetime.TotalSeconds || exp < iat)
        {
            context.Fail("The physician token lives longer than a per-call token may.");
            return;
        }

        if (DateTimeOffset.FromUnixTimeSeconds(iat) > now + ClockSkew)
        {
            context.Fail("The physician token was issued in the future.");
            return;
        }

        var jti = token.Id;
        if (string.IsNullOrEmpty(jti))
        {
            context.Fail("The physician token must carry jti.");
            return;
        }

        var replays = context.HttpContext.RequestServices.GetRequiredService<TokenReplayCache>();
        if (!await replays.TryUseAsync(jti, DateTimeOffset.FromUnixTimeSeconds(exp), context.HttpContext.RequestAborted))
        {
            context.Fail("The physician token was used before.");
        }
    }

    /// <summary>Turns a validated token into the caller's roles, refusing tokens that lack the identity the API needs.</summary>
    private static Task AddRoles(TokenValidatedContext context, string scheme, AuthOptions auth)
    {
        var principal = context.Principal!;
        // Roles come only from where each issuer defines them (below): a role claim in the token itself grants nothing.
        foreach (var tokenIdentity in principal.Identities)
        {
            foreach (var claim in tokenIdentity.FindAll(Caller.RoleClaim).ToList())
            {
                tokenIdentity.TryRemoveClaim(claim);
            }
        }

        var roles = new List<string>();
        if (scheme == PhysicianScheme)
        {
            if (string.IsNullOrEmpty(principal.FindFirstValue(Caller.FhirUserClaim)) || string.IsNullOrEmpty(principal.FindFirstValue(Caller.EhrClaim)))
            {
                context.Fail("The physician token must carry fhirUser and ehr.");
                return Task.CompletedTask;
            }

            roles.Add(Caller.PhysicianRole);
        }
        else
        {
            if (!string.IsNullOrEmpty(principal.FindFirstValue(auth.Therapist.TherapistClaim)))
            {
                roles.Add(Caller.TherapistRole);
            }

            if (principal.FindAll("roles").Any(c => c.Value == auth.Therapist.AdminRole))
            {
                roles.Add(Caller.AdminRole);
            }

            if (roles.Count == 0)
            {
                context.Fail("The token names neither a therapist nor an administrator.");
                return Task.CompletedTask;
            }
        }

        var identity = new ClaimsIdentity(roles.Select(r => new Claim(Caller.RoleClaim, r)), scheme, "sub", Caller.RoleClaim);
        principal.AddIdentity(identity);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Reads a bare JWKS document (the smart-app publishes no OpenID discovery) as signing keys for one issuer: the
    /// smart-app's API-signing key set (<c>/.well-known/api-jwks.json</c>), never the client assertion keys it shows
    /// EHRs. Only keys marked <c>use: sig</c> with a <c>kid</c> are kept, and a token must name its key by <c>kid</c>.
    /// </summary>
    private sealed class JwksRetriever(string issuer) : IConfigurationRetriever<OpenIdConnectConfiguration>
    {
        public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
        {
            var document = await retriever.GetDocumentAsync(address, cancel);
            var configuration = new OpenIdConnectConfiguration { Issuer = issuer, JwksUri = address };
            var set = new JsonWebKeySet(document);
            var usable = new JsonWebKeySet();
            foreach (var key in set.Keys.Where(k => k.Use == JsonWebKeyUseNames.Sig && !string.IsNullOrEmpty(k.Kid)))
            {
                usable.Keys.Add(key);
            }

            foreach (var key in usable.GetSigningKeys())
            {
                configuration.SigningKeys.Add(key);
            }

            return configuration;
        }
    }
}

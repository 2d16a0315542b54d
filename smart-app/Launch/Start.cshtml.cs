using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Launch;

/// <summary>
/// <c>/launch</c>: EHR launch (<c>iss</c> and <c>launch</c>) or standalone launch (<c>iss</c> alone). Only an
/// allow-listed <c>iss</c> is contacted; then discovery (cached), a launch record bound to this browser's session
/// (state, PKCE S256 verifier, nonce), and the redirect to the EHR's authorization endpoint.
/// </summary>
[IgnoreAntiforgeryToken]
public sealed class StartModel(EhrRegistry registry, SmartDiscovery discovery, AppSession session, IOptions<AppOptions> app, TimeProvider time) : PageModel
{
    public LaunchProblem? Problem { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? iss, string? launch, CancellationToken cancellationToken)
    {
        var ehr = registry.Find(iss);
        if (ehr is null)
        {
            return Fail(LaunchProblemKind.UnknownEhr);
        }

        SmartConfiguration configuration;
        try
        {
            configuration = await discovery.GetAsync(ehr, cancellationToken);
        }
        catch (DiscoveryException e)
        {
            return Fail(e.Failure switch
            {
                DiscoveryFailure.TimedOut => LaunchProblemKind.EhrSlow,
                DiscoveryFailure.Invalid => LaunchProblemKind.EhrMisconfigured,
                _ => LaunchProblemKind.EhrUnreachable,
            }, ehr.Name);
        }

        if (!EhrTransport.IsProtected(configuration.AuthorizationEndpoint) || !EhrTransport.IsProtected(configuration.TokenEndpoint)
            || (configuration.CodeChallengeMethodsSupported.Count > 0 && !configuration.CodeChallengeMethodsSupported.Contains("S256")))
        {
            return Fail(LaunchProblemKind.EhrMisconfigured, ehr.Name);
        }

        var standalone = string.IsNullOrEmpty(launch);
        var record = new LaunchRecord
        {
            State = AppSession.Base64UrlToken(32),
            Iss = ehr.NormalizedIss,
            CodeVerifier = AppSession.Base64UrlToken(32),
            Nonce = AppSession.Base64UrlToken(16),
            Scope = SmartScopes.ForRequest(ehr, standalone, configuration.SupportsV2Scopes),
            Standalone = standalone,
            Created = time.GetUtcNow(),
        };
        var sessionId = AppSession.Ensure(HttpContext);
        await session.SetAsync(sessionId, LaunchRecord.Key(record.State), record, LaunchRecord.Lifetime, cancellationToken);

        var parameters = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = ehr.ClientId,
            ["redirect_uri"] = app.Value.RedirectUri,
            ["scope"] = record.Scope,
            ["state"] = record.State,
            ["aud"] = ehr.NormalizedIss,
            ["code_challenge"] = Pkce.Challenge(record.CodeVerifier),
            ["code_challenge_method"] = "S256",
            ["nonce"] = record.Nonce,
        };
        if (!standalone)
        {
            parameters["launch"] = launch;
        }

        return Redirect(QueryHelpers.AddQueryString(configuration.AuthorizationEndpoint!, parameters));
    }

    private PageResult Fail(LaunchProblemKind kind, string? ehrName = null)
    {
        Problem = LaunchProblem.For(kind, ehrName);
        Response.StatusCode = Problem.StatusCode;
        return Page();
    }
}

/// <summary>RFC 7636 S256: the challenge is BASE64URL(SHA-256(ASCII(verifier))); the verifier never leaves the server until the token request.</summary>
public static class Pkce
{
    public static string Challenge(string verifier) =>
        Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));
}

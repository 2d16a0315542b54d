using System.Text.Json;
using Duende.IdentityModel.Client;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Launch;

/// <summary>
/// <c>/callback</c>, the registered redirect URI. The state must be a launch record of this browser's session,
/// unused and fresh; it is spent before anything else happens. Then the code is exchanged (PKCE verifier, client
/// assertion), the id_token is validated before its fhirUser is trusted, and the patient's record is read in one
/// parallel round. Tokens stay on the server; the browser is sent on to the form with only an opaque context id.
/// Nothing received here is ever redirected to another site.
/// </summary>
[IgnoreAntiforgeryToken]
public sealed partial class CallbackModel(
    EhrRegistry registry,
    SmartDiscovery discovery,
    SmartTokens tokens,
    IdTokenValidator idTokens,
    AppSession session,
    LaunchContexts contexts,
    PatientRecordReader reader,
    IOptions<AppOptions> app,
    TimeProvider time,
    ILogger<CallbackModel> logger) : PageModel
{
    public LaunchProblem? Problem { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? code, string? state, string? error, string? iss, CancellationToken cancellationToken)
    {
        var sessionId = AppSession.IdOf(HttpContext);
        if (string.IsNullOrEmpty(state) || sessionId is null)
        {
            return Fail(LaunchProblemKind.StateMismatch);
        }

        var record = await session.GetAsync<LaunchRecord>(sessionId, LaunchRecord.Key(state), cancellationToken);
        if (record is null)
        {
            var used = await session.GetAsync<LaunchRecord>(sessionId, LaunchRecord.UsedKey(state), cancellationToken);
            return Fail(used is null ? LaunchProblemKind.StateMismatch : LaunchProblemKind.StateReused);
        }

        // Single use: spent now, whatever follows.
        await session.RemoveAsync(sessionId, LaunchRecord.Key(state), cancellationToken);
        await session.SetAsync(sessionId, LaunchRecord.UsedKey(state), record, TimeSpan.FromHours(1), cancellationToken);
        if (time.GetUtcNow() - record.Created > LaunchRecord.Lifetime)
        {
            return Fail(LaunchProblemKind.StateExpired);
        }

        var ehr = registry.Find(record.Iss);
        if (ehr is null)
        {
            return Fail(LaunchProblemKind.UnknownEhr);
        }

        // RFC 9207: an answer naming another issuer is a mix-up (another server's code sent here); nothing of it is used.
        if (iss is not null && !string.Equals(EhrOptions.Normalize(iss), ehr.NormalizedIss, StringComparison.Ordinal))
        {
            LogIssuerMismatch(logger, ehr.Name);
            return Fail(LaunchProblemKind.IssuerMismatch, ehr.Name);
        }

        if (!string.IsNullOrEmpty(error))
        {
            LogAuthorizationError(logger, ehr.Name, error);
            return Fail(error == "access_denied" ? LaunchProblemKind.AccessDenied : LaunchProblemKind.AuthorizationFailed, ehr.Name);
        }

        if (string.IsNullOrEmpty(code))
        {
            return Fail(LaunchProblemKind.AuthorizationFailed, ehr.Name);
        }

        try
        {
            var configuration = await discovery.GetAsync(ehr, cancellationToken);
            if (iss is null && configuration.SendsAuthorizationResponseIss)
            {
                // A server that promises iss and leaves it out: the answer may not be its own.
                LogIssuerMissing(logger, ehr.Name);
                return Fail(LaunchProblemKind.IssuerMismatch, ehr.Name);
            }

            var response = await tokens.ExchangeCodeAsync(ehr, configuration.TokenEndpoint!, code, record.CodeVerifier, app.Value.RedirectUri, cancellationToken);
            var patient = response.TryGet("patient");
            if (string.IsNullOrEmpty(patient))
            {
                return Fail(LaunchProblemKind.NoPatient, ehr.Name);
            }

            var fhirUser = await VerifiedUserAsync(ehr, configuration, response, record, cancellationToken);
            if (fhirUser is null)
            {
                return Fail(LaunchProblemKind.IdentityUnverified, ehr.Name);
            }

            var context = new LaunchContext
            {
                Id = AppSession.Base64UrlToken(16),
                Iss = ehr.NormalizedIss,
                FhirUser = fhirUser,
                PatientId = patient,
                EncounterId = response.TryGet("encounter"),
                // The granted scope, as the server says; absent, it is the requested one (RFC 6749 §5.1).
                GrantedScope = string.IsNullOrEmpty(response.Scope) ? record.Scope : response.Scope,
                AccessToken = response.AccessToken!,
                RefreshToken = response.RefreshToken,
                AccessTokenExpires = time.GetUtcNow() + TimeSpan.FromSeconds(response.ExpiresIn > 0 ? response.ExpiresIn : 300),
                TokenEndpoint = configuration.TokenEndpoint!,
                NeedPatientBanner = response.Json is { } json && json.TryGetProperty("need_patient_banner", out var banner) && banner.ValueKind == JsonValueKind.True,
                SmartStyleUrl = response.TryGet("smart_style_url"),
                AppContext = response.TryGet("appContext"),
            };
            var patientRecord = await reader.ReadAsync(context, cancellationToken);
            var renewed = await session.RenewAsync(HttpContext, sessionId, fhirUser, cancellationToken);
            await session.SetAsync(renewed, LaunchRecord.UsedKey(state), record, TimeSpan.FromHours(1), cancellationToken);
            await contexts.SaveAsync(renewed, context, cancellationToken);
            await reader.SaveAsync(renewed, context.Id, patientRecord, cancellationToken);
            Response.Headers.Location = $"/context/{context.Id}/referral";
            return StatusCode(StatusCodes.Status303SeeOther);
        }
        catch (DiscoveryException e)
        {
            return Fail(e.Failure == DiscoveryFailure.TimedOut ? LaunchProblemKind.EhrSlow : LaunchProblemKind.EhrUnreachable, ehr.Name);
        }
        catch (TokenRequestException e)
        {
            LogTokenError(logger, ehr.Name, e.Message);
            return Fail(e.TimedOut ? LaunchProblemKind.EhrSlow : LaunchProblemKind.TokenError, ehr.Name);
        }
        catch (EhrRequestException e) when (e.SessionEnded)
        {
            LogEhrSessionEnded(logger, ehr.Name);
            Problem = LaunchProblem.EhrSessionEnded(ehr.Name, ehr.NormalizedIss);
            Response.StatusCode = Problem.StatusCode;
            return Page();
        }
        catch (EhrRequestException e)
        {
            return Fail(e.Status == System.Net.HttpStatusCode.GatewayTimeout ? LaunchProblemKind.EhrSlow : LaunchProblemKind.EhrUnreachable, ehr.Name);
        }
    }

    /// <summary>The fhirUser of a validated id_token, as an absolute URL on the launching EHR; null when it cannot be trusted.</summary>
    private async Task<string?> VerifiedUserAsync(EhrOptions ehr, SmartConfiguration configuration, TokenResponse response, LaunchRecord record, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(response.IdentityToken))
        {
            return null;
        }

        var issuer = ehr.OpenIdIssuer ?? configuration.Issuer;
        if (issuer is null)
        {
            // SMART: examine the token's issuer; it is accepted only on the FHIR server's own origin.
            var unverified = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(response.IdentityToken).Issuer;
            issuer = Uri.TryCreate(unverified, UriKind.Absolute, out var uri) && uri.GetLeftPart(UriPartial.Authority) == ehr.Origin ? unverified : null;
        }

        if (issuer is null)
        {
            return null;
        }

        try
        {
            var token = await idTokens.ValidateAsync(response.IdentityToken, issuer, ehr.ClientId, record.Nonce, cancellationToken);
            if (!token.TryGetPayloadValue<string>("fhirUser", out var fhirUser) || string.IsNullOrWhiteSpace(fhirUser))
            {
                return null;
            }

            var absolute = Uri.TryCreate(fhirUser, UriKind.Absolute, out _) ? fhirUser : ehr.NormalizedIss + "/" + fhirUser.TrimStart('/');
            return absolute.StartsWith(ehr.NormalizedIss + "/", StringComparison.Ordinal) ? absolute : null;
        }
        catch (IdTokenException e)
        {
            LogIdTokenRejected(logger, ehr.Name, e.Message);
            return null;
        }
    }

    private PageResult Fail(LaunchProblemKind kind, string? ehrName = null)
    {
        Problem = LaunchProblem.For(kind, ehrName);
        Response.StatusCode = Problem.StatusCode;
        return Page();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Ehr} answered the authorization request with error {Error}.")]
    private static partial void LogAuthorizationError(ILogger logger, string ehr, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The authorization response for {Ehr} named another issuer; it was not used.")]
    private static partial void LogIssuerMismatch(ILogger logger, string ehr);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The authorization response for {Ehr} lacked the iss its SMART configuration promises; it was not used.")]
    private static partial void LogIssuerMissing(ILogger logger, string ehr);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Token request to {Ehr} failed: {Reason}")]
    private static partial void LogTokenError(ILogger logger, string ehr, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Ehr} answered 401 to the launch's record reads: the access token was not accepted.")]
    private static partial void LogEhrSessionEnded(ILogger logger, string ehr);

    [LoggerMessage(Level = LogLevel.Warning, Message = "id_token from {Ehr} rejected: {Reason}")]
    private static partial void LogIdTokenRejected(ILogger logger, string ehr, string reason);
}

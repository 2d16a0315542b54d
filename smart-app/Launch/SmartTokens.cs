using Duende.IdentityModel.Client;
using Referral.Model;
using Referral.Model.Signing;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Launch;

public sealed class TokenRequestException(string message, bool timedOut, Exception? inner = null) : Exception(message, inner)
{
    public bool TimedOut { get; } = timedOut;
}

/// <summary>
/// The token endpoint, through Duende.IdentityModel: the code exchange (with the PKCE verifier) and the refresh,
/// each authenticated by a fresh client assertion. client_id is left out: the assertion names the client, and SMART
/// says a confidential client omits it.
/// </summary>
public sealed class SmartTokens(IHttpClientFactory clients, ClientAssertions assertions, TimeProvider time)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public Task<TokenResponse> ExchangeCodeAsync(EhrOptions ehr, string tokenEndpoint, string code, string codeVerifier, string redirectUri, CancellationToken cancellationToken) =>
        SendAsync(async (http, ct) => await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = tokenEndpoint,
            ClientAssertion = await assertions.CreateAsync(ehr.ClientId, tokenEndpoint, ct),
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            Code = code,
            CodeVerifier = codeVerifier,
            RedirectUri = redirectUri,
        }, ct), cancellationToken);

    public Task<TokenResponse> RefreshAsync(EhrOptions ehr, string tokenEndpoint, string refreshToken, CancellationToken cancellationToken) =>
        SendAsync(async (http, ct) => await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = tokenEndpoint,
            ClientAssertion = await assertions.CreateAsync(ehr.ClientId, tokenEndpoint, ct),
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            RefreshToken = refreshToken,
        }, ct), cancellationToken);

    private async Task<TokenResponse> SendAsync(Func<HttpClient, CancellationToken, Task<TokenResponse>> send, CancellationToken cancellationToken)
    {
        using var timeout = new Deadline(Timeout, time, cancellationToken);
        TokenResponse response;
        try
        {
            response = await send(clients.CreateClient(EhrHttp.ClientName), timeout.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TokenRequestException("The EHR's token endpoint did not answer in time.", timedOut: true, e);
        }
        catch (KeyVaultException e)
        {
            // Not the EHR's fault, so not "the EHR is slow": the log names the vault and what it said.
            throw new TokenRequestException("The app could not sign its client assertion. " + e.Message, timedOut: false, e);
        }

        if (response.IsError)
        {
            // Duende turns a timeout inside the request into an error response carrying the exception.
            var timedOut = response.Exception is OperationCanceledException && !cancellationToken.IsCancellationRequested;
            throw new TokenRequestException(
                response.ErrorType == ResponseErrorType.Protocol ? $"The EHR refused the token request ({response.Error})." : "The EHR's token endpoint failed: " + (response.Error ?? response.HttpStatusCode.ToString()),
                timedOut, response.Exception);
        }

        if (string.IsNullOrEmpty(response.AccessToken))
        {
            throw new TokenRequestException("The EHR's token response has no access token.", timedOut: false);
        }

        return response;
    }
}

/// <summary>
/// The launched contexts of a session, with their tokens kept fresh: an access token that expires within
/// <see cref="RefreshAhead"/> is refreshed before it is used, one refresh at a time per context on every instance
/// (<see cref="SharedGate"/>: a refresh token rotates, and a replayed one can revoke the grant).
/// </summary>
public sealed class LaunchContexts(AppSession session, SmartTokens tokens, EhrRegistry registry, SharedGate refreshing, TimeProvider time)
{
    public static readonly TimeSpan RefreshAhead = TimeSpan.FromMinutes(2);

    public Task SaveAsync(string sessionId, LaunchContext context, CancellationToken cancellationToken) =>
        session.SetAsync(sessionId, LaunchContext.Key(context.Id), context, AppSession.IdleTimeout, cancellationToken, sliding: true);

    /// <summary>The context, refreshed if its token is about to expire; null when this session has no such context.</summary>
    public async Task<LaunchContext?> GetAsync(string? sessionId, string contextId, CancellationToken cancellationToken)
    {
        if (sessionId is null)
        {
            return null;
        }

        var context = await session.GetAsync<LaunchContext>(sessionId, LaunchContext.Key(contextId), cancellationToken);
        if (context is null || !NeedsRefresh(context))
        {
            return context;
        }

        await using (await refreshing.EnterAsync(sessionId + "/" + contextId, cancellationToken))
        {
            // Another request may have refreshed it while this one waited.
            context = await session.GetAsync<LaunchContext>(sessionId, LaunchContext.Key(contextId), cancellationToken);
            if (context is null || !NeedsRefresh(context) || context.RefreshToken is null || registry.Find(context.Iss) is not { } ehr)
            {
                return context;
            }

            var refreshed = await tokens.RefreshAsync(ehr, context.TokenEndpoint, context.RefreshToken, cancellationToken);
            context = context with
            {
                AccessToken = refreshed.AccessToken!,
                // A new refresh token replaces the old one; without one, the old one stays valid (SMART).
                RefreshToken = string.IsNullOrEmpty(refreshed.RefreshToken) ? context.RefreshToken : refreshed.RefreshToken,
                AccessTokenExpires = time.GetUtcNow() + TimeSpan.FromSeconds(refreshed.ExpiresIn > 0 ? refreshed.ExpiresIn : 300),
                GrantedScope = string.IsNullOrEmpty(refreshed.Scope) ? context.GrantedScope : refreshed.Scope,
            };
            await SaveAsync(sessionId, context, cancellationToken);
            return context;
        }
    }

    private bool NeedsRefresh(LaunchContext context) => context.AccessTokenExpires - time.GetUtcNow() < RefreshAhead;
}

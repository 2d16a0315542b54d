using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace SandboxEhr.Auth;

/// <summary>Sends the authorization response back to the client's redirect URI, as a query or as a form post.</summary>
public sealed record AuthorizationResponse(string RedirectUri, string ResponseMode, IReadOnlyList<KeyValuePair<string, string?>> Parameters)
{
    public const string Query = "query";
    public const string FormPost = "form_post";

    public IResult ToResult() => ResponseMode == FormPost
        ? HtmlPages.FormPost(RedirectUri, Parameters)
        : Results.Redirect(QueryHelpers.AddQueryString(RedirectUri, Parameters));

    public static AuthorizationResponse Error(string redirectUri, string responseMode, string? state, string error, string description)
    {
        var parameters = new List<KeyValuePair<string, string?>> { new("error", error), new("error_description", description) };
        if (state is not null)
        {
            parameters.Add(new("state", state));
        }

        return new AuthorizationResponse(redirectUri, responseMode, parameters);
    }
}

public sealed class AuthorizationResponder(AuthorizationStore store, IOptions<SandboxOptions> options)
{
    public AuthorizationResponse Approve(AuthorizationRequest request, SandboxUser user, string? patientId, string? encounterId, string? appContext = null)
    {
        var grant = new Grant(RandomTokens.Create(16), request.Client.ClientId, request.Scopes, user, patientId, encounterId) { AppContext = appContext };
        var code = store.IssueCode(grant, request.RedirectUri, request.CodeChallenge, request.Nonce, options.Value.AuthorizationCodeLifetime);
        return new AuthorizationResponse(request.RedirectUri, request.ResponseMode, [new("code", code.Code), new("state", request.State)]);
    }

    public static AuthorizationResponse Deny(AuthorizationRequest request) =>
        AuthorizationResponse.Error(request.RedirectUri, request.ResponseMode, request.State, OAuthError.AccessDenied, "The user denied the request.");
}

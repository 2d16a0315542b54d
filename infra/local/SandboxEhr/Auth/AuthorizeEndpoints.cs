using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using SandboxEhr.Clients;

namespace SandboxEhr.Auth;

/// <summary>
/// The authorization endpoint (GET, and POST for SMART's authorize-post). An EHR launch is approved at once for the
/// practitioner bound to the launch, as an EHR does inside its own session; a standalone launch or a therapist
/// sign-in goes to the sign-in, picker and approve page.
/// </summary>
public static class AuthorizeEndpoints
{
    public static IEndpointRouteBuilder MapAuthorize(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/auth/authorize", [HttpMethods.Get, HttpMethods.Post], AuthorizeAsync).DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> AuthorizeAsync(
        HttpContext context,
        ClientRegistry clients,
        AuthorizationStore store,
        AuthorizationResponder responder,
        SandboxUsers users,
        SandboxUrls urls,
        IOptions<SandboxOptions> options,
        CancellationToken cancellationToken)
    {
        var parameters = HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType
            ? (IEnumerable<KeyValuePair<string, StringValues>>)await context.Request.ReadFormAsync(cancellationToken)
            : context.Request.Query;
        var values = parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        string? Get(string name) => values.TryGetValue(name, out var v) && v.Count == 1 && !string.IsNullOrEmpty(v[0]) ? v[0] : null;

        var client = clients.Find(Get("client_id"));
        if (client is null)
        {
            return HtmlPages.Error("Unknown app", "The client_id is missing or not registered with this EHR.");
        }

        var redirectUri = Get("redirect_uri");
        if (redirectUri is null || !client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal))
        {
            return HtmlPages.Error("Redirect URI not registered", $"The redirect_uri is missing or is not one registered for {client.ClientName}.");
        }

        // From here on errors go back to the app (RFC 6749 §4.1.2.1), in the response mode it asked for if it is a known one.
        var responseMode = Get("response_mode") ?? AuthorizationResponse.Query;
        var state = Get("state");
        IResult Fail(string error, string description) => AuthorizationResponse.Error(
            redirectUri, responseMode is AuthorizationResponse.FormPost ? responseMode : AuthorizationResponse.Query, state, error, description).ToResult();

        if (values.FirstOrDefault(p => p.Value.Count > 1) is { Key: not null } repeated)
        {
            return Fail(OAuthError.InvalidRequest, $"Parameter '{repeated.Key}' is repeated.");
        }

        if (responseMode is not (AuthorizationResponse.Query or AuthorizationResponse.FormPost))
        {
            return Fail(OAuthError.InvalidRequest, $"response_mode '{responseMode}' is not supported; use query or form_post.");
        }

        if (Get("response_type") != "code")
        {
            return Fail(OAuthError.UnsupportedResponseType, "response_type must be 'code'.");
        }

        if (state is null)
        {
            return Fail(OAuthError.InvalidRequest, "state is required.");
        }

        if (!client.Allows(GrantTypes.AuthorizationCode))
        {
            return Fail(OAuthError.UnauthorizedClient, "This client may not use the authorization_code grant.");
        }

        var challenge = Get("code_challenge");
        if (challenge is null)
        {
            return Fail(OAuthError.InvalidRequest, "code_challenge is required (PKCE).");
        }

        if (Get("code_challenge_method") != "S256")
        {
            return Fail(OAuthError.InvalidRequest, "code_challenge_method must be S256; plain is not accepted.");
        }

        if (challenge.Length != 43 || challenge.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            return Fail(OAuthError.InvalidRequest, "code_challenge must be a base64url SHA-256 value (43 characters).");
        }

        var requested = Scopes.Split(Get("scope"));
        if (requested.Count == 0)
        {
            return Fail(OAuthError.InvalidScope, "scope is required.");
        }

        var launchId = Get("launch");
        var granted = Scopes.Grantable(requested, client.Scopes)
            .Where(s => s != Scopes.Launch || launchId is not null)
            .Where(s => !(ResourceScope.TryParse(s, out var parsed) && parsed.Level == ResourceScope.SystemLevel))
            .ToList();
        if (granted.Count == 0)
        {
            return Fail(OAuthError.InvalidScope, "None of the requested scopes may be granted to this client.");
        }

        var endpoints = urls.For(context.Request);
        var aud = Get("aud");
        var wantsFhir = launchId is not null || requested.Any(s => Scopes.LooksLikeResourceScope(s) || s.StartsWith(Scopes.Launch, StringComparison.Ordinal));
        if (aud is null && wantsFhir)
        {
            return Fail(OAuthError.InvalidRequest, $"aud is required and must be the FHIR base URL {endpoints.Fhir}.");
        }

        if (aud is not null && aud.TrimEnd('/') != endpoints.Fhir)
        {
            return Fail(OAuthError.InvalidRequest, $"aud '{aud}' is not this EHR's FHIR base URL {endpoints.Fhir}.");
        }

        var request = new AuthorizationRequest
        {
            Client = client,
            RedirectUri = redirectUri,
            State = state,
            CodeChallenge = challenge,
            ResponseMode = responseMode,
            Scopes = granted,
            Nonce = Get("nonce"),
        };

        if (launchId is not null)
        {
            var launch = store.TakeLaunch(launchId, client.ClientId);
            var practitioner = launch is null ? null : users.Find(UserTypes.Physician, launch.PractitionerId);
            if (launch is null || practitioner is null)
            {
                return Fail(OAuthError.InvalidRequest, "launch is unknown, expired, already used, or was made for another app.");
            }

            var patient = request.Scopes.Contains(Scopes.Launch) || request.Scopes.Contains(Scopes.LaunchPatient) ? launch.PatientId : null;
            var encounter = request.Scopes.Contains(Scopes.Launch) || request.Scopes.Contains(Scopes.LaunchEncounter) ? launch.EncounterId : null;
            return responder.Approve(request, practitioner, patient, encounter, patient is null ? null : launch.AppContext).ToResult();
        }

        var pending = store.SavePending(request, options.Value.InteractionLifetime);
        return Results.Redirect($"{context.Request.PathBase}/auth/consent?request={Uri.EscapeDataString(pending.Id)}");
    }
}

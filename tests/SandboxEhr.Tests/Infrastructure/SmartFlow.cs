using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using SandboxEhr.Data;

namespace SandboxEhr.Tests.Infrastructure;

/// <summary>
/// Drives the sandbox as an app and a user would: EHR sign-in and launch button, the authorization request,
/// the sign-in / picker / approve page, and token requests, one protocol step per call.
/// </summary>
public sealed partial class SmartFlow(SandboxApp app) : IDisposable
{
    public const string SmartAppId = "medical-massage-referral";
    public const string SmartAppRedirect = "http://127.0.0.1:5200/callback";
    public const string SmartAppJwks = "http://127.0.0.1:5200/.well-known/jwks.json";
    public const string FunctionsId = "medical-massage-functions";
    public const string FunctionsJwks = "http://127.0.0.1:7071/api/backend/jwks.json";
    public const string InboxId = "therapist-inbox";
    public const string InboxSecret = "development-only-therapist-inbox-secret";
    public const string InboxRedirect = "http://127.0.0.1:5200/signin-oidc";

    public const string EhrLaunchScopes = "openid fhirUser launch online_access patient/Patient.rs patient/Condition.rs patient/Coverage.rs patient/ServiceRequest.c";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public HttpClient Browser { get; } = app.Browser();

    /// <summary>Signs in to the EHR pages as a physician, as the browser test does with its buttons.</summary>
    public async Task SignInToEhrAsync(string practitionerId = SyntheticIds.FamilyPhysician)
    {
        var token = await AntiforgeryTokenAsync("/");
        using var response = await Browser.PostAsync("/?handler=SignIn", Form(("practitionerId", practitionerId), ("__RequestVerificationToken", token)), Cancellation);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    /// <summary>Presses the chart's launch button; returns the URL the frame is sent to.</summary>
    public async Task<Uri> PressLaunchButtonAsync(string patientId, string clientId = SmartAppId)
    {
        using var response = await PostLaunchAsync(patientId, clientId);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        return response.Headers.Location!;
    }

    public async Task<HttpResponseMessage> PostLaunchAsync(string patientId, string clientId)
    {
        var token = await AntiforgeryTokenAsync($"/ehr/patients/{patientId}");
        return await Browser.PostAsync($"/ehr/patients/{patientId}?handler=Launch", Form(("clientId", clientId), ("__RequestVerificationToken", token)), Cancellation);
    }

    /// <summary>An EHR launch up to the opaque launch value: sign in, open the chart, press the button.</summary>
    public async Task<string> EhrLaunchAsync(string patientId, string clientId = SmartAppId)
    {
        await SignInToEhrAsync();
        var launchUrl = await PressLaunchButtonAsync(patientId, clientId);
        return QueryHelpers.ParseQuery(launchUrl.Query)["launch"].ToString();
    }

    public static Dictionary<string, string?> AuthorizeParameters(Pkce pkce, string scope, string? launch, string clientId = SmartAppId, string redirectUri = SmartAppRedirect, string aud = $"{SandboxApp.TestBase}/fhir")
    {
        var parameters = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = clientId,
            ["redirect_uri"] = redirectUri,
            ["scope"] = scope,
            ["state"] = Guid.NewGuid().ToString(),
            ["aud"] = aud,
            ["code_challenge"] = pkce.Challenge,
            ["code_challenge_method"] = "S256",
        };
        if (launch is not null)
        {
            parameters["launch"] = launch;
        }

        return parameters;
    }

    public async Task<HttpResponseMessage> AuthorizeAsync(IDictionary<string, string?> parameters) =>
        await Browser.GetAsync(QueryHelpers.AddQueryString("/auth/authorize", parameters), Cancellation);

    /// <summary>The parameters of an authorization response redirect (code and state, or error).</summary>
    public static Dictionary<string, string> RedirectParameters(HttpResponseMessage response, string redirectUri = SmartAppRedirect)
    {
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        Assert.StartsWith(redirectUri + "?", location, StringComparison.Ordinal);
        return QueryHelpers.ParseQuery(new Uri(location).Query).ToDictionary(p => p.Key, p => p.Value.ToString());
    }

    /// <summary>A whole EHR launch up to the code, with the scopes the smart-app asks for.</summary>
    public async Task<(string Code, Pkce Pkce)> EhrLaunchCodeAsync(string patientId, string scope = EhrLaunchScopes)
    {
        var launch = await EhrLaunchAsync(patientId);
        var pkce = Pkce.Create();
        var parameters = AuthorizeParameters(pkce, scope, launch);
        using var response = await AuthorizeAsync(parameters);
        var query = RedirectParameters(response);
        Assert.Equal(parameters["state"], query["state"]);
        return (query["code"], pkce);
    }

    /// <summary>Follows a standalone authorize redirect to the approve page and presses Approve (or Deny).</summary>
    public async Task<HttpResponseMessage> AnswerConsentAsync(HttpResponseMessage authorizeResponse, string userId, string? patientId, bool approve = true)
    {
        Assert.Equal(HttpStatusCode.Redirect, authorizeResponse.StatusCode);
        var consentUrl = authorizeResponse.Headers.Location!.ToString();
        Assert.StartsWith("/auth/consent?request=", consentUrl, StringComparison.Ordinal);
        var requestId = QueryHelpers.ParseQuery(consentUrl[consentUrl.IndexOf('?', StringComparison.Ordinal)..])["request"].ToString();
        var token = await AntiforgeryTokenAsync(consentUrl);
        var fields = new List<(string, string)> { ("request", requestId), ("UserId", userId), ("__RequestVerificationToken", token) };
        if (patientId is not null)
        {
            fields.Add(("PatientId", patientId));
        }

        return await Browser.PostAsync($"/auth/consent?handler={(approve ? "Approve" : "Deny")}", Form([.. fields]), Cancellation);
    }

    public async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> TokenAsync(params (string Name, string Value)[] fields)
    {
        using var client = app.CreateClient();
        var response = await client.PostAsync("/auth/token", Form(fields), Cancellation);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement.Clone();
        return (response.StatusCode, body, response);
    }

    /// <summary>Exchanges a code the way the smart-app does: private_key_jwt, no client_id (SMART: omitted for confidential clients).</summary>
    public Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> RedeemCodeAsync(string code, string verifier, ClientKey key, string redirectUri = SmartAppRedirect, string clientId = SmartAppId) =>
        TokenAsync(
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirectUri),
            ("code_verifier", verifier),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", key.Assertion(clientId, app.TokenEndpoint, app.Time.GetUtcNow())));

    public async Task<HttpResponseMessage> FhirGetAsync(string path, string? accessToken)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/fhir/{path}");
        if (accessToken is not null)
        {
            request.Headers.Authorization = new("Bearer", accessToken);
        }

        return await client.SendAsync(request, Cancellation);
    }

    public async Task<HttpResponseMessage> FhirPostAsync(string path, string json, string? accessToken, string? ifNoneExist = null, string mediaType = "application/fhir+json")
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/fhir/{path}") { Content = new StringContent(json, System.Text.Encoding.UTF8, mediaType) };
        if (ifNoneExist is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Exist", ifNoneExist);
        }

        if (accessToken is not null)
        {
            request.Headers.Authorization = new("Bearer", accessToken);
        }

        return await client.SendAsync(request, Cancellation);
    }

    public void Dispose() => Browser.Dispose();

    public static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    private async Task<string> AntiforgeryTokenAsync(string path)
    {
        var html = await Browser.GetStringAsync(path, Cancellation);
        var match = AntiforgeryInput().Match(html);
        Assert.True(match.Success, $"{path} has no antiforgery token:\n{html}");
        return match.Groups[1].Value;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryInput();
}

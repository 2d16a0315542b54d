using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using SandboxEhr.Data;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Auth;

/// <summary>
/// OpenID Connect sign-in for therapists, as ASP.NET Core's OpenIdConnect handler does it by default:
/// code + PKCE, response_mode=form_post, a nonce, client_secret_post, no aud.
/// </summary>
public sealed partial class TherapistSignInTests() : SandboxFlowTests
{
    [Fact]
    public async Task A_therapist_signs_in_and_the_inbox_gets_an_id_token_and_an_access_token_for_the_functions_app()
    {
        var (code, pkce, state) = await SignInAsync(SyntheticIds.OncologyLymphTherapist);

        var (status, body, _) = await Flow.TokenAsync(
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", SmartFlow.InboxRedirect),
            ("code_verifier", pkce.Verifier),
            ("client_id", SmartFlow.InboxId),
            ("client_secret", SmartFlow.InboxSecret));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(string.IsNullOrEmpty(state));
        var idToken = await Tokens.ValidateAsync(App, body.GetProperty("id_token").GetString()!, SmartFlow.InboxId);
        Assert.Equal(SyntheticIds.OncologyLymphTherapist, idToken.Subject);
        Assert.Equal($"PractitionerRole/{SyntheticIds.OncologyLymphTherapist}", idToken.Claim("fhirUser"));
        Assert.Equal("Olivia Hart, LMT", idToken.Claim("name"));
        Assert.Equal("n-0S6_WzA2Mj", idToken.Claim("nonce"));
        Assert.False(body.TryGetProperty("patient", out _));

        var accessToken = await Tokens.ValidateAsync(App, body.GetProperty("access_token").GetString()!, "medical-massage-functions");
        Assert.Equal(SyntheticIds.OncologyLymphTherapist, accessToken.Subject);
        Assert.Equal($"PractitionerRole/{SyntheticIds.OncologyLymphTherapist}", accessToken.Claim("fhirUser"));
        Assert.Contains("referral.inbox", accessToken.Claim("scope").Split(' '));
        Assert.Equal("at+jwt", accessToken.Typ);

        using var fhir = await Flow.FhirGetAsync($"Patient/{SyntheticIds.LymphedemaPatient}", body.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, fhir.StatusCode);
    }

    [Fact]
    public async Task The_inbox_may_authenticate_with_client_secret_basic_and_a_wrong_secret_is_refused_with_invalid_client()
    {
        var (code, pkce, _) = await SignInAsync(SyntheticIds.PrenatalTherapist);
        using var client = App.CreateClient();

        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/auth/token")
        {
            Content = SmartFlow.Form(("grant_type", "authorization_code"), ("code", code), ("redirect_uri", SmartFlow.InboxRedirect), ("code_verifier", pkce.Verifier)),
        };
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{SmartFlow.InboxId}:not-the-secret")));
        using var refused = await client.SendAsync(wrong, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("Basic", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var right = new HttpRequestMessage(HttpMethod.Post, "/auth/token")
        {
            Content = SmartFlow.Form(("grant_type", "authorization_code"), ("code", code), ("redirect_uri", SmartFlow.InboxRedirect), ("code_verifier", pkce.Verifier)),
        };
        right.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{SmartFlow.InboxId}:{SmartFlow.InboxSecret}")));
        using var accepted = await client.SendAsync(right, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task The_therapist_sign_in_page_lists_therapists_with_their_training_and_no_physicians()
    {
        using var authorize = await Flow.AuthorizeAsync(InboxParameters(Pkce.Create()));

        var page = await Flow.Browser.GetStringAsync(authorize.Headers.Location, TestContext.Current.CancellationToken);

        Assert.Contains("Sign in as therapist", page, StringComparison.Ordinal);
        Assert.Contains("Olivia Hart", page, StringComparison.Ordinal);
        Assert.Contains("Manual lymph drainage", page, StringComparison.Ordinal);
        Assert.Contains("Prenatal massage", page, StringComparison.Ordinal);
        Assert.DoesNotContain("Amelia Stone", page, StringComparison.Ordinal);
        Assert.DoesNotContain("Choose a patient", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_out_returns_to_the_registered_post_logout_uri_with_the_state_and_refuses_others()
    {
        using var client = App.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var ok = await client.GetAsync(QueryHelpers.AddQueryString("/auth/end-session", new Dictionary<string, string?>
        {
            ["client_id"] = SmartFlow.InboxId,
            ["post_logout_redirect_uri"] = "http://127.0.0.1:5200/signout-callback-oidc",
            ["state"] = "xyz",
        }), TestContext.Current.CancellationToken);
        using var other = await client.GetAsync(QueryHelpers.AddQueryString("/auth/end-session", new Dictionary<string, string?>
        {
            ["client_id"] = SmartFlow.InboxId,
            ["post_logout_redirect_uri"] = "https://evil.example/",
        }), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal("http://127.0.0.1:5200/signout-callback-oidc?state=xyz", ok.Headers.Location!.ToString());
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        Assert.Null(other.Headers.Location);
    }

    private static Dictionary<string, string?> InboxParameters(Pkce pkce) => new()
    {
        ["response_type"] = "code",
        ["client_id"] = SmartFlow.InboxId,
        ["redirect_uri"] = SmartFlow.InboxRedirect,
        ["scope"] = "openid profile fhirUser referral.inbox",
        ["response_mode"] = "form_post",
        ["nonce"] = "n-0S6_WzA2Mj",
        ["state"] = "CfDJ8-opaque-state",
        ["code_challenge"] = pkce.Challenge,
        ["code_challenge_method"] = "S256",
        ["x-client-SKU"] = "ID_NET10_0",
        ["x-client-ver"] = "8.0.0.0",
    };

    private async Task<(string Code, Pkce Pkce, string State)> SignInAsync(string therapistId)
    {
        var pkce = Pkce.Create();
        using var authorize = await Flow.AuthorizeAsync(InboxParameters(pkce));
        using var response = await Flow.AnswerConsentAsync(authorize, therapistId, patientId: null);

        // form_post: a page that posts code and state to the redirect URI.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains($"action=\"{SmartFlow.InboxRedirect}\"", html, StringComparison.Ordinal);
        Assert.Contains("<script src=\"/js/form-post.js\"></script>", html, StringComparison.Ordinal);
        var fields = HiddenField().Matches(html).ToDictionary(m => m.Groups[1].Value, m => System.Net.WebUtility.HtmlDecode(m.Groups[2].Value));
        return (fields["code"], pkce, fields["state"]);
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenField();
}

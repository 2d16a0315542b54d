using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referral.SmartApp.Inbox;

namespace Referral.Tests.Inbox;

/// <summary>
/// Therapist sign-in for the inbox with the real OpenID Connect handler against the sandbox EHR: the redirect to the
/// provider, the landing back on the page first asked for, the cookie that holds only a key, the refresh of the access
/// token before it expires, and sign-out.
/// </summary>
public sealed class InboxSignInTests(InboxFixture fixture) : IClassFixture<InboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Opening_the_inbox_signed_out_redirects_to_the_therapists_provider_with_code_flow_and_pkce()
    {
        using var browser = fixture.Stack.Browser();

        using var response = await browser.GetAsync(new Uri("/inbox", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.StartsWith(fixture.Stack.SandboxBase + "/auth/authorize?", location.ToString(), StringComparison.Ordinal);
        var query = QueryHelpers.ParseQuery(location.Query);
        Assert.Equal("therapist-inbox", query["client_id"]);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(fixture.Stack.AppBase + "/signin-oidc", query["redirect_uri"]);
        Assert.Equal(["openid", "profile", "fhirUser", "referral.inbox", "offline_access"], query["scope"].ToString().Split(' '));
    }

    [Fact]
    public async Task A_signed_out_therapist_following_a_notification_link_signs_in_and_lands_on_that_referral()
    {
        var therapist = await fixture.Stack.AddTherapistAsync("Lena", "Ward");
        var id = await fixture.Stack.SendReferralAsync(therapist);
        using var browser = fixture.Stack.Browser();

        var signIn = await fixture.Stack.SignInAsync(browser, therapist, $"/inbox/referrals/{id}");
        using var page = await browser.GetAsync(new Uri(signIn.Location, UriKind.Relative), Ct);

        Assert.Equal($"/inbox/referrals/{id}", signIn.Location);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("Referral for Alex Doe", html, StringComparison.Ordinal);
        Assert.Contains("Signed in as Lena Ward, LMT", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_inbox_cookie_holds_only_a_key_to_the_server_side_ticket_and_no_token()
    {
        var therapist = await fixture.Stack.AddTherapistAsync("Ines", "Moreau");
        using var browser = fixture.Stack.Browser();

        var signIn = await fixture.Stack.SignInAsync(browser, therapist);

        var cookie = Assert.Single(signIn.Cookies, c => c.StartsWith(InboxAuthentication.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("path=/;", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        var value = cookie[(InboxAuthentication.CookieName.Length + 1)..cookie.IndexOf(';', StringComparison.Ordinal)];
        var options = fixture.Stack.AppServices.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(InboxAuthentication.CookieScheme);
        var inCookie = options.TicketDataFormat.Unprotect(value)!;
        Assert.Empty(inCookie.Properties.GetTokens());
        var claim = Assert.Single(inCookie.Principal.Claims);
        Assert.DoesNotContain(".", claim.Value, StringComparison.Ordinal);

        var onServer = await fixture.Stack.AppServices.GetRequiredService<InboxTicketStore>().RetrieveAsync(claim.Value, Ct);
        Assert.NotNull(onServer);
        Assert.False(string.IsNullOrEmpty(onServer.Properties.GetTokenValue("access_token")));
        Assert.False(string.IsNullOrEmpty(onServer.Properties.GetTokenValue("refresh_token")));
        Assert.Equal($"PractitionerRole/{therapist.Id}", onServer.Principal.FindFirst("fhirUser")?.Value);
    }

    [Fact]
    public async Task An_access_token_about_to_expire_is_refreshed_with_the_refresh_token_before_the_api_is_called()
    {
        var therapist = await fixture.Stack.AddTherapistAsync("Jon", "Park");
        using var browser = fixture.Stack.Browser();
        var signIn = await fixture.Stack.SignInAsync(browser, therapist);
        var store = fixture.Stack.AppServices.GetRequiredService<InboxTicketStore>();
        var key = TicketKey(signIn);
        var before = (await store.RetrieveAsync(key, Ct))!.Properties;

        // The sandbox issues access tokens for an hour: 59 minutes later the token is within the refresh margin.
        fixture.Stack.Time.Advance(TimeSpan.FromMinutes(59));
        using var page = await browser.GetAsync(new Uri("/inbox", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var after = (await store.RetrieveAsync(key, Ct))!.Properties;
        Assert.NotEqual(before.GetTokenValue("access_token"), after.GetTokenValue("access_token"));
        Assert.NotEqual(before.GetTokenValue("refresh_token"), after.GetTokenValue("refresh_token"));
        Assert.False(fixture.Stack.AppServices.GetRequiredService<InboxTokenRefresh>().NeedsRefresh(after));
    }

    [Fact]
    public async Task When_the_refresh_is_refused_the_therapist_is_sent_to_sign_in_again()
    {
        var therapist = await fixture.Stack.AddTherapistAsync("Kai", "Lund");
        using var browser = fixture.Stack.Browser();
        var signIn = await fixture.Stack.SignInAsync(browser, therapist);
        var store = fixture.Stack.AppServices.GetRequiredService<InboxTicketStore>();
        var key = TicketKey(signIn);
        var ticket = (await store.RetrieveAsync(key, Ct))!;
        ticket.Properties.UpdateTokenValue("refresh_token", "a-refresh-token-the-provider-never-issued");
        await store.RenewAsync(key, ticket, Ct);

        fixture.Stack.Time.Advance(TimeSpan.FromMinutes(59));
        using var page = await browser.GetAsync(new Uri("/inbox", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith(fixture.Stack.SandboxBase + "/auth/authorize?", page.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Null(await store.RetrieveAsync(key, Ct));
    }

    [Fact]
    public async Task Sign_out_removes_the_server_side_ticket_and_ends_the_session_at_the_provider()
    {
        var therapist = await fixture.Stack.AddTherapistAsync("Lia", "Moss");
        using var browser = fixture.Stack.Browser();
        var signIn = await fixture.Stack.SignInAsync(browser, therapist);
        var key = TicketKey(signIn);
        var html = await browser.GetStringAsync(new Uri("/inbox", UriKind.Relative), Ct);

        using var signOut = await browser.PostAsync(new Uri("/inbox/sign-out", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = Infrastructure.SmartAppHarness.AntiforgeryToken(html),
        }), Ct);

        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        var endSession = signOut.Headers.Location!;
        Assert.StartsWith(fixture.Stack.SandboxBase + "/auth/end-session?", endSession.ToString(), StringComparison.Ordinal);
        Assert.Equal(fixture.Stack.AppBase + "/signout-callback-oidc", QueryHelpers.ParseQuery(endSession.Query)["post_logout_redirect_uri"]);
        Assert.Null(await fixture.Stack.AppServices.GetRequiredService<InboxTicketStore>().RetrieveAsync(key, Ct));
        using var again = await browser.GetAsync(new Uri("/inbox", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.Redirect, again.StatusCode);
    }

    private string TicketKey(Infrastructure.InboxApps.SignIn signIn)
    {
        var cookie = signIn.Cookies.Single(c => c.StartsWith(InboxAuthentication.CookieName + "=", StringComparison.Ordinal));
        var value = cookie[(InboxAuthentication.CookieName.Length + 1)..cookie.IndexOf(';', StringComparison.Ordinal)];
        var options = fixture.Stack.AppServices.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(InboxAuthentication.CookieScheme);
        return options.TicketDataFormat.Unprotect(value)!.Principal.Claims.Single().Value;
    }

    [Fact]
    public async Task A_sign_in_with_a_planted_inbox_cookie_gets_a_new_ticket_key_and_the_planted_cookie_opens_nothing()
    {
        var attacker = await fixture.Stack.AddTherapistAsync("Mallory", "Quinn");
        var victim = await fixture.Stack.AddTherapistAsync("Vera", "Lindqvist");
        using var attackerBrowser = fixture.Stack.Browser();
        var attackerSignIn = await fixture.Stack.SignInAsync(attackerBrowser, attacker);
        var planted = CookieValue(attackerSignIn.Cookies);

        // Planted with a path that reaches the sign-in callback (the app's own cookie is limited to /inbox).
        var jar = new CookieContainer();
        jar.Add(new Cookie(InboxAuthentication.CookieName, planted, InboxAuthentication.CallbackPath, new Uri(fixture.Stack.AppBase).Host) { Secure = true, HttpOnly = true });
        using var victimBrowser = fixture.Stack.Browser(jar);
        var victimSignIn = await fixture.Stack.SignInAsync(victimBrowser, victim);

        var issued = CookieValue(victimSignIn.Cookies);
        Assert.NotEqual(planted, issued);
        var options = fixture.Stack.AppServices.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(InboxAuthentication.CookieScheme);
        Assert.NotEqual(
            Assert.Single(options.TicketDataFormat.Unprotect(planted)!.Principal.Claims).Value,
            Assert.Single(options.TicketDataFormat.Unprotect(issued)!.Principal.Claims).Value);
        using (var inbox = await victimBrowser.GetAsync(new Uri("/inbox", UriKind.Relative), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, inbox.StatusCode);
        }

        // The planted cookie no longer opens anything: its ticket is gone, so the inbox asks for a sign-in.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(fixture.Stack.AppBase), "/inbox"));
        request.Headers.Add("Cookie", $"{InboxAuthentication.CookieName}={planted}");
        using var stolen = await attackerBrowser.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Redirect, stolen.StatusCode);
    }

    private static string CookieValue(IReadOnlyList<string> setCookies)
    {
        var cookie = Assert.Single(setCookies, c => c.StartsWith(InboxAuthentication.CookieName + "=", StringComparison.Ordinal));
        return cookie[(InboxAuthentication.CookieName.Length + 1)..cookie.IndexOf(';', StringComparison.Ordinal)];
    }
}

using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Referral.SmartApp.Inbox;

namespace Referral.Tests.Inbox;

/// <summary>
/// /admin/self-check needs the inbox's sign-in with the provider's app role <c>referral-admin</c>: anonymous is sent to
/// sign in, a therapist without the role gets 403, a user the provider gives the role (the sandbox's app-role code on
/// their PractitionerRole, its stand-in for Entra ID's app role assignment) sees the page.
/// </summary>
public sealed class AdminSignInTests(InboxFixture fixture) : IClassFixture<InboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_self_check_signed_out_redirects_to_the_providers_sign_in()
    {
        using var browser = fixture.Stack.Browser();
        using var response = await browser.GetAsync(new Uri("/admin/self-check", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith(fixture.Stack.SandboxBase + "/auth/authorize", response.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signed_in_therapist_without_the_admin_role_gets_403_at_the_self_check()
    {
        var therapist = await fixture.Stack.AddTherapistAsync("Noa", "Admincheck");
        using var browser = fixture.Stack.Browser();

        var signIn = await fixture.Stack.SignInAsync(browser, therapist, "/admin/self-check");
        Assert.EndsWith("/admin/self-check", signIn.Location, StringComparison.Ordinal);
        using var page = await browser.GetAsync(new Uri(signIn.Location, UriKind.RelativeOrAbsolute), Ct);

        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
    }

    [Fact]
    public async Task A_user_signed_in_with_the_referral_admin_app_role_sees_the_self_check()
    {
        var admin = await fixture.Stack.AddTherapistAsync("Ada", "Adminrole", appRole: "referral-admin");
        using var browser = fixture.Stack.Browser();

        var signIn = await fixture.Stack.SignInAsync(browser, admin, "/admin/self-check");
        using var page = await browser.GetAsync(new Uri(signIn.Location, UriKind.RelativeOrAbsolute), Ct);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<h1>Installation self-check</h1>", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_policy_admits_a_signed_in_user_with_the_referral_admin_app_role_and_no_one_else()
    {
        var authorization = fixture.Stack.AppServices.GetRequiredService<IAuthorizationService>();

        static ClaimsPrincipal User(params Claim[] claims) =>
            new(new ClaimsIdentity([new Claim("sub", "user-1"), .. claims], InboxAuthentication.CookieScheme));

        var admin = await authorization.AuthorizeAsync(User(new Claim("roles", "referral-admin")), null, InboxAuthentication.AdminPolicy);
        var therapist = await authorization.AuthorizeAsync(User(new Claim("fhirUser", "PractitionerRole/x")), null, InboxAuthentication.AdminPolicy);
        var otherRole = await authorization.AuthorizeAsync(User(new Claim("roles", "referral-reader"), new Claim("referral_role", "referral-admin")), null, InboxAuthentication.AdminPolicy);
        var anonymous = await authorization.AuthorizeAsync(new ClaimsPrincipal(new ClaimsIdentity([new Claim("roles", "referral-admin")])), null, InboxAuthentication.AdminPolicy);

        Assert.True(admin.Succeeded);
        Assert.False(therapist.Succeeded);
        Assert.False(otherRole.Succeeded);
        Assert.False(anonymous.Succeeded);
    }
}

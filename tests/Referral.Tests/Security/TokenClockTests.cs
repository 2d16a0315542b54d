using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referral.Functions.Security;
using Referral.SmartApp.Inbox;
using Referral.Tests.Infrastructure;
using Referral.Tests.Inbox;

namespace Referral.Tests.Security;

/// <summary>
/// Token lifetimes are judged by the app's own clock (the TimeProvider in DI), never the machine's: Microsoft.IdentityModel
/// checks nbf and exp against the machine clock unless the app says otherwise. Each app here runs on a fake clock three
/// hours ahead of the test run's clock (the machine's, or ahead of it when REFERRAL_TEST_CLOCK is set), so a check
/// against the machine clock gives the opposite answer. (The inbox's stack shares
/// one clock with its provider, so only an id_token minted ahead of the machine can be shown there, not one behind it.)
/// </summary>
public sealed class TokenClockTests(AzuriteFixture azurite, TestIdentity identity, InboxFixture inbox) : IClassFixture<TestIdentity>, IClassFixture<InboxFixture>
{
    private static readonly TimeSpan Ahead = TimeSpan.FromHours(3);
    private static readonly Uri DirectorySearch = new("/api/fhir/PractitionerRole", UriKind.Relative);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The two JwtBearer schemes: physician tokens the smart-app signs, therapists' tokens from their provider.</summary>
    public static TheoryData<string> Schemes() => [ApiAuthentication.PhysicianScheme, ApiAuthentication.TherapistScheme];

    [Theory]
    [MemberData(nameof(Schemes))]
    public async Task The_api_accepts_a_token_minted_at_its_own_clock_though_the_machine_clock_says_it_is_not_yet_valid(string scheme)
    {
        var time = new FakeTimeProvider(TestClock.Now + Ahead);
        await using var app = new FunctionsApp(azurite.ConnectionString, identity, time: time);
        using var client = app.ClientWith(Token(scheme, at: time.GetUtcNow()));

        using var response = await client.GetAsync(DirectorySearch, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Schemes))]
    public async Task The_api_refuses_with_401_a_token_minted_at_machine_time_that_has_expired_by_its_own_clock(string scheme)
    {
        var time = new FakeTimeProvider(TestClock.Now + Ahead);
        await using var app = new FunctionsApp(azurite.ConnectionString, identity, time: time);
        using var client = app.ClientWith(Token(scheme, at: null));

        using var response = await client.GetAsync(DirectorySearch, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_api_keeps_the_30_second_clock_skew_on_its_own_clock()
    {
        var time = new FakeTimeProvider(TestClock.Now + Ahead);
        await using var app = new FunctionsApp(azurite.ConnectionString, identity, time: time);
        // Five minutes of lifetime: 20 seconds past exp is within the skew, 40 seconds past is not.
        var minted = time.GetUtcNow() - TimeSpan.FromMinutes(5);

        using var withinSkew = app.ClientWith(identity.Therapist(at: minted - TimeSpan.FromSeconds(20)));
        using var pastSkew = app.ClientWith(identity.Therapist(at: minted - TimeSpan.FromSeconds(40)));

        using var accepted = await withinSkew.GetAsync(DirectorySearch, Ct);
        using var refused = await pastSkew.GetAsync(DirectorySearch, Ct);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task The_apis_bearer_handlers_take_the_apps_clock_from_DI()
    {
        var time = new FakeTimeProvider(TestClock.Now + Ahead);
        await using var app = new FunctionsApp(azurite.ConnectionString, identity, time: time);

        var options = app.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>();

        Assert.Same(time, options.Get(ApiAuthentication.PhysicianScheme).TimeProvider);
        Assert.Same(time, options.Get(ApiAuthentication.TherapistScheme).TimeProvider);
    }

    [Fact]
    public async Task The_inbox_accepts_an_id_token_minted_at_its_own_clock_though_the_machine_clock_says_it_is_not_yet_valid()
    {
        var stack = inbox.Stack;
        var therapist = await stack.AddTherapistAsync("Noor", "Hale");
        // The stack's one clock (the sandbox mints by it, the inbox and the functions app judge by it) three hours on.
        stack.Time.Advance(Ahead);
        using var browser = stack.Browser();

        var signIn = await stack.SignInAsync(browser, therapist);
        using var page = await browser.GetAsync(new Uri(signIn.Location, UriKind.Relative), Ct);

        Assert.Equal("/inbox", signIn.Location);
        Assert.Contains(signIn.Cookies, c => c.StartsWith(InboxAuthentication.CookieName + "=", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Signed in as Noor Hale, LMT", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public void The_inboxs_cookie_and_OpenID_Connect_handlers_take_the_apps_clock_from_DI()
    {
        var services = inbox.Stack.AppServices;

        var cookie = services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(InboxAuthentication.CookieScheme);
        var oidc = services.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>().Get(InboxAuthentication.OidcScheme);

        Assert.Same(inbox.Stack.Time, cookie.TimeProvider);
        Assert.Same(inbox.Stack.Time, oidc.TimeProvider);
    }

    /// <summary>A token of the scheme minted at <paramref name="at"/> (the test run's clock when null), five minutes long.</summary>
    private string Token(string scheme, DateTimeOffset? at) => scheme == ApiAuthentication.PhysicianScheme
        ? identity.Physician(at: at)
        : identity.Therapist(at: at);
}

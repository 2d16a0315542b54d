using System.Net;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Referral.SmartApp.Security;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>
/// Issue 24, finding 4: a session id planted or seen before a launch is worth nothing after it (a new one is issued at
/// every successful callback), and launch contexts belong to the EHR user who launched them: on a shared workstation,
/// the next physician's launch closes the previous physician's contexts.
/// </summary>
public sealed class SessionFixationTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_session_id_planted_before_the_launch_is_replaced_at_the_callback_and_opens_nothing()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var _ = await harness.StartAsync();
        var planted = AppSession.Base64UrlToken(32);
        var jar = new CookieContainer();
        jar.Add(new Cookie(AppSession.CookieName, planted, "/", "localhost") { Secure = true, HttpOnly = true });
        using var victim = harness.App.CreateDefaultClient(new Uri(SmartAppHarness.AppBase), new CookieContainerHandler(jar));

        var steps = await harness.LaunchAsync(victim);

        Assert.Equal(HttpStatusCode.SeeOther, steps.CallbackStatus);
        var after = jar.GetCookies(new Uri(SmartAppHarness.AppBase))[AppSession.CookieName]!.Value;
        Assert.NotEqual(planted, after);
        using var form = await victim.GetAsync(new Uri(steps.FormPath!, UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);

        // The attacker who planted the value, knowing the context id from the URL, opens nothing.
        using var attacker = harness.App.CreateDefaultClient(new Uri(SmartAppHarness.AppBase));
        using var request = new HttpRequestMessage(HttpMethod.Get, steps.FormPath);
        request.Headers.Add("Cookie", $"{AppSession.CookieName}={planted}");
        using var stolen = await attacker.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.NotEqual(HttpStatusCode.OK, stolen.StatusCode);
        Assert.DoesNotContain("Dana Whitfield", await stolen.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_another_physician_launches_in_the_same_browser_the_first_physicians_context_no_longer_opens()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var first = await harness.LaunchAsync(browser);
        var again = await harness.LaunchAsync(browser);

        // The same physician launching again keeps their open contexts.
        using (var still = await browser.GetAsync(new Uri(first.FormPath!, UriKind.Relative), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, still.StatusCode);
        }

        ehr.FhirUserId = FakeEhr.OtherPractitionerId;
        var second = await harness.LaunchAsync(browser);

        Assert.Equal(HttpStatusCode.SeeOther, second.CallbackStatus);
        using var mine = await browser.GetAsync(new Uri(second.FormPath!, UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        foreach (var earlier in new[] { first.FormPath!, again.FormPath! })
        {
            using var theirs = await browser.GetAsync(new Uri(earlier, UriKind.Relative), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, theirs.StatusCode);
            Assert.Contains("Your session with the app has ended", await theirs.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
    }
}

using Microsoft.Playwright;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// The therapist inbox in Debian's Chromium on real loopback ports (sandbox EHR as the provider, functions app on
/// Azurite, smart-app): sign-in through the sandbox, the refusals a therapist meets, each page under the app's CSP,
/// kept as a screenshot and scanned with axe (no serious or critical violations).
/// </summary>
public sealed class InboxBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    [Fact]
    public async Task A_therapist_opening_another_therapists_referral_by_its_address_gets_a_not_found_page()
    {
        await using var apps = await InboxApps.StartAsync(azurite, forBrowser: true);
        var therapist = await apps.AddTherapistAsync("Tess", "Ward");
        var other = await apps.AddTherapistAsync("Uma", "Cole");
        var theirs = await apps.SendReferralAsync(other);
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        var response = await SignInAsync(page, apps, therapist, $"/inbox/referrals/{theirs}");

        await page.GetByRole(AriaRole.Heading, new() { Name = "Referral not found" }).WaitForAsync();
        Assert.Equal(404, response?.Status);
        Assert.Equal(0, await page.GetByText("Alex Doe").CountAsync());
        await Chromium.ScreenshotAsync(page, "inbox-not-found");
        await Chromium.AssertNoSeriousViolationsAsync(page);
    }

    [Fact]
    public async Task A_decline_without_a_reason_is_refused_on_the_page_and_the_inbox_lists_the_referral_as_new()
    {
        await using var apps = await InboxApps.StartAsync(azurite, forBrowser: true);
        var therapist = await apps.AddTherapistAsync("Vera", "Nash");
        var id = await apps.SendReferralAsync(therapist);
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        await SignInAsync(page, apps, therapist, "/inbox");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Your referrals" }).WaitForAsync();
        Assert.Equal("New (1)", (await page.GetByRole(AriaRole.Link, new() { Name = "New (1)" }).InnerTextAsync()).Trim());
        await Chromium.ScreenshotAsync(page, "inbox-list");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        await page.GetByRole(AriaRole.Link, new() { Name = "Alex Doe", Exact = false }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Decline" }).WaitForAsync();
        await Chromium.ScreenshotAsync(page, "inbox-referral-new");
        await Chromium.AssertNoSeriousViolationsAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Decline" }).ClickAsync();

        await page.GetByText("Say why you decline the referral: the physician sees the reason.").WaitForAsync();
        Assert.Equal("true", await page.GetByLabel("Reason for declining (the physician sees it)").GetAttributeAsync("aria-invalid"));
        Assert.Equal("New", (await page.Locator("[data-status]").First.InnerTextAsync()).Trim());
        await Chromium.ScreenshotAsync(page, "inbox-decline-refused");
        await Chromium.AssertNoSeriousViolationsAsync(page);
        Assert.Contains(id, page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_past_the_prescribed_count_is_refused_with_its_reason_shown()
    {
        await using var apps = await InboxApps.StartAsync(azurite, forBrowser: true);
        var therapist = await apps.AddTherapistAsync("Wren", "Ito");
        var id = await apps.SendReferralAsync(therapist, d => d with { Sessions = 1 });
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        var page = await context.NewPageAsync();
        await SignInAsync(page, apps, therapist, $"/inbox/referrals/{id}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();
        await page.GetByText("You accepted the referral.").WaitForAsync();

        await RecordSessionAsync(page, apps.Time.GetUtcNow().AddHours(-5));
        await page.GetByText("The session was recorded: 1 of 1 sessions used.").WaitForAsync();
        await Chromium.ScreenshotAsync(page, "inbox-referral-in-treatment");
        await Chromium.AssertNoSeriousViolationsAsync(page);
        await RecordSessionAsync(page, apps.Time.GetUtcNow().AddHours(-2));

        await page.GetByRole(AriaRole.Heading, new() { Name = "The session was not recorded" }).WaitForAsync();
        Assert.True(await page.GetByText("All 1 prescribed sessions are already recorded.").IsVisibleAsync());
        Assert.Equal("Tingling eased.", await page.GetByLabel("Subjective: what the patient reports").InputValueAsync());
        await Chromium.ScreenshotAsync(page, "inbox-session-refused");
        await Chromium.AssertNoSeriousViolationsAsync(page);
    }

    private static Task<IResponse?> SignInAsync(IPage page, InboxApps apps, InboxApps.Therapist therapist, string path) =>
        InboxPages.SignInAsync(page, apps.AppBase + path, therapist.Name);

    private static Task RecordSessionAsync(IPage page, DateTimeOffset start) =>
        InboxPages.RecordSessionAsync(page, start, InboxApps.PracticeZone, "Myofascial release", painBefore: 6, painAfter: 3, minutes: 45, "Tingling eased.");
}

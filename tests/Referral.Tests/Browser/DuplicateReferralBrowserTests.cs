using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// A second lymphedema referral to the same therapist for the sandbox's Helen Park, in Debian's Chromium against the
/// local stack: Review shows the open one (with a link to its status page), "Sign and send" without "Send it anyway"
/// stays on Review with the error next to the checkbox, and with it the second referral is sent. Screenshots of the
/// warning and the refusal are kept and both are scanned with axe.
/// </summary>
public sealed class DuplicateReferralBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    [Fact]
    public async Task A_second_lymphedema_referral_to_the_same_therapist_is_warned_about_and_sent_only_when_confirmed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1100 } });
        var ehr = await context.NewPageAsync();
        await ehr.GotoAsync(stack.EhrBase);
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Sign in as Dr. Amelia Stone, MD" }).ClickAsync();
        await ehr.GetByRole(AriaRole.Link, new() { Name = "Helen Park" }).ClickAsync();
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Medical massage referral" }).ClickAsync();
        var frame = ehr.Frame("app-frame")!;
        // The form's heading, then its address: a wait for the address alone can miss a navigation that commits while it is set up.
        await frame.GetByRole(AriaRole.Heading, new() { Name = "New medical-massage referral" }).WaitForAsync();
        Assert.True(frame.Url.StartsWith(stack.AppBase + "/context/", StringComparison.Ordinal) && frame.Url.EndsWith("/referral", StringComparison.Ordinal), frame.Url);
        var formUrl = frame.Url;

        // The same session's form in a page of its own (where axe can scan it): the first referral, sent as usual.
        var page = await context.NewPageAsync();
        await ReviewLymphedemaAsync(page, formUrl);
        Assert.Equal(0, await page.Locator("#confirm-duplicate").CountAsync());
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign and send" }).ClickAsync();
        await WaitForSentAsync(page);
        var firstId = new Uri(page.Url).Segments[^1];

        // The same again: Review shows the open one and asks.
        await ReviewLymphedemaAsync(page, formUrl);
        var warning = page.Locator("[data-open-referrals]");
        Assert.Contains("An open referral already exists", await warning.InnerTextAsync(), StringComparison.Ordinal);
        var link = warning.GetByRole(AriaRole.Link, new() { Name = "Lymphedema" });
        Assert.EndsWith("/referrals/" + firstId, await link.GetAttributeAsync("href"), StringComparison.Ordinal);
        Assert.Contains("to Olivia Hart, LMT, CLT", await link.InnerTextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "duplicate-referral-1-warned");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign and send" }).ClickAsync();
        await page.Locator("#confirm-duplicate-error").WaitForAsync();
        Assert.Contains("Send it anyway: this patient already has an open referral from you for Lymphedema", await page.Locator("#confirm-duplicate-error").InnerTextAsync(), StringComparison.Ordinal);
        Assert.EndsWith("/referral/review?handler=Send", page.Url, StringComparison.Ordinal);
        var store = stack.Functions.Services.GetRequiredService<ReferralStore>();
        Assert.Single(await store.FindAsync(ReferralLookup.Patient, stack.EhrBase + "/fhir", "Patient/helen-park", ct));
        await Chromium.ScreenshotAsync(page, "duplicate-referral-2-refused");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        await page.GetByLabel("Send it anyway").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign and send" }).ClickAsync();
        await WaitForSentAsync(page);
        Assert.NotEqual(firstId, new Uri(page.Url).Segments[^1]);
        Assert.Equal(2, (await store.FindAsync(ReferralLookup.Patient, stack.EhrBase + "/fhir", "Patient/helen-park", ct)).Count);
    }

    /// <summary>
    /// The status page "Sign and send" lands on: its notice that the referral was sent, then its address. Not a wait for
    /// the address and the load event: a navigation that commits while that wait is set up can leave it waiting for a
    /// load it never sees (seen once in CI, 30 s).
    /// </summary>
    internal static async Task WaitForSentAsync(IPage page)
    {
        await page.GetByRole(AriaRole.Status).Filter(new() { HasText = "The referral was sent" }).WaitForAsync();
        Assert.Contains("/referrals/", page.Url, StringComparison.Ordinal);
    }

    /// <summary>From a new form: lymphedema (from the problem list), the left arm, Olivia Hart (chosen for the physician), Review.</summary>
    private static async Task ReviewLymphedemaAsync(IPage page, string formUrl)
    {
        await page.GotoAsync(formUrl);
        Assert.True(await page.Locator("input[name='Input.Diagnoses'][value='I89.0']").IsCheckedAsync());
        foreach (var site in new[] { "UpperArm-Left", "Forearm-Left", "Hand-Left" })
        {
            await page.Locator($"#site-{site}").CheckAsync();
        }

        Assert.True(await page.GetByRole(AriaRole.Radio, new() { Name = "Olivia Hart, LMT, CLT" }).IsCheckedAsync());
        await page.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Review the referral" }).WaitForAsync();
    }
}

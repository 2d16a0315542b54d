using Microsoft.Playwright;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>The therapist's session form in Debian's Chromium: a failed save lists every problem in a summary that takes the focus, each linked to its field.</summary>
public sealed class SessionFormBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    [Fact]
    public async Task An_empty_session_form_lists_every_problem_linked_to_its_field_and_the_summary_has_the_focus()
    {
        await using var apps = await InboxApps.StartAsync(azurite, forBrowser: true);
        var therapist = await apps.AddTherapistAsync("Yara", "Quinn");
        var id = await apps.SendReferralAsync(therapist);
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        var page = await context.NewPageAsync();
        await InboxPages.SignInAsync(page, apps.AppBase + $"/inbox/referrals/{id}", therapist.Name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();
        await page.GetByText("You accepted the referral.").WaitForAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Record session" }).ClickAsync();
        // Whatever the form fills in for the therapist is emptied: nothing typed, nothing ticked.
        await page.GetByLabel("Date").FillAsync("");
        await page.GetByLabel("Start time").FillAsync("");
        await page.GetByLabel("Minutes").FillAsync("");
        foreach (var box in await page.Locator("input[type=checkbox]").AllAsync())
        {
            await box.UncheckAsync();
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Save session" }).ClickAsync();

        var summary = page.Locator(".error-summary");
        await summary.WaitForAsync();
        Assert.True(await summary.EvaluateAsync<bool>("e => e === document.activeElement"), "the error summary has the focus");
        var links = await summary.Locator("a[href^='#']").EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))");
        Assert.Equal(["#session-date", "#session-time", "#session-minutes", "#field-Sites", "#field-Techniques", "#pain-before", "#pain-after"], links);
        foreach (var link in links)
        {
            Assert.Equal(1, await page.Locator(link).CountAsync());
        }

        await Chromium.ScreenshotAsync(page, "session-form-every-problem");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        // Following a link puts the keyboard at the field.
        await summary.Locator("a[href='#session-minutes']").ClickAsync();
        Assert.Equal("session-minutes", await page.EvaluateAsync<string>("() => document.activeElement.id"));
    }
}

using Microsoft.Playwright;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// Issue 24, finding 4, as it happens on a shared clinic workstation in Debian's Chromium: one physician launches the
/// app from the sandbox chart, signs out of the EHR, the next physician signs in and launches in the same browser, and
/// the first physician's form (its address still in the history) no longer opens; the next physician's does.
/// </summary>
public sealed class SharedWorkstationBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    [Fact]
    public async Task After_the_next_physician_launches_on_a_shared_workstation_the_previous_physicians_form_no_longer_opens()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1100 } });
        var page = await context.NewPageAsync();

        var firstForm = await LaunchAsync(page, stack, "Sign in as Dr. Amelia Stone, MD", "Dana Whitfield");
        var frame = page.Frame("app-frame")!;
        Assert.Contains("Dana Whitfield", await frame.Locator("body").InnerTextAsync(), StringComparison.Ordinal);

        await page.GotoAsync(stack.EhrBase);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        var secondForm = await LaunchAsync(page, stack, "Sign in as Dr. Rajesh Iyer, MD", "Marcus Bennett");
        Assert.NotEqual(firstForm, secondForm);

        // The first physician's form, opened again in the EHR's frame of the same browser: the session has ended for it.
        frame = page.Frame("app-frame")!;
        await frame.GotoAsync(firstForm);
        var text = await frame.Locator("body").InnerTextAsync();
        Assert.Contains("Your session with the app has ended", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Dana Whitfield", text, StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "shared-workstation-previous-form-closed");

        // The next physician's own form still opens.
        await frame.GotoAsync(secondForm);
        await frame.GetByRole(AriaRole.Heading, new() { Name = "New medical-massage referral" }).WaitForAsync();
        Assert.Contains("Marcus Bennett", await frame.Locator("body").InnerTextAsync(), StringComparison.Ordinal);
    }

    /// <summary>Signs in to the sandbox EHR, opens the patient's chart, launches the app in its frame; the form's address.</summary>
    private static async Task<string> LaunchAsync(IPage page, LocalRun stack, string signIn, string patient)
    {
        await page.GotoAsync(stack.EhrBase);
        await page.GetByRole(AriaRole.Button, new() { Name = signIn }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = patient }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Medical massage referral" }).ClickAsync();
        var frame = page.Frame("app-frame")!;
        // The form's heading, then its address: a wait for the address alone can miss a navigation that commits while it is set up.
        await frame.GetByRole(AriaRole.Heading, new() { Name = "New medical-massage referral" }).WaitForAsync();
        Assert.True(frame.Url.StartsWith(stack.AppBase + "/context/", StringComparison.Ordinal) && frame.Url.EndsWith("/referral", StringComparison.Ordinal), frame.Url);
        return frame.Url;
    }
}

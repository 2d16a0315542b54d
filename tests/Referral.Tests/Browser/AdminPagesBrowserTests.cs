using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>The installation page and the self-check in Chromium: rendered under the app's CSP, kept as screenshots, scanned with axe.</summary>
public sealed class AdminPagesBrowserTests(Chromium chromium) : IClassFixture<Chromium>
{
    [Theory]
    [InlineData("/admin/install", "Installation for EHR administrators", "admin-install")]
    [InlineData("/admin/self-check", "Installation self-check", "admin-self-check")]
    public async Task The_admin_page_renders_with_its_heading_and_has_no_serious_accessibility_violations(string path, string heading, string screenshot)
    {
        await using var app = new SmartAppHost { AdminSignedIn = true };
        var address = app.StartOnLoopback();
        var page = await chromium.Browser.NewPageAsync();

        var response = await page.GotoAsync(new Uri(address, path).ToString());

        Assert.Equal(200, response?.Status);
        Assert.Equal(heading, await page.Locator("h1").InnerTextAsync());
        await Chromium.ScreenshotAsync(page, screenshot);
        await Chromium.AssertNoSeriousViolationsAsync(page);
        await page.CloseAsync();
    }
}

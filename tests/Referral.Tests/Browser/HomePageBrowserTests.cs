using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

public sealed class HomePageBrowserTests : IClassFixture<Chromium>
{
    private readonly Chromium chromium;

    public HomePageBrowserTests(Chromium chromium) => this.chromium = chromium;

    [Fact]
    public async Task The_home_page_says_what_the_app_is_and_how_it_is_launched_and_is_kept_as_a_screenshot()
    {
        await using var app = new SmartAppHost();
        var address = app.StartOnLoopback();
        var page = await chromium.Browser.NewPageAsync();

        var response = await page.GotoAsync(address.ToString());

        Assert.Equal(200, response?.Status);
        Assert.Equal("Medical-massage referral", await page.Locator("h1").InnerTextAsync());
        Assert.Contains("SMART on FHIR", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains($"{address.GetLeftPart(UriPartial.Authority)}/launch", await page.Locator("main code").First.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("frame-ancestors", response!.Headers["content-security-policy"], StringComparison.Ordinal);

        var screenshot = await Chromium.ScreenshotAsync(page, "smart-app-home");
        Assert.True(new FileInfo(screenshot).Length > 1000, $"{screenshot} should be a real picture of the page.");
        await page.CloseAsync();
    }
}

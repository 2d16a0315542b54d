using Referral.Tests.Infrastructure;
using Xunit.Sdk;

namespace Referral.Tests.Browser;

/// <summary>
/// The scan every browser test relies on (<see cref="Chromium.AssertNoSeriousViolationsAsync"/>) finds what it is there
/// to find, in the page and inside its frames, and lets a clean page pass: without this, a scan that ran no rule would
/// pass every page.
/// </summary>
public sealed class AccessibilityScanTests(Chromium chromium) : IClassFixture<Chromium>
{
    private const string Clean = "<!doctype html><html lang=\"en\"><head><title>Clean</title></head><body><main><h1>Clean</h1><p>Nothing wrong here.</p></main></body></html>";

    [Fact]
    public async Task A_clean_page_passes()
    {
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.SetContentAsync(Clean);

        await Chromium.AssertNoSeriousViolationsAsync(page);
    }

    [Fact]
    public async Task An_image_without_a_text_alternative_and_an_unlabelled_field_fail_the_scan_each_named()
    {
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.SetContentAsync("<!doctype html><html lang=\"en\"><head><title>Broken</title></head><body><main><h1>Broken</h1>" +
            "<img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\"><input type=\"text\"></main></body></html>");

        var failure = await Assert.ThrowsAsync<TrueException>(() => Chromium.AssertNoSeriousViolationsAsync(page));

        Assert.Contains("image-alt (critical)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("label (critical)", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_violation_inside_a_frame_fails_the_scan_of_the_page_that_holds_it()
    {
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.SetContentAsync("<!doctype html><html lang=\"en\"><head><title>Host</title></head><body><main><h1>Host</h1>" +
            "<iframe title=\"App\" srcdoc=\"<!doctype html><html lang='en'><head><title>App</title></head><body><main><button></button></main></body></html>\"></iframe></main></body></html>");
        await page.Frames[1].WaitForLoadStateAsync();

        var failure = await Assert.ThrowsAsync<TrueException>(() => Chromium.AssertNoSeriousViolationsAsync(page));

        Assert.Contains("button-name (critical)", failure.Message, StringComparison.Ordinal);
    }
}

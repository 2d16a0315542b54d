using Microsoft.Playwright;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// The EHR calls the CDS services as a physician works, in Debian's Chromium against the local stack: Helen Park's
/// chart shows the referral card above the chart, its link launches the app onto the form with lymphedema chosen, and
/// once that referral is sent the chart shows no card; the
/// sandbox's order screen, given a massage order with no body site, shows the order-select card's warning.
/// Screenshots are kept and each page is scanned with axe.
/// </summary>
public sealed class CdsHooksBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    [Fact]
    public async Task Helen_Parks_chart_shows_the_referral_card_whose_link_lands_on_the_form_with_lymphedema_chosen_and_no_card_once_it_is_sent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1100 } });
        var ehr = await context.NewPageAsync();
        await ehr.GotoAsync(stack.EhrBase);
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Sign in as Dr. Amelia Stone, MD" }).ClickAsync();
        await ehr.GetByRole(AriaRole.Link, new() { Name = "Helen Park" }).ClickAsync();

        var cards = ehr.GetByRole(AriaRole.Region, new() { Name = "Decision support" });
        await cards.WaitForAsync();
        var card = cards.Locator("article");
        Assert.Equal(1, await card.CountAsync());
        var text = await card.InnerTextAsync();
        Assert.Contains("Consider a medical-massage referral: Lymphedema", text, StringComparison.Ordinal);
        Assert.Contains("Manual lymph drainage", text, StringComparison.Ordinal);
        // Her breast cancer is in remission, not active: the record shows none of the precautions.
        Assert.Contains("No precautions (anticoagulants, pregnancy, active cancer) found in the record.", text, StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(ehr, "cds-1-chart-card");
        await Chromium.AssertNoSeriousViolationsAsync(ehr);

        await card.GetByRole(AriaRole.Button, new() { Name = "Refer for Lymphedema" }).ClickAsync();
        var frame = ehr.Frame("app-frame")!;
        // The form's heading, then its address: a wait for the address alone can miss a navigation that commits while it is set up.
        await frame.GetByRole(AriaRole.Heading, new() { Name = "New medical-massage referral" }).WaitForAsync();
        Assert.True(frame.Url.StartsWith(stack.AppBase + "/context/", StringComparison.Ordinal) && frame.Url.EndsWith("/referral", StringComparison.Ordinal), frame.Url);
        Assert.True(await frame.Locator("input[name='Input.Diagnoses'][value='I89.0']").IsCheckedAsync());
        Assert.Equal(1, await frame.Locator("input[name='Input.Diagnoses']:checked").CountAsync());

        // The form in a page of its own, where axe can scan it.
        var form = await context.NewPageAsync();
        await form.GotoAsync(frame.Url);
        Assert.True(await form.Locator("input[name='Input.Diagnoses'][value='I89.0']").IsCheckedAsync());
        await Chromium.ScreenshotAsync(form, "cds-2-form-from-card");
        await Chromium.AssertNoSeriousViolationsAsync(form);

        // Once the referral is sent, the chart opens without the card: the open referral covers the lymphedema.
        foreach (var site in new[] { "UpperArm-Left", "Forearm-Left", "Hand-Left" })
        {
            await form.Locator($"#site-{site}").CheckAsync();
        }

        await form.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).ClickAsync();
        await form.GetByRole(AriaRole.Heading, new() { Name = "Review the referral" }).WaitForAsync();
        await form.GetByRole(AriaRole.Button, new() { Name = "Sign and send" }).ClickAsync();
        await DuplicateReferralBrowserTests.WaitForSentAsync(form);
        await ehr.ReloadAsync();
        await ehr.GetByRole(AriaRole.Heading, new() { Name = "Helen Park" }).WaitForAsync();
        Assert.Equal(0, await ehr.GetByRole(AriaRole.Region, new() { Name = "Decision support" }).CountAsync());
    }

    [Fact]
    public async Task The_order_screen_shows_the_order_select_warning_for_a_massage_order_without_a_body_site()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1100 } });
        var ehr = await context.NewPageAsync();
        await ehr.GotoAsync(stack.EhrBase);
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Sign in as Dr. Amelia Stone, MD" }).ClickAsync();
        await ehr.GetByRole(AriaRole.Link, new() { Name = "Helen Park" }).ClickAsync();
        await ehr.GetByRole(AriaRole.Link, new() { Name = "Order", Exact = true }).ClickAsync();

        await ehr.GetByLabel("Procedure").SelectOptionAsync("97140");
        await ehr.GetByLabel("Diagnosis").SelectOptionAsync(new SelectOptionValue { Label = "Lymphedema of left arm after breast cancer treatment" });
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Select order" }).ClickAsync();

        var card = ehr.GetByRole(AriaRole.Region, new() { Name = "Decision support" }).Locator("article");
        await card.WaitForAsync();
        var text = await card.InnerTextAsync();
        Assert.Contains("No body site", text, StringComparison.Ordinal);
        Assert.DoesNotContain("No diagnosis", text, StringComparison.Ordinal);
        Assert.Contains("card-warning", await card.GetAttributeAsync("class"), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(ehr, "cds-3-order-select-warning");
        await Chromium.AssertNoSeriousViolationsAsync(ehr);
    }
}

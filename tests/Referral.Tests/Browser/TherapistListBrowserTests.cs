using Microsoft.Playwright;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// The form's therapist list in Debian's Chromium against the local stack, for the sandbox's Helen Park (lymphedema of
/// the left arm, health plan): with no diagnosis or precaution ticked all five are listed, nobody "best" or chosen; ticking lymphedema changes the list
/// at once, without a round trip, to the therapists trained in manual lymph drainage, says why, and chooses the only
/// one. Screenshots of both states are kept and the page is scanned with axe in each.
/// </summary>
public sealed class TherapistListBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    [Fact]
    public async Task Ticking_a_diagnosis_changes_the_therapist_list_at_once_says_why_each_qualifies_and_chooses_the_only_one()
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

        // The same session's form in a page of its own, where axe can scan it as it changes.
        var page = await context.NewPageAsync();
        await page.GotoAsync(frame.Url);
        var list = page.Locator(".therapist-list");
        var radios = page.Locator("input[name='Input.Therapist']");
        // Nothing ticked: no diagnosis, and not the cancer precaution the record suggests (it needs oncology training).
        foreach (var ticked in await page.Locator("input[name='Input.Diagnoses']:checked, input[name='Input.Precautions']:checked").AllAsync())
        {
            await ticked.UncheckAsync();
        }

        await page.WaitForFunctionAsync("() => !document.querySelector('.therapist-list[aria-busy]') && !document.querySelector(\"input[name='Input.Therapist']:checked\") && !!document.querySelector('#choose-therapist-sam-rivera')");
        await page.GetByText("No diagnosis is ticked").WaitForAsync();
        Assert.Equal(0, await page.Locator("input[name='Input.Therapist']:checked").CountAsync());
        Assert.DoesNotContain("best match", await list.InnerTextAsync(), StringComparison.Ordinal);
        // All the seed's five (tests sharing this Azurite may have added therapists of their own).
        Assert.True(await radios.CountAsync() >= 5);
        Assert.True(await page.Locator("#choose-therapist-sam-rivera").IsVisibleAsync());
        await Chromium.ScreenshotAsync(page, "therapist-list-1-no-diagnosis");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        // A mark on the window survives only if the page is not loaded again: the list changes in place.
        await page.EvaluateAsync("() => { window.sameDocument = true; }");
        await page.Locator("input[name='Input.Diagnoses'][value='I89.0']").CheckAsync();
        await page.Locator("#choose-therapist-olivia-hart:checked").WaitForAsync();

        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"));
        var olivia = page.GetByRole(AriaRole.Radio, new() { Name = "Olivia Hart, LMT, CLT" });
        Assert.True(await olivia.IsCheckedAsync());
        Assert.Equal(0, await page.Locator("#choose-therapist-sam-rivera").CountAsync());
        Assert.All(await page.Locator(".therapists li").AllInnerTextsAsync(), text => Assert.Contains("Manual lymph drainage", text, StringComparison.Ordinal));
        var row = await page.Locator("[data-therapist='therapist-olivia-hart']").InnerTextAsync();
        Assert.Contains("Qualifies: trained in Manual lymph drainage (certified lymphedema therapist) (needed for Lymphedema)", row, StringComparison.Ordinal);
        // Helen Park lives in NW Portland, under a kilometre from the practice in the Pearl.
        Assert.Matches(@"\d+ m from the patient's home: Pearl Lymphatic and Oncology Massage, 1120 NW Couch St, Portland", row);
        Assert.Contains("Phone +1 503 555 0101", row, StringComparison.Ordinal);
        Assert.Contains("Bills Health insurance", row, StringComparison.Ordinal);
        Assert.Contains("best match first", await list.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Olivia Hart", await page.Locator("#therapist-list-status").InnerTextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "therapist-list-2-lymphedema");
        await Chromium.AssertNoSeriousViolationsAsync(page);
    }
}

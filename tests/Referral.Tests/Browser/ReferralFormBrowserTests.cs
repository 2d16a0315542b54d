using Microsoft.Playwright;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// The physician's form in Debian's Chromium on the local run (sandbox EHR, functions app on Azurite, smart-app), issue
/// 22: suggested sites are suggested once and a site the physician unticked never comes back (Review, Add diagnosis,
/// keyboard); the visit's reason pre-ticks its diagnoses with the right sites; a failed Review puts the focus on a
/// summary of every error; a typed phrase matching several codes offers a choice. Each page is screenshot and scanned with axe.
/// </summary>
public sealed class ReferralFormBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    [Fact]
    public async Task Unticking_every_suggested_site_and_pressing_review_shows_the_body_site_error_focused_and_ticks_nothing_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await NewContextAsync();
        var page = await OpenFormAsync(context, stack, "Dr. Amelia Stone, MD", "Dana Whitfield");
        var ticked = await TickedSitesAsync(page);
        Assert.Equal(["Forearm:Right", "Hand:Right", "Wrist:Right"], ticked.Order(StringComparer.Ordinal));

        foreach (var site in ticked)
        {
            await page.Locator($"#site-{site.Replace(':', '-')}").UncheckAsync();
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).ClickAsync();
        var summary = page.Locator(".error-summary");
        await summary.WaitForAsync();

        Assert.Empty(await TickedSitesAsync(page));
        Assert.True(await summary.EvaluateAsync<bool>("e => e === document.activeElement"), "the error summary has the focus");
        Assert.Equal(1, await summary.Locator("a[href='#field-Sites']").CountAsync());
        // The best therapist for the diagnosis is preselected, so the sites are the one thing missing.
        Assert.Equal(0, await summary.Locator("a[href='#field-Therapist']").CountAsync());
        await Chromium.ScreenshotAsync(page, "referral-form-sites-unticked-review");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        // A second Review: still nothing ticked by the app.
        await page.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).ClickAsync();
        await page.Locator(".error-summary").WaitForAsync();
        Assert.Empty(await TickedSitesAsync(page));
    }

    [Fact]
    public async Task Adding_a_diagnosis_ticks_its_sites_but_not_one_the_physician_unticked_and_a_phrase_matching_several_codes_offers_a_choice()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await NewContextAsync();
        var page = await OpenFormAsync(context, stack, "Dr. Amelia Stone, MD", "Dana Whitfield");

        await page.Locator("#site-Wrist-Right").UncheckAsync();
        await page.GetByLabel("Another diagnosis").FillAsync("G56.03");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add diagnosis" }).ClickAsync();
        await page.Locator("input[name='Input.Diagnoses'][value='G56.03']").WaitForAsync();

        Assert.True(await page.Locator("#site-Wrist-Left").IsCheckedAsync());
        Assert.True(await page.Locator("#site-Hand-Left").IsCheckedAsync());
        Assert.False(await page.Locator("#site-Wrist-Right").IsCheckedAsync());
        Assert.True(await page.Locator("#site-Hand-Right").IsCheckedAsync());

        await page.GetByLabel("Another diagnosis").FillAsync("sciatica");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add diagnosis" }).ClickAsync();
        var choices = page.GetByRole(AriaRole.Group, new() { Name = "Which diagnosis do you mean?" });
        await choices.WaitForAsync();
        Assert.Equal(3, await choices.GetByRole(AriaRole.Button).CountAsync());
        Assert.Equal(0, await page.Locator("input[name='Input.Diagnoses'][value^='M54.3']").CountAsync());
        await Chromium.ScreenshotAsync(page, "referral-form-diagnosis-choice");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        await choices.GetByRole(AriaRole.Button, new() { Name = "Sciatica, left side", Exact = false }).ClickAsync();
        await page.Locator("input[name='Input.Diagnoses'][value='M54.32']").WaitForAsync();
        Assert.True(await page.Locator("input[name='Input.Diagnoses'][value='M54.32']").IsCheckedAsync());
        Assert.True(await page.Locator("#site-Buttock-Left").IsCheckedAsync());
        Assert.False(await page.Locator("#site-Wrist-Right").IsCheckedAsync());
    }

    [Fact]
    public async Task By_keyboard_a_diagnosis_unticked_and_ticked_again_does_not_bring_back_a_site_the_physician_unticked()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await NewContextAsync();
        // The runner: plantar fasciitis of the right foot and right piriformis syndrome, both named by the visit.
        var page = await OpenFormAsync(context, stack, "Dr. Rajesh Iyer, MD", "Jamal Carter");
        var plantar = page.Locator("input[name='Input.Diagnoses'][value='M72.2']");
        Assert.True(await plantar.IsCheckedAsync());
        Assert.True(await page.Locator("input[name='Input.Diagnoses'][value='G57.01']").IsCheckedAsync());
        Assert.Equal(["Buttock:Right", "Foot:Right", "Hip:Right"], (await TickedSitesAsync(page)).Order(StringComparer.Ordinal));
        await Chromium.ScreenshotAsync(page, "referral-form-keyboard-1-visit-reason");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        await plantar.FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await page.Locator("#site-Foot-Right").FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await plantar.FocusAsync();
        await page.Keyboard.PressAsync("Space");

        Assert.True(await plantar.IsCheckedAsync());
        Assert.False(await page.Locator("#site-Foot-Right").IsCheckedAsync());

        await page.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        // The form again with its errors (the post's address), or the review (without a therapist chosen, the form).
        // Waited for by what the page shows, not by its address and load event (DuplicateReferralBrowserTests.WaitForSentAsync says why).
        await page.Locator(".error-summary").Or(page.GetByRole(AriaRole.Heading, new() { Name = "Review the referral" })).First.WaitForAsync();
        Assert.True(page.Url.Contains("handler=Review", StringComparison.Ordinal) || page.Url.EndsWith("/referral/review", StringComparison.Ordinal), page.Url);
        if (await page.Locator(".error-summary").CountAsync() > 0)
        {
            Assert.False(await page.Locator("#site-Foot-Right").IsCheckedAsync());
            Assert.True(await page.Locator("#site-Buttock-Right").IsCheckedAsync());
        }
        else
        {
            await page.GetByRole(AriaRole.Heading, new() { Name = "Review the referral" }).WaitForAsync();
            Assert.DoesNotContain("Right foot", await page.Locator("dl.summary").InnerTextAsync(), StringComparison.Ordinal);
        }

        await Chromium.ScreenshotAsync(page, "referral-form-keyboard-2-after-review");
        await Chromium.AssertNoSeriousViolationsAsync(page);
    }

    [Fact]
    public async Task The_pregnant_patients_low_back_pain_ticks_the_lower_back_and_not_the_neck()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await NewContextAsync();
        var page = await OpenFormAsync(context, stack, "Dr. Ellen Brooks, MD", "Sofia Reyes");

        Assert.True(await page.Locator("input[name='Input.Diagnoses'][value='Z33.1']").IsCheckedAsync());
        Assert.True(await page.Locator("input[name='Input.Diagnoses'][value='M54.50']").IsCheckedAsync());
        Assert.Equal(["LumbarRegion"], await TickedSitesAsync(page));
        await Chromium.ScreenshotAsync(page, "referral-form-pregnancy-low-back");
    }

    [Fact]
    public async Task The_car_accident_visit_pre_ticks_its_three_diagnoses_and_the_form_and_review_speak_plain_words()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await NewContextAsync();
        // "Neck pain and headaches after a rear-end car accident": whiplash, neck pain and tension-type headache.
        var page = await OpenFormAsync(context, stack, "Dr. Rajesh Iyer, MD", "Marcus Bennett");
        foreach (var code in new[] { "S13.4XXA", "M54.2", "G44.209" })
        {
            Assert.True(await page.Locator($"input[name='Input.Diagnoses'][value='{code}']").IsCheckedAsync(), code);
        }

        Assert.True(await page.GetByText("Auto insurance, Lakeside Auto Insurance").IsVisibleAsync());
        Assert.Equal(0, await page.GetByText("automobile insurance policy").CountAsync());

        // A typed code shows its own display, not its condition's name.
        await page.GetByLabel("Another diagnosis").FillAsync("C50.912");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add diagnosis" }).ClickAsync();
        var typed = page.Locator("input[name='Input.Diagnoses'][value='C50.912']");
        await typed.WaitForAsync();
        Assert.Equal(1, await page.GetByText("Malignant neoplasm of unspecified site of left female breast").CountAsync());
        await Chromium.ScreenshotAsync(page, "referral-form-car-accident");
        await Chromium.AssertNoSeriousViolationsAsync(page);
        await typed.UncheckAsync();

        await page.GetByLabel("How often").FillAsync("2");
        await page.Locator("#claim-marcus-bennett-coverage").FillAsync("AUTO-2026-113902");
        await page.Locator("input[name='Input.Therapist']").First.CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Review the referral" }).WaitForAsync();
        var summary = await page.Locator("dl.summary").InnerTextAsync();

        Assert.Contains("2 a week", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("per wk", summary, StringComparison.Ordinal);
        Assert.Contains("Auto insurance, Lakeside Auto Insurance", summary, StringComparison.Ordinal);
        Assert.Contains("Sprain of ligaments of cervical spine, initial encounter (ICD-10-CM S13.4XXA)", summary, StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "referral-form-car-accident-review");
        await Chromium.AssertNoSeriousViolationsAsync(page);
    }

    internal static async Task<IBrowserContext> NewContextAsync(Chromium chromium) =>
        await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1100 } });

    /// <summary>Launches the app from the patient's chart in the sandbox EHR, then opens the launched form at the top level (same session) to work on it.</summary>
    internal static async Task<IPage> OpenFormAsync(IBrowserContext context, LocalRun stack, string physician, string patient)
    {
        var ehr = await context.NewPageAsync();
        await ehr.GotoAsync(stack.EhrBase);
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Sign in as " + physician }).ClickAsync();
        await ehr.GetByRole(AriaRole.Link, new() { Name = patient }).ClickAsync();
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Medical massage referral" }).ClickAsync();
        var frame = ehr.Frame("app-frame")!;
        // The form's heading, then its address: a wait for the address alone can miss a navigation that commits while it is set up.
        await frame.GetByRole(AriaRole.Heading, new() { Name = "New medical-massage referral" }).WaitForAsync();
        Assert.True(frame.Url.StartsWith(stack.AppBase + "/context/", StringComparison.Ordinal) && frame.Url.EndsWith("/referral", StringComparison.Ordinal), frame.Url);
        var page = await context.NewPageAsync();
        await page.GotoAsync(frame.Url);
        await page.GetByRole(AriaRole.Heading, new() { Name = "New medical-massage referral" }).WaitForAsync();
        return page;
    }

    internal static async Task<string[]> TickedSitesAsync(IPage page) =>
        await page.Locator("input[name='Input.Sites']:checked").EvaluateAllAsync<string[]>("inputs => inputs.map(i => i.value)");

    private Task<IBrowserContext> NewContextAsync() => NewContextAsync(chromium);
}

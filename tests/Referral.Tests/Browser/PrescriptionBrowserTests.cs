using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Referral.Functions.Referrals;
using Referral.Model.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// Issue 23, items 3 and 5, in Debian's Chromium against the local stack: from the sandbox chart of the workers'
/// compensation patient the physician sends a referral that carries what the EHR holds to reach people, opens the
/// printable prescription from the status page, and the therapist sees the contacts on the referral's page and prints
/// the same prescription. Each page is kept as a screenshot (the prescriptions also as printed, with print media
/// emulated) and scanned with axe.
/// </summary>
public sealed class PrescriptionBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    [Fact]
    public async Task The_sandbox_ehrs_contact_details_reach_the_therapist_and_both_sides_print_the_signed_prescription()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await LocalRun.StartAsync(azurite, ct);

        // 1. The physician sends Dana Whitfield's workers' comp referral as the form suggests it.
        await using var physician = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1100 } });
        var ehr = await physician.NewPageAsync();
        await ehr.GotoAsync(run.EhrBase);
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Sign in as Dr. Amelia Stone, MD" }).ClickAsync();
        await ehr.GetByRole(AriaRole.Link, new() { Name = "Dana Whitfield" }).ClickAsync();
        await ehr.GetByRole(AriaRole.Button, new() { Name = "Medical massage referral" }).ClickAsync();
        var frame = ehr.Frame("app-frame")!;
        await frame.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).ClickAsync();
        await frame.GetByRole(AriaRole.Button, new() { Name = "Sign and send" }).ClickAsync();
        // The status page's content, then its address: a wait for the address alone can miss a navigation that commits while it is set up.
        await frame.Locator("[data-status]").First.WaitForAsync();
        Assert.Contains("/referrals/", frame.Url, StringComparison.Ordinal);
        var referralId = new Uri(frame.Url).Segments[^1];

        // What was sent carries the EHR's contact details, the payer's (read from its Organization) included.
        var stored = await run.Functions.Services.GetRequiredService<ReferralStore>().GetAsync(referralId, ct);
        var (patient, prescriber, payor) = ReferralContacts.Of(stored!.Request);
        Assert.Equal(("1981-04-12", "503-555-0161", "en"), (patient!.BirthDate, patient.Phones.Single().Value, patient.Language!.Code));
        Assert.Equal("1987654328", prescriber!.Npi);
        Assert.Equal("Priya Natarajan", payor!.AdjusterName);

        // 2. The printable prescription from the status page, on screen and as printed.
        await frame.GetByRole(AriaRole.Link, new() { Name = "Printable prescription" }).ClickAsync();
        await frame.GetByRole(AriaRole.Heading, new() { Name = "Prescription for medical massage" }).WaitForAsync();
        var physicianPrint = await physician.NewPageAsync();
        await physicianPrint.GotoAsync(frame.Url);
        await AssertPrescriptionAsync(physicianPrint);
        await Chromium.ScreenshotAsync(physicianPrint, "prescription-physician");
        await Chromium.AssertNoSeriousViolationsAsync(physicianPrint);
        await AssertPrintsBlackOnWhiteWithoutNavigationAsync(physicianPrint, "prescription-physician-print");

        // 3. The therapist (the form's suggestion for workers' comp) sees how to reach everyone, and prints the same prescription.
        await using var therapist = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        var inbox = await therapist.NewPageAsync();
        Assert.Equal("PractitionerRole/therapist-sam-rivera", stored.Request.Performer[0].Reference);
        await InboxPages.SignInAsync(inbox, $"{run.AppBase}/inbox/referrals/{referralId}", "Sam Rivera, LMT");
        var contacts = inbox.Locator("[data-contacts]");
        await contacts.WaitForAsync();
        Assert.Equal("tel:5035550161", await contacts.GetByRole(AriaRole.Link, new() { Name = "503-555-0161" }).GetAttributeAsync("href"));
        Assert.Equal("English", (await contacts.Locator("[data-contact='patient-language']").InnerTextAsync()).Trim());
        Assert.Contains("2415 NE Alberta St", await contacts.Locator("[data-contact='patient-address']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("tel:5035550111", await contacts.GetByRole(AriaRole.Link, new() { Name = "503-555-0111" }).GetAttributeAsync("href"));
        Assert.Equal("1987654328", (await contacts.Locator("[data-contact='physician-npi']").InnerTextAsync()).Trim());
        Assert.Contains("Priya Natarajan", await contacts.Locator("[data-contact='adjuster']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("WC-2026-004817", (await contacts.Locator("[data-contact='claim-number']").InnerTextAsync()).Trim());
        await contacts.ScrollIntoViewIfNeededAsync();
        await Chromium.ScreenshotAsync(inbox, "prescription-therapist-contacts");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);

        await inbox.GetByRole(AriaRole.Link, new() { Name = "Printable prescription" }).ClickAsync();
        await AssertPrescriptionAsync(inbox);
        await Chromium.ScreenshotAsync(inbox, "prescription-therapist");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);
        await AssertPrintsBlackOnWhiteWithoutNavigationAsync(inbox, "prescription-therapist-print");
    }

    private static async Task AssertPrescriptionAsync(IPage page)
    {
        var rx = page.Locator("[data-prescription]");
        await rx.WaitForAsync();
        Assert.Equal("Dana Whitfield", (await rx.Locator("[data-rx='patient']").InnerTextAsync()).Trim());
        Assert.Equal("1981-04-12", (await rx.Locator("[data-rx='birth-date']").InnerTextAsync()).Trim());
        Assert.Contains("ICD-10-CM G56.01", await rx.Locator("[data-rx='diagnosis']").First.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Right wrist", await rx.Locator("[data-rx='sites']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Evergreen Workers' Compensation Insurance", await rx.Locator("[data-rx='payer']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("WC-2026-004817", (await rx.Locator("[data-rx='claim-number']").InnerTextAsync()).Trim());
        Assert.Equal("1987654328", (await rx.Locator("[data-rx='npi']").InnerTextAsync()).Trim());
        Assert.Equal("503-555-0110", (await rx.Locator("[data-rx='prescriber-phone']").InnerTextAsync()).Trim());
        Assert.True(await rx.Locator(".signature-line").IsVisibleAsync());
    }

    /// <summary>With print media emulated: no header, navigation or back link; black text on white; no wider than an A4 page's printable width.</summary>
    private static async Task AssertPrintsBlackOnWhiteWithoutNavigationAsync(IPage page, string screenshot)
    {
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { Media = Media.Print });
        try
        {
            Assert.False(await page.Locator(".app-header").IsVisibleAsync());
            Assert.Equal(0, await page.Locator("nav:visible").CountAsync());
            Assert.False(await page.GetByRole(AriaRole.Link, new() { Name = "Back to the referral" }).IsVisibleAsync());
            var colours = await page.Locator("[data-prescription]").EvaluateAsync<string[]>(
                "e => [getComputedStyle(e).color, getComputedStyle(document.body).backgroundColor, getComputedStyle(e.querySelector('h1')).color]");
            Assert.Equal(["rgb(0, 0, 0)", "rgb(255, 255, 255)", "rgb(0, 0, 0)"], colours);
            // A4's printable width at the stylesheet's margins (178 mm at 96 dpi); Letter's is wider.
            await page.SetViewportSizeAsync(670, 1000);
            var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > document.documentElement.clientWidth");
            Assert.False(overflow, "The prescription is wider than a printed page.");
            await Chromium.ScreenshotAsync(page, screenshot);
        }
        finally
        {
            await page.EmulateMediaAsync(new PageEmulateMediaOptions { Media = Media.Screen });
        }
    }
}

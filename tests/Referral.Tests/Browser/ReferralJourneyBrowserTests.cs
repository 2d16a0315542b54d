using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// The physician's journey in Debian's Chromium against the local stack on real loopback ports: the sandbox EHR,
/// the functions app (Azurite) and the smart-app. From the sandbox chart of the patient with carpal tunnel, the app
/// launches in the EHR's iframe (its session cookie must work there), the physician sends the referral with the
/// suggested diagnosis, body sites and the preselected therapist, and the status page shows it as sent. The clicks and
/// keystrokes from the launched form to "sent" are counted (at most 2); each page is screenshot and scanned with axe.
/// </summary>
public sealed class ReferralJourneyBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    /// <summary>Review, then Sign and send (issue 22): everything else, the therapist included, is already chosen.</summary>
    private const int MaxActionsForTheCommonCase = 2;

    [Fact]
    public async Task From_the_sandbox_chart_a_carpal_tunnel_referral_is_sent_in_at_most_two_actions_and_shows_as_sent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        var (ehrBase, appBase, functions) = (stack.EhrBase, stack.AppBase, stack.Functions);

        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1100 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(ehrBase);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in as Dr. Amelia Stone, MD" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Dana Whitfield" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Medical massage referral" }).ClickAsync();

        // Launched in the EHR's frame: discovery, authorize, callback and the form all inside the iframe.
        var frame = page.Frame("app-frame")!;
        // The form's heading, then its address: a wait for the address alone can miss a navigation that commits while it is set up.
        await frame.GetByRole(AriaRole.Heading, new() { Name = "New medical-massage referral" }).WaitForAsync();
        Assert.True(frame.Url.StartsWith(appBase + "/context/", StringComparison.Ordinal) && frame.Url.EndsWith("/referral", StringComparison.Ordinal), frame.Url);
        await Chromium.ScreenshotAsync(page, "referral-journey-1-launched-in-ehr");
        await Chromium.ScreenshotAndScanAsync(context, frame.Url, "referral-journey-form");

        // The common case: diagnosis, body sites, claim number already there; the physician picks a therapist, reviews, sends.
        Assert.True(await frame.Locator("input[name='Input.Diagnoses'][value='G56.01']").IsCheckedAsync());
        Assert.True(await frame.Locator("#site-Wrist-Right").IsCheckedAsync());
        Assert.True(await frame.Locator("#site-Hand-Right").IsCheckedAsync());
        Assert.Equal("WC-2026-004817", await frame.Locator("#claim-dana-whitfield-coverage").InputValueAsync());

        // The only therapist who takes new referrals and bills workers' comp is chosen; the others say why they cannot be.
        Assert.True(await frame.GetByRole(AriaRole.Radio, new() { Name = "Sam Rivera, LMT" }).IsCheckedAsync());
        Assert.True(await frame.GetByRole(AriaRole.Radio, new() { Name = "Kai Nakamura, LMT" }).IsDisabledAsync());
        Assert.Contains("Not taking new referrals", await frame.Locator("[data-therapist='therapist-kai-nakamura'] [data-reason]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.True(await frame.GetByRole(AriaRole.Radio, new() { Name = "Olivia Hart, LMT, CLT" }).IsDisabledAsync());
        Assert.Contains("Does not bill", await frame.Locator("[data-therapist='therapist-olivia-hart'] [data-reason]").InnerTextAsync(), StringComparison.Ordinal);

        var actions = 0;
        await frame.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).ClickAsync();
        actions++;
        await frame.GetByRole(AriaRole.Heading, new() { Name = "Review the referral" }).WaitForAsync();
        await Chromium.ScreenshotAsync(page, "referral-journey-2-review");
        await Chromium.ScreenshotAndScanAsync(context, frame.Url, "referral-journey-review");
        await frame.GetByRole(AriaRole.Button, new() { Name = "Sign and send" }).ClickAsync();
        actions++;

        // The status page's content, then its address: a wait for the address alone can miss a navigation that commits while it is set up.
        var status = frame.Locator("[data-status]").First;
        await status.WaitForAsync();
        Assert.Contains("/referrals/", frame.Url, StringComparison.Ordinal);
        Assert.Equal("sent", await status.GetAttributeAsync("data-status"));
        Assert.True(actions <= MaxActionsForTheCommonCase, $"{actions} clicks and keystrokes from the launched form to sent");
        await Chromium.ScreenshotAsync(page, "referral-journey-3-sent");
        var referralId = new Uri(frame.Url).Segments[^1];
        await Chromium.ScreenshotAndScanAsync(context, frame.Url.Split('?')[0], "referral-journey-status");
        await Chromium.ScreenshotAndScanAsync(context, frame.Url.Split("/referrals/")[0] + "/referrals", "referral-journey-list");

        var stored = await functions.Services.GetRequiredService<ReferralStore>()
            .FindAsync(ReferralLookup.Patient, ehrBase + "/fhir", "Patient/dana-whitfield", ct);
        var referral = Assert.Single(stored, r => r.Id == referralId);
        Assert.Equal(ehrBase + "/fhir/Practitioner/dr-amelia-stone", referral.Request.Requester?.Reference);
        Assert.Equal("PractitionerRole/therapist-sam-rivera", referral.Request.Performer[0].Reference);
        TestContext.Current.SendDiagnosticMessage($"Common case: {actions} actions from the launched form to sent.");
    }
}

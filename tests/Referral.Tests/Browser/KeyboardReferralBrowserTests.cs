using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Browser;

/// <summary>
/// A keyboard-only referral in Debian's Chromium, from the launched form to sent, every keystroke counted (issue 22:
/// at most 80; 146 before the skip link and the focused error summary). Tab moves on, the skip link passes the
/// body-site table, Space chooses the best-matching therapist, Enter presses the buttons.
/// </summary>
public sealed class KeyboardReferralBrowserTests(AzuriteFixture azurite, Chromium chromium) : IClassFixture<Chromium>
{
    private const int MaxKeystrokes = 80;

    [Fact]
    public async Task A_keyboard_only_referral_from_the_launched_form_to_sent_takes_at_most_80_keystrokes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await LocalRun.StartAsync(azurite, ct);
        await using var context = await ReferralFormBrowserTests.NewContextAsync(chromium);
        var page = await ReferralFormBrowserTests.OpenFormAsync(context, stack, "Dr. Amelia Stone, MD", "Dana Whitfield");
        var keys = new KeyCounter(page);

        // Tab to the skip link and take it: the 41 checkboxes of the body-site table are passed in one keystroke.
        await keys.TabUntilAsync("e => e.classList.contains('skip-link')");
        await keys.PressAsync("Enter");
        Assert.Equal("sessions-section", await page.EvaluateAsync<string>("() => document.activeElement.id"));

        // The therapist: Tab into the group lands on the best match (or the one already chosen); Space chooses it. Not
        // arrows to a named one: tests sharing this Azurite add therapists, which would make the count depend on them.
        await keys.TabUntilAsync("e => e.name === 'Input.Therapist'");
        if (!await page.EvaluateAsync<bool>("() => document.activeElement.checked"))
        {
            await keys.PressAsync("Space");
        }

        var chosen = await page.Locator("input[name='Input.Therapist']:checked").GetAttributeAsync("value");
        Assert.False(string.IsNullOrEmpty(chosen));
        await Chromium.ScreenshotAsync(page, "keyboard-referral-1-therapist");

        await keys.TabUntilAsync("e => e.textContent.trim() === 'Review referral'");
        await keys.PressAsync("Enter");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Review the referral" }).WaitForAsync();
        await Chromium.ScreenshotAsync(page, "keyboard-referral-2-review");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        await keys.TabUntilAsync("e => e.textContent.trim() === 'Sign and send'");
        await keys.PressAsync("Enter");
        var status = page.Locator("[data-status]").First;
        await status.WaitForAsync();
        Assert.Equal("sent", await status.GetAttributeAsync("data-status"));
        var referralId = new Uri(page.Url).Segments[^1];
        var stored = await stack.Functions.Services.GetRequiredService<ReferralStore>().GetAsync(referralId, ct);
        Assert.Equal("PractitionerRole/" + chosen, stored!.Request.Performer[0].Reference);
        await Chromium.ScreenshotAsync(page, "keyboard-referral-3-sent");
        await Chromium.AssertNoSeriousViolationsAsync(page);

        TestContext.Current.SendDiagnosticMessage($"Keyboard-only referral: {keys.Count} keystrokes from the launched form to sent.");
        Assert.True(keys.Count <= MaxKeystrokes, $"{keys.Count} keystrokes from the launched form to sent");
    }

    /// <summary>Presses keys on the page and counts every one; gives up (failing) well past the limit.</summary>
    private sealed class KeyCounter(IPage page)
    {
        public int Count { get; private set; }

        public async Task PressAsync(string key)
        {
            await page.Keyboard.PressAsync(key);
            Count++;
        }

        public Task TabUntilAsync(string predicate) => PressUntilAsync("Tab", predicate);

        /// <summary>Presses <paramref name="key"/> until the focused element satisfies <paramref name="predicate"/> (a JavaScript function of it).</summary>
        public async Task PressUntilAsync(string key, string predicate)
        {
            while (!await page.EvaluateAsync<bool>($"() => {{ const e = document.activeElement; return !!e && ({predicate})(e); }}"))
            {
                Assert.True(Count < MaxKeystrokes * 3, $"gave up after {Count} keystrokes looking for {predicate}");
                await PressAsync(key);
            }
        }
    }
}

using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>
/// The antiforgery cookie is SameSite=None and Secure through CookieOptions.Secure, so ASP.NET Core no longer logs
/// "SameSite=None must also set Secure" for it, and the form still posts.
/// </summary>
public sealed class AntiforgeryCookieTests(AzuriteFixture azurite)
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_antiforgery_cookie_is_secure_and_samesite_none_without_the_framework_warning_and_the_form_posts()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var started = await harness.StartAsync();
        var logs = new RecordingLoggerProvider();
        await using var app = harness.App.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(logs)));
        using var browser = app.CreateClient(new WebApplicationFactoryClientOptions
        {
            BaseAddress = new Uri(SmartAppHarness.AppBase),
            AllowAutoRedirect = false,
            HandleCookies = true,
        });

        var steps = await harness.LaunchAsync(browser);
        using var form = await browser.GetAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        var html = await form.Content.ReadAsStringAsync(Ct);
        var cookie = Assert.Single(form.Headers.GetValues("Set-Cookie"), c => c.StartsWith("mmr-antiforgery=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=none", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("partitioned", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        // Secure once, not twice (no raw attribute next to the real one).
        Assert.Single(cookie.Split(';'), p => p.Trim().Equals("secure", StringComparison.OrdinalIgnoreCase));

        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, review.StatusCode);

        Assert.NotEmpty(logs.Messages);
        Assert.DoesNotContain(logs.Messages, m => m.Contains("SameSite=None", StringComparison.OrdinalIgnoreCase));
    }
}

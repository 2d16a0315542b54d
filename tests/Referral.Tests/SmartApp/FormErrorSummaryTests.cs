using System.Net;
using System.Text.RegularExpressions;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>The referral form validates everything at once: every error in the summary at the top, each linked to its field.</summary>
public sealed class FormErrorSummaryTests(AzuriteFixture azurite)
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_review_with_many_faults_lists_every_one_in_the_summary_linked_to_its_field_in_one_round_trip()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        using var response = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.SuggestionsApplied", "G56.01"), ("Input.DiagnosisSearch", "no such illness"), ("Input.Sessions", "0"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "lots"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "")), Ct);
        var page = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var summary = Regex.Match(page, "(?s)<div class=\"error-summary\"[^>]*>.*?</div>").Value;
        Assert.Contains("tabindex=\"-1\"", summary, StringComparison.Ordinal);
        Assert.Contains("data-focus-on-load", summary, StringComparison.Ordinal);
        var links = Regex.Matches(summary, "href=\"#([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        foreach (var field in new[] { "field-DiagnosisSearch", "field-Diagnoses", "field-Sites", "field-Sessions", "field-Minutes", "field-ClaimNumbers", "field-Therapist" })
        {
            Assert.Contains(field, links);
        }

        // Every link leads to an element of the page.
        Assert.All(links, id => Assert.Contains($"id=\"{id}\"", page, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_body_site_table_has_a_skip_link_to_what_follows_it()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);

        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        var skip = Regex.Match(html, "<a [^>]*class=\"skip-link\"[^>]*href=\"#([^\"]+)\"");
        Assert.True(skip.Success, "no skip link");
        Assert.True(html.IndexOf(skip.Value, StringComparison.Ordinal) < html.IndexOf("id=\"site-Head\"", StringComparison.Ordinal));
        Assert.True(html.IndexOf($"id=\"{skip.Groups[1].Value}\"", StringComparison.Ordinal) > html.IndexOf("id=\"site-Foot-Left\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_send_the_api_refuses_shows_the_review_summary_focused_with_a_link_to_the_field_on_the_form()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera"), ("Input.Note", "<b>Night</b> numbness")), Ct);
        var summaryPage = await browser.GetStringAsync(review.Headers.Location!, Ct);

        // The review already shows the API's refusal and offers no send (ReviewValidationTests): a send posted anyway.
        Assert.DoesNotContain("Sign and send", summaryPage, StringComparison.Ordinal);
        using var refused = await browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(html), Ct);
        var page = await refused.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        var summary = Regex.Match(page, "(?s)<div class=\"error-summary\"[^>]*>.*?</div>").Value;
        Assert.Contains("data-focus-on-load", summary, StringComparison.Ordinal);
        Assert.Contains($"href=\"{steps.FormPath}#field-Note\"", summary, StringComparison.Ordinal);
    }
}

using System.Net;
using Referral.Model.Fhir;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Inbox;

/// <summary>
/// The session form on the real functions app: a session is recorded and shows on the referral's page; what the
/// referral's rules refuse comes back in the API's words, next to its field, with what was typed kept.
/// </summary>
public sealed class RecordSessionPageTests(InboxFixture fixture) : IClassFixture<InboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private InboxApps Apps => fixture.Stack;

    [Fact]
    public async Task The_form_offers_only_the_prescribed_body_sites_and_the_techniques_of_the_model()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Kira", "Holt");

        var html = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}/sessions/new", UriKind.Relative), Ct);

        Assert.Contains("value=\"Wrist:Right\" id=\"site-Wrist-Right\"", html, StringComparison.Ordinal);
        Assert.Contains("value=\"Hand:Right\" id=\"site-Hand-Right\"", html, StringComparison.Ordinal);
        Assert.Equal(2, html.Split("name=\"Input.Sites\"").Length - 1);
        Assert.Contains(">Myofascial release</label>", html, StringComparison.Ordinal);
        Assert.Contains(">Save session</button>", html, StringComparison.Ordinal);
        browser.Dispose();
    }

    [Fact]
    public async Task A_recorded_session_counts_on_the_referral_page_with_its_pain_in_the_chart()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Lou", "Baker");

        using var response = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-3)));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var page = await browser.GetStringAsync(response.Headers.Location, Ct);
        Assert.Contains("The session was recorded: 1 of 6 sessions used.", page, StringComparison.Ordinal);
        Assert.Contains("session 1: 6 before, 3 after", page, StringComparison.Ordinal);
        Assert.Contains("Session 1 of 6", page, StringComparison.Ordinal);
        browser.Dispose();
    }

    [Fact]
    public async Task A_session_past_the_prescribed_count_is_refused_with_the_apis_reason_and_the_typed_form_is_kept()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Mina", "Shah", sessions: 1);
        using var first = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-5)));
        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);

        using var second = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-2), subjective: "Still tingling at night."));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
        var html = await second.Content.ReadAsStringAsync(Ct);
        Assert.Contains("The session was not recorded", html, StringComparison.Ordinal);
        Assert.Contains("All 1 prescribed sessions are already recorded.", html, StringComparison.Ordinal);
        Assert.Contains(">Still tingling at night.</textarea>", html, StringComparison.Ordinal);
        browser.Dispose();
    }

    [Fact]
    public async Task A_body_site_that_was_not_prescribed_is_refused_next_to_the_body_sites()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Noel", "Pike");
        var session = InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-2), site: "Neck");

        using var response = await InboxApps.PostSessionAsync(browser, id, session);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<p class=\"field-error\" id=\"problem-Sites\">Neck is not among the prescribed body sites (Right wrist joint, Right hand).</p>", html, StringComparison.Ordinal);
        Assert.Contains("Neck (not prescribed)", html, StringComparison.Ordinal);
        browser.Dispose();
    }

    [Fact]
    public async Task A_session_outside_the_prescriptions_validity_is_refused_next_to_its_date()
    {
        // A referral cannot be sent already expired; one valid from the day after tomorrow is refused the same way.
        var (browser, id) = await Apps.AcceptedReferralAsync("Olga", "Reed", validFrom: PracticeTime.DateIn(Apps.Time.GetUtcNow(), InboxApps.PracticeZone).AddDays(2));

        using var response = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-1)));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Matches("<p class=\"field-error\" id=\"problem-Date\">The session on [0-9-]+ \\(America/Los_Angeles\\) is before the prescription becomes valid", html);
        browser.Dispose();
    }

    [Fact]
    public async Task A_form_without_pain_scores_is_refused_before_anything_is_sent()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Pia", "Lowe");
        var session = InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-2));
        session.RemoveAll(f => f.Name == "Input.PainAfter");

        using var response = await InboxApps.PostSessionAsync(browser, id, session);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("Enter the pain after the session, from 0 (none) to 10 (worst).", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        browser.Dispose();
    }

    [Fact]
    public async Task A_form_with_several_faults_lists_each_in_the_summary_linked_to_its_field_and_moves_the_focus_there()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Ines", "Marsh");
        var session = InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-2));
        session.RemoveAll(f => f.Name is "Input.PainAfter" or "Input.Sites" or "Input.Techniques" or "Input.Minutes");

        using var response = await InboxApps.PostSessionAsync(browser, id, session);
        var html = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var summary = System.Text.RegularExpressions.Regex.Match(html, "(?s)<div class=\"error-summary\"[^>]*>.*?</div>").Value;
        Assert.Contains("tabindex=\"-1\"", summary, StringComparison.Ordinal);
        Assert.Contains("data-focus-on-load", summary, StringComparison.Ordinal);
        Assert.Contains("<a href=\"#session-minutes\">Enter how many minutes the session lasted.</a>", summary, StringComparison.Ordinal);
        Assert.Contains("<a href=\"#field-Sites\">Name the body sites treated.</a>", summary, StringComparison.Ordinal);
        Assert.Contains("<a href=\"#field-Techniques\">Name at least one technique used.</a>", summary, StringComparison.Ordinal);
        Assert.Contains("<a href=\"#pain-after\">Enter the pain after the session, from 0 (none) to 10 (worst).</a>", summary, StringComparison.Ordinal);
        foreach (var anchor in new[] { "session-minutes", "field-Sites", "field-Techniques", "pain-after" })
        {
            Assert.Contains($"id=\"{anchor}\"", html, StringComparison.Ordinal);
        }

        browser.Dispose();
    }
}

using System.Globalization;
using System.Net;
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
        var (browser, id) = await AcceptedReferralAsync("Kira", "Holt");

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
        var (browser, id) = await AcceptedReferralAsync("Lou", "Baker");

        using var response = await PostSessionAsync(browser, id, Session(DateTimeOffset.UtcNow.AddHours(-3)));

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
        var (browser, id) = await AcceptedReferralAsync("Mina", "Shah", sessions: 1);
        using var first = await PostSessionAsync(browser, id, Session(DateTimeOffset.UtcNow.AddHours(-5)));
        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);

        using var second = await PostSessionAsync(browser, id, Session(DateTimeOffset.UtcNow.AddHours(-2), subjective: "Still tingling at night."));

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
        var (browser, id) = await AcceptedReferralAsync("Noel", "Pike");
        var session = Session(DateTimeOffset.UtcNow.AddHours(-2), site: "Neck");

        using var response = await PostSessionAsync(browser, id, session);

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
        var (browser, id) = await AcceptedReferralAsync("Olga", "Reed", validFrom: DateOnly.FromDateTime(DateTime.UtcNow).AddDays(2));

        using var response = await PostSessionAsync(browser, id, Session(DateTimeOffset.UtcNow.AddHours(-1)));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Matches("<p class=\"field-error\" id=\"problem-Date\">The session on [0-9-]+ is before the prescription becomes valid", html);
        browser.Dispose();
    }

    [Fact]
    public async Task A_form_without_pain_scores_is_refused_before_anything_is_sent()
    {
        var (browser, id) = await AcceptedReferralAsync("Pia", "Lowe");
        var session = Session(DateTimeOffset.UtcNow.AddHours(-2));
        session.RemoveAll(f => f.Name == "Input.PainAfter");

        using var response = await PostSessionAsync(browser, id, session);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("Enter the pain after the session, from 0 (none) to 10 (worst).", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        browser.Dispose();
    }

    /// <summary>A therapist of this test, signed in, with a referral they accepted on its page.</summary>
    private async Task<(HttpClient Browser, string Id)> AcceptedReferralAsync(string given, string family, int sessions = 6, DateOnly? validFrom = null, DateOnly? validUntil = null)
    {
        var therapist = await Apps.AddTherapistAsync(given, family);
        var id = await Apps.SendReferralAsync(therapist, d => d with
        {
            Sessions = sessions,
            ValidFrom = validFrom ?? d.ValidFrom,
            ValidUntil = validUntil ?? d.ValidUntil,
        });
        var browser = Apps.Browser();
        await Apps.SignInAsync(browser, therapist);
        var html = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);
        using var accepted = await browser.PostAsync(new Uri($"/inbox/referrals/{id}?handler=Accept", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = SmartAppHarness.AntiforgeryToken(html),
        }), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, accepted.StatusCode);
        return (browser, id);
    }

    private static List<(string Name, string Value)> Session(DateTimeOffset start, string site = "Wrist:Right", string? subjective = null) =>
    [
        ("Input.Date", start.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        ("Input.Time", start.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture)),
        ("Input.Minutes", "45"),
        ("Input.Sites", site),
        ("Input.Techniques", "myofascial-release"),
        ("Input.PainBefore", "6"),
        ("Input.PainAfter", "3"),
        ("Input.Joint", "Wrist:Right"),
        ("Input.Movement", "rom-extension"),
        ("Input.Degrees", "55"),
        ("Input.Subjective", subjective ?? "Numbness at night."),
        ("Input.Plan", "Same next week."),
    ];

    private static async Task<HttpResponseMessage> PostSessionAsync(HttpClient browser, string id, List<(string Name, string Value)> fields)
    {
        var path = $"/inbox/referrals/{id}/sessions/new";
        var html = await browser.GetStringAsync(new Uri(path, UriKind.Relative), Ct);
        var form = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        form.Add(new("__RequestVerificationToken", SmartAppHarness.AntiforgeryToken(html)));
        return await browser.PostAsync(new Uri(path, UriKind.Relative), new FormUrlEncodedContent(form), Ct);
    }
}

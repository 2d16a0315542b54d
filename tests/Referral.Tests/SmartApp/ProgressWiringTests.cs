using System.Net;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;
using Referral.Tests.Referrals;
using static Referral.Tests.SmartApp.ReferralFormTests;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.SmartApp;

/// <summary>
/// The physician's status page on the real progress endpoints: a referral sent from the form, accepted and treated
/// twice through the functions API, reads "in progress, 2 of 6" with two points on the chart and the Observations.
/// Both apps run on the harness's one clock: the referral is sent at its now, then the clock moves on four hours and
/// the sessions are recorded an hour and three hours after the sending.
/// </summary>
public sealed class ProgressWiringTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_status_page_shows_sessions_recorded_through_the_functions_api_as_progress_a_chart_and_a_table()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendAndAcceptAsync(harness, browser, ehr);
        await RecordSessionsAsync(harness, id);

        var detail = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);

        Assert.Contains("In progress: 2 of 6 sessions", detail, StringComparison.Ordinal);
        Assert.Equal(2, detail.Split("<circle class=\"before\"").Length - 1);
        Assert.Contains("session 1: 7 before, 5 after", detail, StringComparison.Ordinal);
        Assert.Contains("session 2: 5 before, 2 after", detail, StringComparison.Ordinal);
        // Each session: pain before and after, wrist extension, QuickDASH; one row each, besides the header.
        var table = detail[detail.IndexOf("<table class=\"observations\">", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("</table>", StringComparison.Ordinal)];
        Assert.Equal(1 + 8, table.Split("<tr>").Length - 1);
        Assert.DoesNotContain("data-renewal", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("data-discharge", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_status_page_shows_the_therapists_renewal_request_as_a_notice_and_the_discharge_summary_once_completed()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendAndAcceptAsync(harness, browser, ehr);
        await RecordSessionsAsync(harness, id);
        var requested = harness.Time.GetUtcNow();
        using var therapist = Therapist(harness);

        using (var renewal = await CourseCloseAndRenewalTests.PostAsync(therapist, id, "request-renewal",
                   CourseCloseAndRenewalTests.Renewal("Grip still weak & night pain 3 weeks ago.", 4)))
        {
            Assert.Equal(HttpStatusCode.OK, renewal.StatusCode);
        }

        var renewed = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);
        using (var completed = await CourseCloseAndRenewalTests.PostAsync(therapist, id, "complete",
                   CourseCloseAndRenewalTests.Discharge("Pain 7 to 2 over two sessions.", "Home stretches; see the physician if numbness returns.")))
        {
            Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        }

        var closed = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);

        var notice = Section(renewed, "data-renewal");
        Assert.Contains("The therapist asks you to renew this prescription", notice, StringComparison.Ordinal);
        // The reason is the therapist's free text: encoded on the page.
        Assert.Contains("Grip still weak &amp; night pain 3 weeks ago.", notice, StringComparison.Ordinal);
        Assert.Contains("4 more", notice, StringComparison.Ordinal);
        // When the therapist asked: the clock's now then, as both apps read it.
        Assert.Contains(requested.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), notice, StringComparison.Ordinal);
        Assert.Contains("Renewal requested by the therapist", renewed, StringComparison.Ordinal);
        Assert.DoesNotContain("data-discharge", renewed, StringComparison.Ordinal);
        var discharge = Section(closed, "data-discharge");
        Assert.Contains("Pain 7 to 2 over two sessions.", discharge, StringComparison.Ordinal);
        Assert.Contains("Home stretches; see the physician if numbness returns.", discharge, StringComparison.Ordinal);
        Assert.Contains("data-status=\"completed\"", closed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_status_page_shows_why_the_therapist_declined()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendFromTheFormAsync(harness, browser, ehr);
        using var therapist = Therapist(harness);

        using (var declined = await CourseCloseAndRenewalTests.PostAsync(therapist, id, "decline", ReferralScenario.Reason("No openings until March.")))
        {
            Assert.Equal(HttpStatusCode.OK, declined.StatusCode);
        }

        var detail = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);

        Assert.Contains("data-status=\"declined\"", detail, StringComparison.Ordinal);
        Assert.Contains("No openings until March.", detail, StringComparison.Ordinal);
    }

    /// <summary>The section of the page that carries <paramref name="marker"/>, up to its end.</summary>
    private static string Section(string html, string marker)
    {
        var start = html.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, $"The page has no {marker} section.");
        return html[start..html.IndexOf("</section>", start, StringComparison.Ordinal)];
    }

    /// <summary>Sends a referral from the physician's form (carpal tunnel, 6 sessions, to Sam Rivera); its status page and id.</summary>
    internal static async Task<(string DetailPath, string Id)> SendFromTheFormAsync(SmartAppHarness harness, HttpClient browser, FakeEhr ehr)
    {
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sites", "Hand:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        var summary = await browser.GetStringAsync(review.Headers.Location!, Ct);
        using var sent = await browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), Form(summary), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);

        var store = harness.Functions.Services.GetRequiredService<ReferralStore>();
        var id = Assert.Single(await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct)).Id;
        return (sent.Headers.Location!.ToString(), id);
    }

    /// <summary>The therapist Sam Rivera on the functions API, with a token minted at the harness's clock's now.</summary>
    private HttpClient Therapist(SmartAppHarness harness) =>
        harness.Functions.ClientWith(identity.Therapist("therapist-sam-rivera", at: harness.Time.GetUtcNow()));

    private async Task<(string DetailPath, string Id)> SendAndAcceptAsync(SmartAppHarness harness, HttpClient browser, FakeEhr ehr)
    {
        var (detailPath, id) = await SendFromTheFormAsync(harness, browser, ehr);
        using var therapist = Therapist(harness);
        using var accepted = await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{id}/$accept"), null, Ct);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        return (detailPath, id);
    }

    /// <summary>
    /// Four hours after the referral was sent (the clock moved on), two sessions recorded: one an hour after the sending,
    /// pain 7 then 5, one three hours after it, 5 then 2; both after the referral was written and over by now.
    /// </summary>
    private async Task RecordSessionsAsync(SmartAppHarness harness, string id)
    {
        var sent = harness.Time.GetUtcNow();
        harness.Time.Advance(TimeSpan.FromHours(4));
        using var therapist = Therapist(harness);
        foreach (var (hoursAfterSending, before, after) in new[] { (1, 7, 5), (3, 5, 2) })
        {
            using var session = await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{id}/$record-session"),
                ReferralScenario.Body(ReferralScenario.Session(sent.AddHours(hoursAfterSending), painBefore: before, painAfter: after)), Ct);
            Assert.True(session.IsSuccessStatusCode, await session.Content.ReadAsStringAsync(Ct));
        }
    }
}

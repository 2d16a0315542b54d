using System.Net;
using System.Globalization;
using Hl7.Fhir.Model;
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
    public async Task The_status_page_shows_each_session_in_words_in_the_practices_zone_with_the_change_since_the_first_and_the_SOAP_note()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, ChicagoPractice, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendAndAcceptAsync(harness, browser, ehr);
        var sent = harness.Time.GetUtcNow();
        await RecordSessionsAsync(harness, id);

        var detail = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);

        Assert.Contains("In progress: 2 of 6 sessions", detail, StringComparison.Ordinal);
        Assert.Equal(2, detail.Split("<circle class=\"before\"").Length - 1);
        Assert.Contains("session 1: 7 before, 5 after", detail, StringComparison.Ordinal);
        Assert.Contains("session 2: 5 before, 2 after", detail, StringComparison.Ordinal);
        var chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
        var first = Session(detail, 1);
        var second = Session(detail, 2);
        // The practice's wall clock, the zone named; never an ISO timestamp or a UCUM unit.
        Assert.Contains(TimeZoneInfo.ConvertTime(sent.AddHours(1), chicago).ToString("ddd d MMM yyyy, HH:mm", CultureInfo.InvariantCulture) + " (America/Chicago)", first, StringComparison.Ordinal);
        Assert.Contains(TimeZoneInfo.ConvertTime(sent.AddHours(3), chicago).ToString("ddd d MMM yyyy, HH:mm", CultureInfo.InvariantCulture) + " (America/Chicago)", second, StringComparison.Ordinal);
        Assert.Contains("45 minutes", first, StringComparison.Ordinal);
        Assert.Contains("Right wrist joint", first, StringComparison.Ordinal);
        Assert.Contains("Myofascial release", first, StringComparison.Ordinal);
        Assert.Contains("7 before, 5 after", first, StringComparison.Ordinal);
        Assert.Contains("Right wrist joint extension", first, StringComparison.Ordinal);
        Assert.Contains("55 degrees", first, StringComparison.Ordinal);
        Assert.Contains("40.9", first, StringComparison.Ordinal);
        Assert.DoesNotContain("since session", first, StringComparison.Ordinal);
        Assert.Contains("70 degrees", second, StringComparison.Ordinal);
        Assert.Contains("up 15 degrees since session 1", second, StringComparison.Ordinal);
        Assert.Contains("31.4", second, StringComparison.Ordinal);
        Assert.Contains("down 9.5 since session 1", second, StringComparison.Ordinal);
        Assert.Contains("Tingling eased.", first, StringComparison.Ordinal);
        Assert.Contains("Grip stronger today.", second, StringComparison.Ordinal);
        foreach (var session in new[] { first, second })
        {
            // What a reader sees (the text, not the machine-readable datetime attribute).
            var text = System.Text.RegularExpressions.Regex.Replace(session, "<[^>]+>", " ");
            Assert.DoesNotMatch(@"\d{4}-\d{2}-\d{2}T\d{2}:", text);
            Assert.DoesNotContain("{score}", text, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"\d score", text);
        }

        Assert.DoesNotContain("data-renewal", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("data-discharge", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_physician_downloads_the_progress_report_and_the_payer_s_copy_from_the_status_page()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, ChicagoPractice, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendAndAcceptAsync(harness, browser, ehr);
        await RecordSessionsAsync(harness, id);
        var page = detailPath.Split('?')[0];

        var detail = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);
        using var chart = await browser.GetAsync(Handler(detailPath, "Report"), Ct);
        using var payer = await browser.GetAsync(new Uri(page + "?handler=Report&copy=payer", UriKind.Relative), Ct);

        Assert.Contains($"href=\"{page}?handler=Report&amp;copy=payer\"", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, chart.StatusCode);
        Assert.Equal("application/pdf", chart.Content.Headers.ContentType?.MediaType);
        var chartText = Reports.ReportApiTests.PdfText(await chart.Content.ReadAsByteArrayAsync(Ct));
        var payerText = Reports.ReportApiTests.PdfText(await payer.Content.ReadAsByteArrayAsync(Ct));
        Assert.Contains("ICD-10-CM G56.01", chartText, StringComparison.Ordinal);
        Assert.Contains("Pain 7/10 before, 5/10 after", chartText, StringComparison.Ordinal);
        Assert.Contains("Pain 5/10 before, 2/10 after", chartText, StringComparison.Ordinal);
        // The seeded therapist's directory entry: licence and an NPI that passes the check.
        Assert.Contains("licence LMT-044156, NPI 1245789056", chartText, StringComparison.Ordinal);
        Assert.Contains("up 15 degrees since session 1", chartText, StringComparison.Ordinal);
        Assert.DoesNotContain("CPT", chartText, StringComparison.Ordinal);
        Assert.Contains("Claim number: WC-2026-004817", payerText, StringComparison.Ordinal);
        Assert.Equal(2, payerText.Split("CPT 97124 x 3 units").Length - 1);
    }

    [Fact]
    public async Task Right_after_sending_the_status_page_has_no_chart_and_says_no_session_is_recorded_yet()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, _) = await SendFromTheFormAsync(harness, browser, ehr);

        var detail = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);

        Assert.DoesNotContain("pain-chart", detail, StringComparison.Ordinal);
        Assert.Contains("data-no-sessions", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("data-session=", detail, StringComparison.Ordinal);
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
        // When the therapist asked: the clock's now then, as both apps read it, in the practice's zone (the development
        // settings' America/Los_Angeles) as the sessions are, the zone named.
        var practice = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
        Assert.Contains(TimeZoneInfo.ConvertTime(requested, practice).ToString("ddd d MMM yyyy, HH:mm", CultureInfo.InvariantCulture) + " (America/Los_Angeles)", notice, StringComparison.Ordinal);
        Assert.Contains("Renewal requested by the therapist", renewed, StringComparison.Ordinal);
        Assert.DoesNotContain("data-discharge", renewed, StringComparison.Ordinal);
        var discharge = Section(closed, "data-discharge");
        Assert.Contains("Pain 7 to 2 over two sessions.", discharge, StringComparison.Ordinal);
        Assert.Contains("Home stretches; see the physician if numbness returns.", discharge, StringComparison.Ordinal);
        Assert.Contains("data-status=\"completed\"", closed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_physician_approves_a_renewal_on_the_status_page_with_the_request_prefilled_and_the_box_goes_away()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendAndAcceptAsync(harness, browser, ehr);
        await RecordSessionsAsync(harness, id);
        using var therapist = Therapist(harness);
        using (var renewal = await CourseCloseAndRenewalTests.PostAsync(therapist, id, "request-renewal", CourseCloseAndRenewalTests.Renewal("Grip still weak.", 4)))
        {
            Assert.Equal(HttpStatusCode.OK, renewal.StatusCode);
        }

        var asked = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);
        var box = Section(asked, "data-renewal");
        // Prefilled from the request: the 4 sessions asked for; the validity is a date the form can send back.
        Assert.Contains("id=\"approve-sessions\" name=\"sessions\" min=\"1\" max=\"52\" required value=\"4\"", box, StringComparison.Ordinal);
        var until = System.Text.RegularExpressions.Regex.Match(box, "name=\"validUntil\" required value=\"(\\d{4}-\\d{2}-\\d{2})\"").Groups[1].Value;
        Assert.NotEmpty(until);
        Assert.DoesNotContain("write one", asked, StringComparison.Ordinal);

        // The physician edits the prefilled sessions (3, not 4) and approves.
        using var refused = await browser.PostAsync(Handler(detailPath, "ApproveRenewal"),
            Form(asked, ("sessions", "0"), ("validUntil", until)), Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("field-error", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        using var approved = await browser.PostAsync(Handler(detailPath, "ApproveRenewal"),
            Form(asked, ("sessions", "3"), ("validUntil", until)), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, approved.StatusCode);
        var answered = await browser.GetStringAsync(approved.Headers.Location!, Ct);

        Assert.DoesNotContain("data-renewal>", answered, StringComparison.Ordinal);
        Assert.Contains($"You approved 3 more sessions; the prescription is valid until {until}.", answered, StringComparison.Ordinal);
        Assert.Contains("2 done, 7 remaining of 9", answered, StringComparison.Ordinal);
        Assert.Contains($"Renewal approved by the physician: 3 more sessions, valid until {until}", answered, StringComparison.Ordinal);
        var request = (await harness.Functions.Services.GetRequiredService<ReferralStore>().GetAsync(id, Ct))!.Request;
        Assert.Equal(9, Assert.IsType<Timing>(request.Occurrence).Repeat!.Count);
        Assert.Empty(FhirSpec.Errors(request));
    }

    [Fact]
    public async Task A_declined_renewal_leaves_the_box_and_a_completed_course_shows_no_remaining_sessions()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendAndAcceptAsync(harness, browser, ehr);
        await RecordSessionsAsync(harness, id);
        using var therapist = Therapist(harness);
        (await CourseCloseAndRenewalTests.PostAsync(therapist, id, "request-renewal", CourseCloseAndRenewalTests.Renewal("Grip still weak.", 4))).EnsureSuccessStatusCode();
        var asked = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);

        using var blank = await browser.PostAsync(Handler(detailPath, "DeclineRenewal"), Form(asked, ("reason", " ")), Ct);
        using var declined = await browser.PostAsync(Handler(detailPath, "DeclineRenewal"), Form(asked, ("reason", "Come back to me first.")), Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, blank.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, declined.StatusCode);
        var answered = await browser.GetStringAsync(declined.Headers.Location!, Ct);
        Assert.DoesNotContain("data-renewal>", answered, StringComparison.Ordinal);
        Assert.Contains("Renewal declined by the physician: Come back to me first.", answered, StringComparison.Ordinal);
        Assert.Contains("2 done, 4 remaining of 6", answered, StringComparison.Ordinal);

        // Asked again, then the course completes before an answer: no box, and no "remaining" once it is over.
        (await CourseCloseAndRenewalTests.PostAsync(therapist, id, "request-renewal", CourseCloseAndRenewalTests.Renewal("Asking once more.", 2))).EnsureSuccessStatusCode();
        Assert.Contains("data-renewal>", await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct), StringComparison.Ordinal);
        (await CourseCloseAndRenewalTests.PostAsync(therapist, id, "complete", CourseCloseAndRenewalTests.Discharge("Better.", null))).EnsureSuccessStatusCode();
        var closed = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);
        Assert.DoesNotContain("data-renewal>", closed, StringComparison.Ordinal);
        Assert.Contains("2 done of 6 prescribed", closed, StringComparison.Ordinal);
        Assert.DoesNotContain("remaining", closed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_physician_reads_the_therapists_question_on_the_status_page_and_answers_it_there()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, therapists: identity);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendFromTheFormAsync(harness, browser, ehr);
        using var therapist = Therapist(harness);
        using (var asked = await CourseCloseAndRenewalTests.PostAsync(therapist, id, "message", MessageTests.Text("Splint on during sessions? & more")))
        {
            Assert.Equal(HttpStatusCode.Created, asked.StatusCode);
        }

        var page = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);
        var section = Section(page, "data-messages");
        Assert.Contains("Sam Rivera", section, StringComparison.Ordinal);
        Assert.Contains("Splint on during sessions? &amp; more", section, StringComparison.Ordinal);

        using var blank = await browser.PostAsync(Handler(detailPath, "Message"), Form(page, ("text", " ")), Ct);
        using var sent = await browser.PostAsync(Handler(detailPath, "Message"), Form(page, ("text", "Off during sessions, on at night.")), Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, blank.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        var answered = Section(await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct), "data-messages");
        Assert.True(answered.IndexOf("Splint on during sessions?", StringComparison.Ordinal) < answered.IndexOf("Off during sessions, on at night.", StringComparison.Ordinal));
        Assert.Contains("<strong>You</strong>", answered, StringComparison.Ordinal);
        var stored = await therapist.GetAsync(ReferralScenario.Url($"/api/fhir/Communication?part-of=Task/{id}"), Ct);
        Assert.Equal(2, (await ReferralScenario.ReadAsync<Bundle>(stored)).Entry.Count);
    }

    [Fact]
    public async Task The_timeline_shows_on_hold_with_its_reason_and_its_times_in_the_practices_zone_where_the_UTC_date_is_already_the_next_day()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, ChicagoPractice, therapists: identity);
        // 21:30 in Chicago is 02:30 or 03:30 UTC of the next day.
        var (sentAt, localDate) = PracticeZoneFormTests.LocalTimeAhead("America/Chicago", 21, 30);
        harness.Time.SetUtcNow(sentAt);
        using var browser = await harness.StartAsync();
        var (detailPath, id) = await SendFromTheFormAsync(harness, browser, ehr);
        harness.Time.Advance(TimeSpan.FromMinutes(10));
        var heldAt = harness.Time.GetUtcNow();
        using (var therapist = Therapist(harness))
        {
            (await CourseCloseAndRenewalTests.PostAsync(therapist, id, "hold", ReferralScenario.Reason("Asked whether the splint stays on."))).EnsureSuccessStatusCode();
        }

        var detail = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);

        var chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
        string Local(DateTimeOffset instant) => TimeZoneInfo.ConvertTime(instant, chicago).ToString("ddd d MMM yyyy, HH:mm", CultureInfo.InvariantCulture) + " (America/Chicago)";
        var utcDate = DateOnly.FromDateTime(heldAt.UtcDateTime);
        Assert.NotEqual(localDate, utcDate);
        Assert.Contains("data-status=\"on-hold\"", detail, StringComparison.Ordinal);
        var lead = detail[detail.IndexOf("<p class=\"lead\">", StringComparison.Ordinal)..];
        Assert.Contains("On hold</span>: Asked whether the splint stays on.", lead[..lead.IndexOf("</p>", StringComparison.Ordinal)], StringComparison.Ordinal);
        var timeline = Section(detail, "id=\"timeline-title\"");
        Assert.Contains($"{Local(sentAt)}</time> Sent to the therapist", timeline, StringComparison.Ordinal);
        Assert.Contains($"{Local(heldAt)}</time> Put on hold by the therapist: Asked whether the splint stays on.", timeline, StringComparison.Ordinal);
        Assert.Contains(localDate.ToString("d MMM yyyy", CultureInfo.InvariantCulture), timeline, StringComparison.Ordinal);
        // What a reader sees holds no UTC date or time.
        var text = System.Text.RegularExpressions.Regex.Replace(timeline, "<[^>]+>", " ");
        Assert.DoesNotContain(utcDate.ToString("d MMM yyyy", CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        Assert.DoesNotContain(utcDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
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

    private static readonly Dictionary<string, string?> ChicagoPractice = new() { ["Ehrs:0:TimeZone"] = "America/Chicago" };

    /// <summary>The status page's address with a form handler, without the query it was reached with ("?sent=true").</summary>
    private static Uri Handler(string detailPath, string handler) => new(detailPath.Split('?')[0] + "?handler=" + handler, UriKind.Relative);

    /// <summary>The session's item of the progress section.</summary>
    private static string Session(string html, int number)
    {
        var start = html.IndexOf($"data-session=\"{number}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"The page shows no session {number}.");
        return html[start..html.IndexOf("</li>", start, StringComparison.Ordinal)];
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
    /// pain 7 then 5, one three hours after it, 5 then 2, wrist extension 55 then 70 degrees, QuickDASH 40.9 then 31.4;
    /// both after the referral was written and over by now.
    /// </summary>
    private async Task RecordSessionsAsync(SmartAppHarness harness, string id)
    {
        var sent = harness.Time.GetUtcNow();
        harness.Time.Advance(TimeSpan.FromHours(4));
        using var therapist = Therapist(harness);
        foreach (var (hoursAfterSending, before, after) in new[] { (1, 7, 5), (3, 5, 2) })
        {
            var body = ReferralScenario.Session(sent.AddHours(hoursAfterSending), painBefore: before, painAfter: after);
            if (hoursAfterSending == 3)
            {
                body.Parameter.Single(p => p.Name == "rangeOfMotion").Part.Single(p => p.Name == "degrees").Value = new FhirDecimal(70);
                body.Parameter.Single(p => p.Name == "functionalScore").Part.Single(p => p.Name == "score").Value = new FhirDecimal(31.4m);
                body.Parameter.Single(p => p.Name == "note").Value = new FhirString("Grip stronger today.");
            }

            using var session = await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{id}/$record-session"),
                ReferralScenario.Body(body), Ct);
            Assert.True(session.IsSuccessStatusCode, await session.Content.ReadAsStringAsync(Ct));
        }
    }
}

using System.Net;
using System.Text.RegularExpressions;
using Referral.Tests.Infrastructure;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Inbox;

/// <summary>
/// The inbox's pages through a browser-like client, signed in at the sandbox EHR, on the real functions app: the list
/// of the therapist's own referrals with counts, a referral's page, accept and decline with their refusals.
/// </summary>
public sealed partial class InboxPagesTests(InboxFixture fixture) : IClassFixture<InboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private InboxApps Apps => fixture.Stack;

    [Fact]
    public async Task The_inbox_lists_only_the_therapists_own_referrals_newest_first_with_the_counts_of_each_list()
    {
        var therapist = await Apps.AddTherapistAsync("Maya", "Olsen");
        var other = await Apps.AddTherapistAsync("Theo", "Brandt");
        var first = await Apps.SendReferralAsync(therapist);
        // The stack's clock stands still unless moved: the second referral a minute later, so newest-first is defined.
        Apps.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await Apps.SendReferralAsync(therapist);
        var others = await Apps.SendReferralAsync(other);
        using var browser = await SignedInAsync(therapist);

        var html = await browser.GetStringAsync(new Uri("/inbox", UriKind.Relative), Ct);

        Assert.Equal([second, first], ReferralRows().Matches(html).Select(m => m.Groups[1].Value));
        Assert.DoesNotContain(others, html, StringComparison.Ordinal);
        Assert.Matches(@"data-list=""new"">New <span class=""count"">\(2\)</span>", html);
        Assert.Matches(@"data-list=""active"">Active <span class=""count"">\(0\)</span>", html);
        Assert.Matches(@"data-list=""closed"">Closed <span class=""count"">\(0\)</span>", html);
        Assert.Contains("New<span class=\"visually-hidden\"> referral</span>", html, StringComparison.Ordinal);
        Assert.Contains("Carpal tunnel", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Right wrist joint", html, StringComparison.Ordinal);
        Assert.Contains("0 of 6", html, StringComparison.Ordinal);
        Assert.Contains("Dr. Rivera", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_inbox_asks_the_API_once_for_its_counts_and_its_page_a_second_time_only_to_show_the_active_list_when_nothing_is_new_and_a_referral_page_once()
    {
        var therapist = await Apps.AddTherapistAsync("Ines", "Duarte");
        var accepted = await Apps.SendReferralAsync(therapist);
        using var browser = await SignedInAsync(therapist);

        // Something new: the three counts and the new list's page, in one batch.
        var before = Apps.Api.Calls.Count;
        var html = await browser.GetStringAsync(new Uri("/inbox", UriKind.Relative), Ct);
        Assert.Equal(["POST /api/fhir"], Apps.Api.Calls.Skip(before));
        Assert.Equal([accepted], ReferralRows().Matches(html).Select(m => m.Groups[1].Value));
        Assert.Matches(@"data-list=""new"">New <span class=""count"">\(1\)</span>", html);

        using (var accept = await PostAsync(browser, $"/inbox/referrals/{accepted}", "Accept"))
        {
            Assert.Equal(HttpStatusCode.SeeOther, accept.StatusCode);
        }

        // The referral's page: its ServiceRequest, Task, sessions and messages in one search.
        before = Apps.Api.Calls.Count;
        await browser.GetStringAsync(new Uri($"/inbox/referrals/{accepted}", UriKind.Relative), Ct);
        Assert.Equal(["GET /api/fhir/ServiceRequest"], Apps.Api.Calls.Skip(before).Select(c => c.Split('?')[0]));

        // Nothing new, one under treatment: the counts and the new list's page in one batch, then the active list's page.
        before = Apps.Api.Calls.Count;
        html = await browser.GetStringAsync(new Uri("/inbox", UriKind.Relative), Ct);
        Assert.Equal(["POST /api/fhir", "GET /api/fhir/Task"], Apps.Api.Calls.Skip(before).Select(c => c.Split('?')[0]));
        Assert.Equal([accepted], ReferralRows().Matches(html).Select(m => m.Groups[1].Value));
        Assert.Matches(@"data-list=""new"">New <span class=""count"">\(0\)</span>", html);
        Assert.Matches(@"data-list=""active"">Active <span class=""count"">\(1\)</span>", html);

        // A list asked for by name, the closed one here: one call, its page and the three counts.
        before = Apps.Api.Calls.Count;
        html = await browser.GetStringAsync(new Uri("/inbox?list=closed", UriKind.Relative), Ct);
        Assert.Equal(["POST /api/fhir"], Apps.Api.Calls.Skip(before));
        Assert.Empty(ReferralRows().Matches(html));
        Assert.Matches(@"data-list=""active"">Active <span class=""count"">\(1\)</span>", html);
        Assert.Matches(@"data-list=""closed"">Closed <span class=""count"">\(0\)</span>", html);
    }

    [Fact]
    public async Task A_referral_page_shows_everything_the_physician_sent_and_the_training_it_needs()
    {
        var therapist = await Apps.AddTherapistAsync("Rosa", "Lind");
        var id = await Apps.SendReferralAsync(therapist);
        using var browser = await SignedInAsync(therapist);

        var html = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);

        Assert.Contains("ICD-10-CM G56.01", html, StringComparison.Ordinal);
        Assert.Contains("6 sessions of 60 minutes, 1 per week", html, StringComparison.Ordinal);
        Assert.Contains("Claim number WC-77", html, StringComparison.Ordinal);
        Assert.Contains("Night-time numbness.", html, StringComparison.Ordinal);
        Assert.Contains("No special training", html, StringComparison.Ordinal);
        Assert.Contains("data-site=\"Wrist:Right\"", html, StringComparison.Ordinal);
        Assert.Contains("class=\"area selected\" data-site=\"Hand:Right\"", html, StringComparison.Ordinal);
        Assert.Contains(">Accept</button>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_therapists_referral_opened_by_its_address_is_a_not_found_page()
    {
        var therapist = await Apps.AddTherapistAsync("Nora", "Keane");
        var other = await Apps.AddTherapistAsync("Paul", "Vance");
        var theirs = await Apps.SendReferralAsync(other);
        using var browser = await SignedInAsync(therapist);

        using var response = await browser.GetAsync(new Uri($"/inbox/referrals/{theirs}", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<h1>Referral not found</h1>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Alex Doe", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decline_without_a_reason_is_refused_with_the_reason_shown_and_the_referral_stays_new()
    {
        var therapist = await Apps.AddTherapistAsync("Ada", "Frey");
        var id = await Apps.SendReferralAsync(therapist);
        using var browser = await SignedInAsync(therapist);

        using var response = await PostAsync(browser, $"/inbox/referrals/{id}", "Decline", ("reason", "  "));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("Say why you decline the referral: the physician sees the reason.", html, StringComparison.Ordinal);
        Assert.Contains("aria-invalid=\"true\"", html, StringComparison.Ordinal);
        Assert.Equal(FhirTask.TaskStatus.Requested, (await TaskAsPhysicianAsync(id)).Status);
    }

    [Fact]
    public async Task Put_on_hold_needs_a_reason_keeps_the_referral_with_the_new_ones_and_Resume_takes_it_off_hold()
    {
        var therapist = await Apps.AddTherapistAsync("Noor", "Akhtar");
        var id = await Apps.SendReferralAsync(therapist);
        using var browser = await SignedInAsync(therapist);

        using var noReason = await PostAsync(browser, $"/inbox/referrals/{id}", "Hold", ("reason", "  "));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, noReason.StatusCode);
        var refused = await noReason.Content.ReadAsStringAsync(Ct);
        Assert.Contains("Say what you are waiting for: the physician sees it.", refused, StringComparison.Ordinal);
        Assert.Equal(FhirTask.TaskStatus.Requested, (await TaskAsPhysicianAsync(id)).Status);

        using var held = await PostAsync(browser, $"/inbox/referrals/{id}", "Hold", ("reason", "Asked the physician about the dose & timing."));
        Assert.Equal(HttpStatusCode.SeeOther, held.StatusCode);
        Assert.Equal($"/inbox/referrals/{id}?done=held", held.Headers.Location!.ToString());
        var task = await TaskAsPhysicianAsync(id);
        Assert.Equal((FhirTask.TaskStatus.OnHold, "Asked the physician about the dose & timing."), (task.Status, task.StatusReason?.Text));
        var page = await browser.GetStringAsync(held.Headers.Location, Ct);
        Assert.Contains("The referral is on hold.", page, StringComparison.Ordinal);
        Assert.Contains("data-status=\"on-hold\"", page, StringComparison.Ordinal);
        // The therapist's words are encoded on the page.
        Assert.Contains("Put on hold by the therapist: Asked the physician about the dose &amp; timing.", page, StringComparison.Ordinal);
        Assert.Contains(">Resume</button>", page, StringComparison.Ordinal);
        Assert.Contains(">Accept</button>", page, StringComparison.Ordinal);
        Assert.DoesNotContain(">Put on hold</button>", page, StringComparison.Ordinal);
        var inbox = await browser.GetStringAsync(new Uri("/inbox?list=new", UriKind.Relative), Ct);
        Assert.Contains($"data-referral=\"{id}\"", inbox, StringComparison.Ordinal);

        using var resumed = await PostAsync(browser, $"/inbox/referrals/{id}", "Resume", page, ("etag", "W/\"2\""));
        Assert.Equal(HttpStatusCode.SeeOther, resumed.StatusCode);
        Assert.Equal(FhirTask.TaskStatus.Requested, (await TaskAsPhysicianAsync(id)).Status);
        var after = await browser.GetStringAsync(resumed.Headers.Location, Ct);
        Assert.Contains("The referral is no longer on hold.", after, StringComparison.Ordinal);
        Assert.Contains(">Put on hold</button>", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accept_moves_the_referral_to_accepted_and_offers_to_record_a_session()
    {
        var therapist = await Apps.AddTherapistAsync("Omar", "Haddad");
        var id = await Apps.SendReferralAsync(therapist);
        using var browser = await SignedInAsync(therapist);

        using var response = await PostAsync(browser, $"/inbox/referrals/{id}", "Accept");

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal($"/inbox/referrals/{id}?done=accepted", response.Headers.Location!.ToString());
        Assert.Equal(FhirTask.TaskStatus.Accepted, (await TaskAsPhysicianAsync(id)).Status);
        var page = await browser.GetStringAsync(response.Headers.Location, Ct);
        Assert.Contains("You accepted the referral.", page, StringComparison.Ordinal);
        Assert.Contains(">Record session</a>", page, StringComparison.Ordinal);
        Assert.DoesNotContain(">Accept</button>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decline_with_a_reason_reaches_the_physician()
    {
        var therapist = await Apps.AddTherapistAsync("Ivo", "Marsh");
        var id = await Apps.SendReferralAsync(therapist);
        using var browser = await SignedInAsync(therapist);

        using var response = await PostAsync(browser, $"/inbox/referrals/{id}", "Decline", ("reason", "No openings until next month."));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var task = await TaskAsPhysicianAsync(id);
        Assert.Equal(FhirTask.TaskStatus.Rejected, task.Status);
        Assert.Equal("No openings until next month.", task.StatusReason?.Text);
    }

    [Fact]
    public async Task Accepting_a_referral_that_changed_since_it_was_opened_says_to_reload_instead_of_failing()
    {
        var therapist = await Apps.AddTherapistAsync("Eva", "Stone");
        var id = await Apps.SendReferralAsync(therapist);
        using var browser = await SignedInAsync(therapist);
        var html = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);

        // The physician cancels meanwhile; the page still carries the ETag it read.
        using var cancelled = await Apps.Functions.ClientWith(Apps.Identity.Physician(PhysicianOf(id), PatientOf(id), at: Apps.Time.GetUtcNow()))
            .PostAsync(new Uri($"/api/fhir/Task/{id}/$cancel", UriKind.Relative), ReferralScenario.Body(ReferralScenario.Reason("Patient moved away.")), Ct);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        using var response = await PostAsync(browser, $"/inbox/referrals/{id}", "Accept", html, ("etag", ETag(html)));

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("This referral changed since you opened it", page, StringComparison.Ordinal);
        Assert.Contains("Reload the referral", page, StringComparison.Ordinal);
    }

    private async Task<HttpClient> SignedInAsync(InboxApps.Therapist therapist)
    {
        var browser = Apps.Browser();
        await Apps.SignInAsync(browser, therapist);
        return browser;
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient browser, string path, string handler, params (string Name, string Value)[] fields) =>
        PostAsync(browser, path, handler, null, fields);

    /// <summary>Posts a form of the page at <paramref name="path"/> (its antiforgery token from <paramref name="html"/> or a fresh GET) to a handler.</summary>
    private static async Task<HttpResponseMessage> PostAsync(HttpClient browser, string path, string handler, string? html, params (string Name, string Value)[] fields)
    {
        html ??= await browser.GetStringAsync(new Uri(path, UriKind.Relative), Ct);
        var form = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        form.Add(new("__RequestVerificationToken", SmartAppHarness.AntiforgeryToken(html)));
        return await browser.PostAsync(new Uri($"{path}?handler={handler}", UriKind.Relative), new FormUrlEncodedContent(form), Ct);
    }

    private async Task<FhirTask> TaskAsPhysicianAsync(string id)
    {
        using var client = Apps.Functions.ClientWith(Apps.Identity.Physician(PhysicianOf(id), PatientOf(id), at: Apps.Time.GetUtcNow()));
        using var response = await client.GetAsync(new Uri($"/api/fhir/Task/{id}", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReferralScenario.ReadAsync<FhirTask>(response);
    }

    private string PhysicianOf(string id) => Apps.Physicians[id].Physician;

    private string PatientOf(string id) => Apps.Physicians[id].Patient;

    private static string ETag(string html) => WebUtility.HtmlDecode(ETagField().Match(html).Groups[1].Value);

    [GeneratedRegex("data-referral=\"([^\"]+)\"")]
    private static partial Regex ReferralRows();

    [GeneratedRegex("name=\"etag\" value=\"([^\"]+)\"")]
    private static partial Regex ETagField();
}

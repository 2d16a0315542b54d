using System.Net;
using Referral.Model.Tasks;
using Referral.Tests.Infrastructure;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Tests.Inbox;

/// <summary>The end of a course from the referral's page: the discharge summary and the renewal request, each reaching the physician.</summary>
public sealed class CourseEndPageTests(InboxFixture fixture) : IClassFixture<InboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private InboxApps Apps => fixture.Stack;

    [Fact]
    public async Task Completing_a_course_with_sessions_needs_an_outcome_and_the_discharge_summary_reaches_the_physician()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Quinn", "Ames");
        using var session = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-3)));
        Assert.Equal(HttpStatusCode.SeeOther, session.StatusCode);

        using var refused = await PostAsync(browser, id, "Complete", ("outcome", " "), ("recommendations", "Stretch daily."));
        var refusedHtml = await refused.Content.ReadAsStringAsync(Ct);
        using var completed = await PostAsync(browser, id, "Complete", ("outcome", "Numbness gone; grip normal."), ("recommendations", "Stretch daily."));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("Describe the outcome of the course", refusedHtml, StringComparison.Ordinal);
        Assert.Contains(">Stretch daily.</textarea>", refusedHtml, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.SeeOther, completed.StatusCode);
        var task = await TaskAsPhysicianAsync(id);
        Assert.Equal(FhirTask.TaskStatus.Completed, task.Status);
        Assert.Equal(new DischargeSummary("Numbness gone; grip normal.", "Stretch daily."), ReferralTasks.DischargeSummaryOf(task));
        var page = await browser.GetStringAsync(completed.Headers.Location, Ct);
        Assert.Contains("Discharge summary", page, StringComparison.Ordinal);
        Assert.DoesNotContain(">Record session</a>", page, StringComparison.Ordinal);
        browser.Dispose();
    }

    [Fact]
    public async Task A_renewal_request_needs_a_reason_and_reaches_the_physician_with_the_sessions_asked_for()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Ruth", "Benn");

        using var refused = await PostAsync(browser, id, "Renewal", ("reason", ""), ("sessions", "4"));
        using var asked = await PostAsync(browser, id, "Renewal", ("reason", "Grip still weak after six sessions."), ("sessions", "4"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("Say why the patient needs more sessions", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.SeeOther, asked.StatusCode);
        var renewal = ReferralTasks.RenewalRequestOf(await TaskAsPhysicianAsync(id));
        Assert.NotNull(renewal);
        Assert.Equal("Grip still weak after six sessions.", renewal.Reason);
        Assert.Equal(4, renewal.AdditionalSessions);
        browser.Dispose();
    }

    [Fact]
    public async Task Once_all_prescribed_sessions_are_used_the_renewal_is_highlighted()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Sara", "Quist", sessions: 1);
        var before = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);
        using var session = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-3)));

        var after = await browser.GetStringAsync(session.Headers.Location, Ct);

        Assert.Contains(">Ask for a renewal</button>", before, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"renewal-due\"", before, StringComparison.Ordinal);
        Assert.Contains("id=\"renewal-due\"", after, StringComparison.Ordinal);
        Assert.Contains("All prescribed sessions are used.", after, StringComparison.Ordinal);
        browser.Dispose();
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient browser, string id, string handler, params (string Name, string Value)[] fields)
    {
        var path = $"/inbox/referrals/{id}";
        var html = await browser.GetStringAsync(new Uri(path, UriKind.Relative), Ct);
        var form = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        form.Add(new("__RequestVerificationToken", SmartAppHarness.AntiforgeryToken(html)));
        return await browser.PostAsync(new Uri($"{path}?handler={handler}", UriKind.Relative), new FormUrlEncodedContent(form), Ct);
    }

    private async Task<FhirTask> TaskAsPhysicianAsync(string id)
    {
        var (physician, patient) = Apps.Physicians[id];
        using var client = Apps.Functions.ClientWith(Apps.Identity.Physician(physician, patient, at: Apps.Time.GetUtcNow()));
        using var response = await client.GetAsync(new Uri($"/api/fhir/Task/{id}", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReferralScenario.ReadAsync<FhirTask>(response);
    }
}

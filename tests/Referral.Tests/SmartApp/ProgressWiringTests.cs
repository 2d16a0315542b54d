using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;
using static Referral.Tests.SmartApp.ReferralFormTests;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.SmartApp;

/// <summary>
/// The physician's status page on the real progress endpoints: a referral sent from the form, accepted and treated
/// twice through the functions API, reads "in progress, 2 of 6" with two points on the chart and the Observations.
/// </summary>
public sealed class ProgressWiringTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_status_page_shows_sessions_recorded_through_the_functions_api_as_progress_a_chart_and_a_table()
    {
        // The functions app's clock stands at noon today, so sessions this morning are past and inside the validity.
        var noon = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero);
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, therapists: identity, functionsTime: new FakeTimeProvider(noon));
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sites", "Hand:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        var summary = await browser.GetStringAsync(review.Headers.Location!, Ct);
        using var sent = await browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), Form(summary), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        var detailPath = sent.Headers.Location!.ToString();

        var store = harness.Functions.Services.GetRequiredService<ReferralStore>();
        var id = Assert.Single(await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct)).Id;
        using var therapist = harness.Functions.ClientWith(identity.Therapist("therapist-sam-rivera"));
        using var accepted = await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{id}/$accept"), null, Ct);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        foreach (var (hoursBeforeNoon, before, after) in new[] { (3, 7, 5), (1, 5, 2) })
        {
            using var session = await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{id}/$record-session"),
                ReferralScenario.Body(ReferralScenario.Session(noon.AddHours(-hoursBeforeNoon), painBefore: before, painAfter: after)), Ct);
            Assert.True(session.IsSuccessStatusCode, await session.Content.ReadAsStringAsync(Ct));
        }

        var detail = await browser.GetStringAsync(new Uri(detailPath, UriKind.Relative), Ct);

        Assert.Contains("In progress: 2 of 6 sessions", detail, StringComparison.Ordinal);
        Assert.Equal(2, detail.Split("<circle class=\"before\"").Length - 1);
        Assert.Contains("session 1: 7 before, 5 after", detail, StringComparison.Ordinal);
        Assert.Contains("session 2: 5 before, 2 after", detail, StringComparison.Ordinal);
        // Each session: pain before and after, wrist extension, QuickDASH; one row each, besides the header.
        var table = detail[detail.IndexOf("<table class=\"observations\">", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("</table>", StringComparison.Ordinal)];
        Assert.Equal(1 + 8, table.Split("<tr>").Length - 1);
    }
}

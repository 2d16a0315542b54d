using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>
/// A second referral for the same patient and diagnosis while the first is open, against the real functions API (it
/// is asked which of the physician's referrals for the patient are open): Review shows the open one with a link to
/// its status page, and "Sign and send" refuses until the physician ticks "Send it anyway".
/// </summary>
public sealed class DuplicateReferralTests(AzuriteFixture azurite)
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_second_referral_for_an_open_diagnosis_is_shown_with_a_link_and_sent_only_with_the_physicians_confirmation()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var first = await SendAsync(browser, steps.FormPath!, TherapistListTests.Fields("therapist-sam-rivera"));
        Assert.Equal(HttpStatusCode.SeeOther, first.Status);
        var firstId = new Uri("https://x" + first.Location).Segments[^1];

        // The same again, from a new form.
        var (review, summary) = await ReviewAsync(browser, steps.FormPath!, TherapistListTests.Fields("therapist-sam-rivera"));
        Assert.Contains("An open referral already exists", summary, StringComparison.Ordinal);
        Assert.Contains($"href=\"{steps.FormPath}s/{firstId}\"", summary, StringComparison.Ordinal);
        Assert.Contains("to Sam Rivera, LMT, sent ", summary, StringComparison.Ordinal);
        Assert.Contains("form=\"send-form\"", summary, StringComparison.Ordinal);

        using var refused = await browser.PostAsync(new Uri(review + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(summary), Ct);
        var page = await refused.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("Send it anyway: this patient already has an open referral from you for Carpal tunnel syndrome", page, StringComparison.Ordinal);
        Assert.Contains("class=\"field-error\" id=\"confirm-duplicate-error\"", page, StringComparison.Ordinal);
        var store = harness.Functions.Services.GetRequiredService<ReferralStore>();
        Assert.Single(await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct));

        using var confirmed = await browser.PostAsync(new Uri(review + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(summary, ("ConfirmDuplicate", "true")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, confirmed.StatusCode);
        Assert.Contains("?sent=true", confirmed.Headers.Location?.ToString(), StringComparison.Ordinal);
        var both = await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct);
        Assert.Equal(2, both.Count);
    }

    [Fact]
    public async Task A_referral_for_another_diagnosis_is_sent_without_a_question_and_a_retry_of_a_sent_one_is_not_its_own_duplicate()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var first = await SendAsync(browser, steps.FormPath!, TherapistListTests.Fields("therapist-sam-rivera"));
        Assert.Equal(HttpStatusCode.SeeOther, first.Status);

        // "Sign and send" again on the sent form's review: the same referral, no question.
        using var again = await browser.PostAsync(new Uri(first.Review + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(first.Summary), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, again.StatusCode);
        Assert.Equal(first.Location, again.Headers.Location?.ToString().Split('?')[0]);

        var (review, summary) = await ReviewAsync(browser, steps.FormPath!, TherapistListTests.Fields("therapist-sam-rivera", "M54.2", ("Input.Sites", "Neck")));
        Assert.DoesNotContain("An open referral already exists", summary, StringComparison.Ordinal);
        using var sent = await browser.PostAsync(new Uri(review + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(summary), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        var store = harness.Functions.Services.GetRequiredService<ReferralStore>();
        Assert.Equal(2, (await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct)).Count);
    }

    [Fact]
    public async Task A_duplicate_sent_from_another_tab_after_the_review_stops_the_send_until_the_physician_confirms_it()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var (review, summary) = await ReviewAsync(browser, steps.FormPath!, TherapistListTests.Fields("therapist-sam-rivera"));
        Assert.DoesNotContain("An open referral already exists", summary, StringComparison.Ordinal);

        // Meanwhile, a second launch (another tab of the chart) sends the same diagnosis.
        var other = await harness.LaunchAsync(browser);
        Assert.Equal(HttpStatusCode.SeeOther, (await SendAsync(browser, other.FormPath!, TherapistListTests.Fields("therapist-sam-rivera"))).Status);

        // The review said nothing, but the send is decided by the API at the moment of the write: nothing is sent twice.
        using var refused = await browser.PostAsync(new Uri(review + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(summary), Ct);
        var page = await refused.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("Send it anyway: this patient already has an open referral from you for Carpal tunnel syndrome", page, StringComparison.Ordinal);
        Assert.Contains("An open referral already exists", page, StringComparison.Ordinal);
        var store = harness.Functions.Services.GetRequiredService<ReferralStore>();
        Assert.Single(await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct));

        using var confirmed = await browser.PostAsync(new Uri(review + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(page, ("ConfirmDuplicate", "true")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, confirmed.StatusCode);
        Assert.Equal(2, (await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct)).Count);
    }

    private static async Task<(string Review, string Summary)> ReviewAsync(HttpClient browser, string formPath, (string Name, string Value)[] fields)
    {
        var html = await browser.GetStringAsync(new Uri(formPath, UriKind.Relative), Ct);
        using var review = await browser.PostAsync(new Uri(formPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html, fields), Ct);
        Assert.True(review.StatusCode == HttpStatusCode.SeeOther, await review.Content.ReadAsStringAsync(Ct));
        var location = review.Headers.Location!.ToString();
        return (location, await browser.GetStringAsync(new Uri(location, UriKind.Relative), Ct));
    }

    private static async Task<(HttpStatusCode Status, string? Location, string Review, string Summary)> SendAsync(HttpClient browser, string formPath, (string Name, string Value)[] fields)
    {
        var (review, summary) = await ReviewAsync(browser, formPath, fields);
        using var send = await browser.PostAsync(new Uri(review + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(summary), Ct);
        return (send.StatusCode, send.Headers.Location?.ToString().Split('?')[0], review, summary);
    }
}

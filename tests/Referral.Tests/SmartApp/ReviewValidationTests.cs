using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.SmartApp.Referrals;
using Referral.Tests.Infrastructure;
using static Referral.Tests.SmartApp.ReferralFormTests;

namespace Referral.Tests.SmartApp;

/// <summary>
/// The Review page asks the functions API to judge the draft (<c>ServiceRequest/$validate</c>, in the review's one batch) before the physician
/// sends it: a draft the API would refuse shows the API's errors, each with its element, and is not offered for sending.
/// </summary>
public sealed class ReviewValidationTests(AzuriteFixture azurite)
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    private static readonly (string Name, string Value)[] Valid =
    [
        ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sites", "Hand:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
        ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
        ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera"),
    ];

    [Fact]
    public async Task A_draft_the_API_would_refuse_shows_the_APIs_error_with_its_element_and_offers_no_send()
    {
        using var ehr = new FakeEhr();
        var api = new ApiCallLog();
        SmartAppHarness? started = null;
        await using var harness = started = new SmartAppHarness(azurite, ehr,
            functionsHandler: () => api.Recording(started!.Functions.Server.CreateHandler()));
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        // Markup in the note: the form's own checks let it through; the API's rules for free text do not.
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative),
            Form(html, [.. Valid, ("Input.Note", "<b>Night</b> numbness")]), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, review.StatusCode);
        var page = await browser.GetStringAsync(review.Headers.Location!, Ct);

        Assert.Contains("batch: POST ServiceRequest/$validate", api.BatchEntries);
        Assert.Contains("<div class=\"error-summary\" role=\"alert\"", page, StringComparison.Ordinal);
        Assert.Contains("Free text must be plain text: markup (such as &lt;script&gt;) is not accepted.", page, StringComparison.Ordinal);
        Assert.Contains("<code>ServiceRequest.note[0].text</code>", page, StringComparison.Ordinal);
        Assert.Contains($"referral#{NewModel.AnchorOf(nameof(ReferralInput.Note))}", page, StringComparison.Ordinal);
        Assert.DoesNotContain("Sign and send", page, StringComparison.Ordinal);

        // A send posted anyway is refused with the same message, and nothing is stored.
        using var forced = await browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), Form(html), Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, forced.StatusCode);
        var refusal = await forced.Content.ReadAsStringAsync(Ct);
        Assert.Single(refusal.Split("Free text must be plain text").Skip(1));
        var store = harness.Functions.Services.GetRequiredService<ReferralStore>();
        Assert.Empty(await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct));
    }

    [Fact]
    public async Task A_draft_the_API_accepts_is_checked_by_it_and_offered_for_sending_without_errors()
    {
        using var ehr = new FakeEhr();
        var api = new ApiCallLog();
        SmartAppHarness? started = null;
        await using var harness = started = new SmartAppHarness(azurite, ehr,
            functionsHandler: () => api.Recording(started!.Functions.Server.CreateHandler()));
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), Form(html, Valid), Ct);
        var page = await browser.GetStringAsync(review.Headers.Location!, Ct);

        Assert.Single(api.BatchEntries, c => c == "batch: POST ServiceRequest/$validate");
        Assert.DoesNotContain("error-summary", page, StringComparison.Ordinal);
        Assert.DoesNotContain("issue-element", page, StringComparison.Ordinal);
        Assert.Contains("Sign and send", page, StringComparison.Ordinal);
    }
}

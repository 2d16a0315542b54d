using System.Net;
using Referral.Tests.Infrastructure;
using static Referral.Tests.SmartApp.ReferralFormTests;

namespace Referral.Tests.SmartApp;

/// <summary>
/// Issue 13, "one EHR writer" and "refusals the physician never sees": the referral reaches the EHR only through the
/// functions write-back (queued, retried, poisoned), exactly once; its refusal shows on the physician's status page;
/// a 401 from the EHR's FHIR API says the session ended and offers a relaunch; a refused search is said, not hidden.
/// The write-back runs here, so these tests share the background-work collection's own Azurite (its queues).
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class EhrWriterTests(Infrastructure.BackgroundWork.OwnAzurite own)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_referral_sent_twice_from_the_form_reaches_the_EHR_exactly_once_and_only_through_the_functions_write_back()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(own.Azurite, ehr, ehrTakesTheReferral: true);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);

        var detail = await SendAsync(harness, browser, steps, twice: true);
        Assert.Contains("data-ehr-copy=\"pending\"", await browser.GetStringAsync(new Uri(detail, UriKind.Relative), Ct), StringComparison.Ordinal);
        await harness.Functions.Triggers.DrainAsync(Deadline, Ct);
        // Delivered again, as a host may after a lost acknowledgement: the write-back knows the EHR holds it.
        await harness.Functions.Triggers.DrainAsync(Deadline, Ct);

        var copy = Assert.Single(ehr.Creates("ServiceRequest")).RequestMessage!;
        // The backend-services token of the write-back, never the physician's launch token.
        var bearer = copy.Headers!["Authorization"].Single();
        Assert.StartsWith("Bearer backend-", bearer, StringComparison.Ordinal);
        Assert.DoesNotContain(ehr.IssuedAccessTokens, t => bearer.EndsWith(t, StringComparison.Ordinal));
        Assert.DoesNotContain("ServiceRequest", Assert.Single(ehr.TokenRequests, t => t["grant_type"] == "authorization_code").GetValueOrDefault("scope") ?? "", StringComparison.Ordinal);
        Assert.Contains("data-ehr-copy=\"written\"", await browser.GetStringAsync(new Uri(detail, UriKind.Relative), Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_EHR_refusing_the_copy_shows_on_the_status_page_first_as_not_yet_taken_and_after_the_last_try_as_refused()
    {
        using var ehr = new FakeEhr { ServiceRequestCreateStatus = 403 };
        await using var harness = new SmartAppHarness(own.Azurite, ehr, ehrTakesTheReferral: true);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var detail = await SendAsync(harness, browser, steps, twice: false);

        // The submit's notification queues the write; the next poll is its first try.
        await harness.Functions.Triggers.PollQueuesOnceAsync(Ct);
        await harness.Functions.Triggers.PollQueuesOnceAsync(Ct);
        var retrying = await browser.GetStringAsync(new Uri(detail, UriKind.Relative), Ct);
        Assert.True(retrying.Contains("data-ehr-copy=\"retrying\"", StringComparison.Ordinal), retrying);
        Assert.Contains("answered 403", retrying, StringComparison.Ordinal);
        Assert.Contains("data-status=\"sent\"", retrying, StringComparison.Ordinal);

        await harness.Functions.Triggers.DrainAsync(Deadline, Ct);
        var refused = await browser.GetStringAsync(new Uri(detail, UriKind.Relative), Ct);
        Assert.True(refused.Contains("data-ehr-copy=\"failed\"", StringComparison.Ordinal), refused);
        Assert.Contains("The EHR refused the copy of this referral", refused, StringComparison.Ordinal);
        Assert.Equal(5, ehr.Creates("ServiceRequest").Count);
    }

    [Fact]
    public async Task A_401_from_the_EHR_FHIR_API_at_launch_says_the_session_with_the_EHR_ended_and_offers_a_relaunch()
    {
        using var ehr = new FakeEhr();
        ehr.Refuse($"/fhir/Patient/{FakeEhr.PatientId}", 401);
        await using var harness = new SmartAppHarness(own.Azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);

        Assert.Equal(HttpStatusCode.Unauthorized, steps.CallbackStatus);
        Assert.Contains("data-problem=\"EhrSessionEnded\"", steps.CallbackBody, StringComparison.Ordinal);
        Assert.Contains("Your session with Test EHR has ended", steps.CallbackBody, StringComparison.Ordinal);
        Assert.DoesNotContain("could not be reached", steps.CallbackBody, StringComparison.Ordinal);
        Assert.Contains($"href=\"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}\"", WebUtility.HtmlDecode(steps.CallbackBody), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_problem_list_or_coverage_search_is_said_on_the_form_instead_of_an_empty_list()
    {
        using var ehr = new FakeEhr();
        ehr.Refuse("/fhir/Condition", 403);
        ehr.Refuse("/fhir/Coverage", 500);
        await using var harness = new SmartAppHarness(own.Azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);
        Assert.Equal(HttpStatusCode.SeeOther, steps.CallbackStatus);
        var form = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        Assert.Contains("data-unread=\"problem-list\"", form, StringComparison.Ordinal);
        Assert.Contains("problem list could not be read", form, StringComparison.Ordinal);
        Assert.Contains("data-unread=\"coverage\"", form, StringComparison.Ordinal);
        Assert.DoesNotContain("data-unread=\"medications\"", form, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_whose_searches_were_answered_says_nothing_about_unread_lists()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(own.Azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);
        var form = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        Assert.DoesNotContain("data-unread=", form, StringComparison.Ordinal);
    }

    /// <summary>Review and "Sign and send" (twice at once when asked); the status page's address.</summary>
    private static async Task<string> SendAsync(SmartAppHarness harness, HttpClient browser, SmartAppHarness.LaunchSteps steps, bool twice)
    {
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, review.StatusCode);
        var sendPage = await browser.GetStringAsync(review.Headers.Location!, Ct);
        var sends = await Task.WhenAll(Enumerable.Range(0, twice ? 2 : 1).Select(_ =>
            browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), Form(sendPage), Ct)));
        Assert.All(sends, s => Assert.Equal(HttpStatusCode.SeeOther, s.StatusCode));
        var location = Assert.Single(sends.Select(s => s.Headers.Location!.ToString()).Distinct());
        foreach (var send in sends)
        {
            send.Dispose();
        }

        Assert.Empty(harness.Ehr.Creates("ServiceRequest"));
        return location;
    }
}

using System.Net;
using Referral.SmartApp.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>
/// A functions API that does not answer: the smart-app waits <see cref="FunctionsApi.Timeout"/> on its own clock, then
/// says on the page that the referral service is not available, instead of leaving the physician with a spinner. A slow
/// answer on the review costs the physician its own wait only once: the review's two questions go at once.
/// </summary>
public sealed class SlowFunctionsApiTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_status_list_the_API_does_not_answer_in_time_says_the_referral_service_is_not_available()
    {
        using var ehr = new FakeEhr();
        var held = new HeldCalls();
        SmartAppHarness? started = null;
        await using var harness = started = new SmartAppHarness(azurite, ehr,
            functionsHandler: () => new HoldingHandler(held, started!.Functions.Server.CreateHandler()));
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        held.Hold = request => request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath == "/api/fhir/ServiceRequest";

        var listing = browser.GetAsync(new Uri($"/context/{SmartAppHarness.ContextIdOf(steps.FormPath!)}/referrals", UriKind.Relative), Ct);
        // A guard, not a measure: the app asks within moments, and a wrong match must fail the test rather than hang it.
        await held.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        harness.Time.Advance(FunctionsApi.Timeout + TimeSpan.FromSeconds(1));
        using var response = await listing;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("The referral service is not available right now (The referral service did not answer in time.)",
            WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_review_asks_the_API_to_judge_the_draft_and_for_open_referrals_at_once_not_one_after_the_other()
    {
        using var ehr = new FakeEhr();
        var held = new HeldCalls();
        var searched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        SmartAppHarness? started = null;
        await using var harness = started = new SmartAppHarness(azurite, ehr,
            functionsHandler: () => new HoldingHandler(held, started!.Functions.Server.CreateHandler()));
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, review.StatusCode);
        // $validate is answered only once the open-referral search has been asked too: asked in turn, the page would wait forever.
        held.Release = request => request.RequestUri!.AbsolutePath.EndsWith("/$validate", StringComparison.Ordinal)
            ? searched.Task
            : null;
        held.Hold = request =>
        {
            if (request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath == "/api/fhir/ServiceRequest")
            {
                searched.TrySetResult();
            }

            return request.RequestUri!.AbsolutePath.EndsWith("/$validate", StringComparison.Ordinal);
        };

        // A guard, not a measure: without the search the held $validate never answers, and the test must fail rather than hang.
        var page = await browser.GetStringAsync(review.Headers.Location!, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.True(searched.Task.IsCompleted);
        Assert.Contains("Sign and send", page, StringComparison.Ordinal);
    }

    /// <summary>Which calls to the API get no answer until their caller gives up, and whether one has come.</summary>
    private sealed class HeldCalls
    {
        public Func<HttpRequestMessage, bool> Hold { get; set; } = _ => false;

        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>When a held call is answered after all (null: never, until its caller gives up).</summary>
        public Func<HttpRequestMessage, Task?> Release { get; set; } = _ => null;
    }

    private sealed class HoldingHandler(HeldCalls held, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (held.Hold(request))
            {
                held.Asked.TrySetResult();
                await (held.Release(request) ?? Task.Delay(Timeout.Infinite, cancellationToken)).WaitAsync(cancellationToken);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}

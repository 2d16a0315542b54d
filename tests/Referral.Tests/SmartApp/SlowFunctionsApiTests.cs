using System.Net;
using Referral.SmartApp.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>
/// A functions API that does not answer: the smart-app waits <see cref="FunctionsApi.Timeout"/> on its own clock, then
/// says on the page that the referral service is not available, instead of leaving the physician with a spinner. A slow
/// answer on the review costs the physician its own wait only once: the review's two questions go in one call.
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
    public async Task The_review_asks_the_API_both_its_questions_in_one_call_so_an_API_that_does_not_answer_is_waited_for_once()
    {
        using var ehr = new FakeEhr();
        var held = new HeldCalls();
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
        // The open referrals and $validate go as one FHIR batch: holding it holds both.
        held.Hold = request => request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath == "/api/fhir";

        var reviewing = browser.GetAsync(review.Headers.Location!, Ct);
        await held.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        harness.Time.Advance(FunctionsApi.Timeout + TimeSpan.FromSeconds(1));
        // A guard, not a measure: asked one after the other, the second question would wait for a clock nobody moves.
        using var response = await reviewing.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct));
        Assert.Contains("The referral service is not available right now (The referral service did not answer in time.). Nothing was sent", page, StringComparison.Ordinal);
        Assert.Equal(1, held.Count);
    }

    /// <summary>Which calls to the API get no answer until their caller gives up, and whether one has come.</summary>
    private sealed class HeldCalls
    {
        public Func<HttpRequestMessage, bool> Hold { get; set; } = _ => false;

        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>How many calls were held.</summary>
        public int Count => count;

        private int count;

        public void Held()
        {
            Interlocked.Increment(ref count);
            Asked.TrySetResult();
        }
    }

    private sealed class HoldingHandler(HeldCalls held, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (held.Hold(request))
            {
                held.Held();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}

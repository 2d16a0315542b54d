using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Fhir;
using Referral.Functions.Health;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Storage;

/// <summary>
/// Storage goes away in the middle of a run and comes back: an Azurite of this test's own, keeping its data in a folder,
/// stopped by its PID and started again on the same ports and data. The apps are never restarted.
/// </summary>
public sealed class StorageOutageTests(TestIdentity identity) : IClassFixture<TestIdentity>
{
    /// <summary>The issue's bound on an answer while storage is down (an upper bound, not a speed benchmark).</summary>
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task While_storage_is_down_the_API_answers_503_with_Retry_After_and_recovers_without_a_restart_and_retried_submits_store_one_referral_each()
    {
        var azurite = new AzuriteProcess(persistent: true);
        await using var _ = azurite;
        await azurite.StartAsync();
        var storage = new AzuriteFixture(azurite);
        var clock = TestClock.Fake();
        await using var before = new ReferralScenario(storage, identity, time: clock);
        await before.SeedTherapistsAsync();
        using var anonymous = before.App.CreateClient();
        // Ready once Firely's validator is loaded too (it loads in the background from the app's start: ValidatorWarmUpTests).
        await before.App.Services.GetRequiredService<Referral.Functions.Conformance.PackageWarmUp>().Package.WaitAsync(TimeSpan.FromMinutes(3), Ct);
        Assert.Equal(HttpStatusCode.OK, (await ReadinessAsync(anonymous)).Status);

        // Stored before the outage; its answer is taken to be lost, so the physician sends it again during and after it.
        var storedFirst = before.Draft();
        var (first, firstRequest) = await before.SubmitAsync(storedFirst);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        await azurite.StopAsync();

        // Readiness is cached for a few seconds (a probe storm is not a storage storm), then tells the truth.
        Assert.Equal(HttpStatusCode.OK, (await ReadinessAsync(anonymous)).Status);
        clock.Advance(StorageReadiness.CacheFor);
        var down = await ReadinessAsync(anonymous);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Equal(new HealthReport("degraded", new StorageReport("down", "down")), down.Report);
        using (var live = await anonymous.GetAsync(Url(HealthEndpoints.LivePath), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        // An app whose first touch of every table comes during the outage: nothing it tried may stay failed.
        await using var fresh = new ReferralScenario(storage, identity, time: clock);
        using (var freshClient = fresh.App.CreateClient())
        using (var started = await freshClient.GetAsync(Url(HealthEndpoints.LivePath), Ct))
        {
            // Started (and alive) before the clock on its answers runs: the bound is on answering, not on starting an app.
            Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        }

        var sentDuringOutage = fresh.Draft();
        var answers = new List<HttpResponseMessage>
        {
            await TimedAsync(() => before.SubmitAsync(storedFirst)),
            await TimedAsync(() => fresh.SubmitAsync(sentDuringOutage)),
            await TimedAsync(async () => { using var physician = before.AsPhysician(); return await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{firstRequest!.Id}"), Ct); }),
            await TimedAsync(async () => { using var therapist = before.AsTherapist(); return await therapist.GetAsync(Url($"/api/fhir/Task?owner=PractitionerRole/{before.Therapist}&_include=Task:focus"), Ct); }),
        };
        foreach (var answer in answers)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), answer.Headers.RetryAfter?.Delta);
            var issue = Assert.Single((await ReadAsync<OperationOutcome>(answer)).Issue);
            Assert.Equal(OperationOutcome.IssueType.Transient, issue.Code);
            Assert.Equal(FhirErrors.UnavailableText, issue.Diagnostics);
            Assert.Contains("same placer identifier (ServiceRequest.identifier)", issue.Diagnostics, StringComparison.Ordinal);
            answer.Dispose();
        }

        await azurite.RestartAsync();

        // Both apps serve again, unrestarted; readiness says so once its few seconds are up.
        clock.Advance(StorageReadiness.CacheFor);
        Assert.Equal((HttpStatusCode.OK, new HealthReport("ok", new StorageReport("up", "up"))), await ReadinessAsync(anonymous));
        await fresh.SeedTherapistsAsync();
        var (retriedFirst, retriedFirstRequest) = await before.SubmitAsync(storedFirst);
        Assert.Equal(HttpStatusCode.OK, retriedFirst.StatusCode);
        Assert.Equal(firstRequest!.Id, retriedFirstRequest!.Id);
        var (retried, retriedRequest) = await fresh.SubmitAsync(sentDuringOutage);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        var (again, againRequest) = await fresh.SubmitAsync(sentDuringOutage);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(retriedRequest!.Id, againRequest!.Id);

        // Exactly one referral for each placer identifier, for each physician.
        foreach (var (scenario, placer) in new[] { (before, storedFirst.PlacerId), (fresh, sentDuringOutage.PlacerId) })
        {
            using var physician = scenario.AsPhysician();
            var found = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest?patient=Patient/{scenario.Patient}"), Ct));
            Assert.Equal(1, found.Total);
            Assert.Equal(placer, ((ServiceRequest)found.Entry.Single().Resource!).Identifier.Single().Value);
        }
    }

    private static async Task<(HttpStatusCode Status, HealthReport? Report)> ReadinessAsync(HttpClient client)
    {
        using var response = await client.GetAsync(Url("/api/health"), Ct);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<HealthReport>(Ct));
    }

    private static async Task<HttpResponseMessage> TimedAsync(Func<Task<(HttpResponseMessage Response, ServiceRequest? Request)>> send) =>
        await TimedAsync(async () => (await send()).Response);

    private static async Task<HttpResponseMessage> TimedAsync(Func<Task<HttpResponseMessage>> send)
    {
        var started = Stopwatch.GetTimestamp();
        var response = await send();
        var took = Stopwatch.GetElapsedTime(started);
        Assert.True(took < AnswerWithin, $"{response.RequestMessage?.RequestUri} answered {(int)response.StatusCode} after {took.TotalSeconds:F1} s while storage was down.");
        return response;
    }
}

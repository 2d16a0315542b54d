using System.Net;
using Hl7.Fhir.Model;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>The API is rate limited per caller: over the limit, 429 with Retry-After and an OperationOutcome; others go on.</summary>
public sealed class ApiRateLimitTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    [Fact]
    public async Task The_call_over_a_callers_limit_is_429_with_retry_after_and_an_operation_outcome_and_another_caller_is_unaffected()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = new ReferralScenario(azurite, identity, settings: new Dictionary<string, string?>
        {
            ["RateLimits:ApiPermitLimit"] = "3",
            ["RateLimits:ApiQueueLimit"] = "0",
            ["RateLimits:Window"] = "01:00:00",
        });
        using var physician = scenario.AsPhysician();
        var search = Url($"/api/fhir/ServiceRequest?patient={scenario.Patient}");
        for (var i = 0; i < 3; i++)
        {
            using var allowed = await physician.GetAsync(search, ct);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        using var refused = await physician.GetAsync(search, ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = Assert.Single(refused.Headers.GetValues("Retry-After"));
        Assert.True(int.Parse(retryAfter, System.Globalization.CultureInfo.InvariantCulture) > 0, retryAfter);
        var outcome = await ReadAsync<OperationOutcome>(refused);
        Assert.Equal(OperationOutcome.IssueType.Throttled, Assert.Single(outcome.Issue).Code);

        using var other = scenario.App.ClientWith(identity.Physician("physician-other", scenario.Patient, ehr: scenario.Ehr, at: scenario.Time.GetUtcNow()));
        using var otherCall = await other.GetAsync(search, ct);
        Assert.Equal(HttpStatusCode.OK, otherCall.StatusCode);
        using var therapist = scenario.AsTherapist();
        using var therapistCall = await therapist.GetAsync(Url("/api/fhir/Task"), ct);
        Assert.Equal(HttpStatusCode.OK, therapistCall.StatusCode);

        // Health probes are never limited.
        using var anonymous = scenario.App.CreateClient();
        using var health = await anonymous.GetAsync(Url("/api/health"), ct);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, health.StatusCode);
    }

    [Fact]
    public async Task Each_entry_of_a_batch_counts_as_a_call_so_a_batch_over_the_callers_limit_is_429_before_any_entry_runs()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = new ReferralScenario(azurite, identity, settings: new Dictionary<string, string?>
        {
            ["RateLimits:ApiPermitLimit"] = "5",
            ["RateLimits:ApiQueueLimit"] = "0",
            ["RateLimits:Window"] = "01:00:00",
        });
        using var physician = scenario.AsPhysician();
        var search = $"ServiceRequest?patient=Patient/{scenario.Patient}";

        using var four = await physician.PostAsync(Url("/api/fhir"), Batch(search, 4), ct);
        Assert.Equal(HttpStatusCode.OK, four.StatusCode);
        Assert.Equal(4, (await ReadAsync<Bundle>(four)).Entry.Count(e => e.Response!.Status == "200 OK"));

        // The call's own permit is the fifth; its second entry would be the sixth.
        using var admin = scenario.AsAdmin();
        var audited = await SearchesAuditedAsync(admin, scenario.Patient);
        Assert.Equal(4, audited);
        using var two = await physician.PostAsync(Url("/api/fhir"), Batch(search, 2), ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, two.StatusCode);
        Assert.True(int.Parse(Assert.Single(two.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture) > 0);
        var issue = Assert.Single((await ReadAsync<OperationOutcome>(two)).Issue);
        Assert.Equal(OperationOutcome.IssueType.Throttled, issue.Code);
        Assert.Contains("each of a batch's entries counts as a call", issue.Diagnostics, StringComparison.Ordinal);
        Assert.Equal(audited, await SearchesAuditedAsync(admin, scenario.Patient));

        // A batch larger than a whole window's permits can never pass: refused at once, not left waiting.
        await using var small = new ReferralScenario(azurite, identity, settings: new Dictionary<string, string?>
        {
            ["RateLimits:ApiPermitLimit"] = "3",
            ["RateLimits:ApiQueueLimit"] = "100",
            ["RateLimits:Window"] = "01:00:00",
        });
        using var caller = small.AsPhysician();
        using var ten = await caller.PostAsync(Url("/api/fhir"), Batch($"ServiceRequest?patient=Patient/{small.Patient}", 10), ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, ten.StatusCode);
        using var one = await caller.GetAsync(Url($"/api/fhir/ServiceRequest?patient=Patient/{small.Patient}"), ct);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
    }

    /// <summary>How many searches of the patient's referrals the audit trail holds (not counting the audit trail's own searches, which are audited too).</summary>
    private static async Task<int> SearchesAuditedAsync(HttpClient admin, string patient)
    {
        using var response = await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{patient}&_count=200"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await ReadAsync<Bundle>(response)).Entry.Select(e => e.Resource).OfType<AuditEvent>()
            .Count(e => e.Subtype.Any(s => s.Code == "search-type") && e.Entity.Any(x => x.What?.Reference == "ServiceRequest"));
    }

    private static StringContent Batch(string url, int entries) => Body(new Bundle
    {
        Type = Bundle.BundleType.Batch,
        Entry = [.. Enumerable.Range(0, entries).Select(_ => new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = url } })],
    });
}

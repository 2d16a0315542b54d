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
}

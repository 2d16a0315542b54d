extern alias worker;

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Referral.Tests.Infrastructure;
using worker::Referral.Worker.WriteBack;
using EhrRegistration = worker::Referral.Functions.WriteBack.EhrRegistration;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>
/// One EHR's token endpoint hangs (and then refuses) while another EHR is healthy: the healthy EHR's write-backs and
/// every notification go through while the failing EHR's token request is still held, with the runner's own
/// background loop doing the work as it does in the local run.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class WriteBackIsolationTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    /// <summary>Well inside the EHR client's 30 s timeout, which would otherwise end the held request and free a shared lock.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_failing_EHRs_held_token_request_holds_up_neither_a_healthy_EHRs_write_backs_nor_the_notifications()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var failing = new BackendServicesEhr(tokensHeldUntil: release.Task);
        using var healthy = new BackendServicesEhr().AcceptingCreates();
        var settings = new Dictionary<string, string?>(failing.Settings(index: 0))
        {
            ["TriggerRunner:Enabled"] = "true",
            ["TriggerRunner:PollInterval"] = "00:00:00.100",
        };
        foreach (var (key, value) in healthy.Settings(index: 1))
        {
            settings[key] = value;
        }

        try
        {
            await using var scenario = new ReferralScenario(own.Azurite, identity, failing.FhirBase, settings);
            await BothEhrsAsync(scenario);
        }
        finally
        {
            // The failing EHR's write-back is queued to be retried in a minute; no later test is to take it up.
            await own.ClearQueuesAsync(Ct);
        }

        async Task BothEhrsAsync(ReferralScenario scenario)
        {
            try
            {
                await scenario.SeedTherapistsAsync();
                var fromFailing = await scenario.SubmitAndAcceptAsync();
                var fromHealthy = await SubmitAndAcceptAsync(scenario, healthy.FhirBase);

                // The failing EHR's write-back starts and its token request is held.
                Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(fromFailing, Session(scenario.Time.GetUtcNow().AddHours(-3)))).StatusCode);
                await failing.TokenAsked.WaitAsync(Deadline, Ct);

                // Meanwhile: the healthy EHR gets its session's four Observations, and a new referral's therapist is told.
                Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(fromHealthy, Session(scenario.Time.GetUtcNow().AddHours(-3)))).StatusCode);
                var (sent, later) = await scenario.SubmitAsync(scenario.Draft());
                Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
                await Eventually.Until(() => healthy.Creates("Observation").Count == 4
                    && scenario.App.Mail().Count(m => m.Contains($"/inbox/referrals/{later!.Id}", StringComparison.Ordinal)) == 1,
                    "The healthy EHR's write-back or a notification waited behind the failing EHR.", Deadline);

                // All of that while the failing EHR's one token request was still held (it is answered only once released).
                Assert.Equal(1, failing.HeldTokenRequests);
                Assert.False(release.Task.IsCompleted);
                Assert.Empty(failing.Creates("Observation"));
                Assert.All(healthy.Creates("Observation"), p => Assert.Equal($"Bearer {BackendServicesEhr.AccessToken}", p.RequestMessage!.Headers!["Authorization"].Single()));
                Assert.Contains(scenario.App.Mail(), m => m.Contains($"/inbox/referrals/{fromHealthy}", StringComparison.Ordinal));
            }
            finally
            {
                // Let the held request go (it is refused) before the app stops, so the failing write-back ends in a retry.
                release.TrySetResult();
            }
        }
    }

    [Fact]
    public async Task Write_backs_to_one_EHR_waiting_at_once_share_one_token_request_and_a_refused_one_is_asked_again_next_time()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var failing = new BackendServicesEhr(tokensHeldUntil: release.Task);
        await using var app = new FunctionsApp(own.Azurite.ConnectionString, identity, failing.Settings());
        var tokens = app.WorkerServices.GetRequiredService<BackendServicesTokens>();
        var ehr = new EhrRegistration { Iss = failing.FhirBase, ClientId = BackendServicesEhr.ClientId, WriteBack = true };

        var waiting = Enumerable.Range(0, 3).Select(_ => tokens.AccessTokenAsync(ehr, Ct)).ToList();
        await failing.TokenAsked.WaitAsync(Deadline, Ct);
        release.TrySetResult();

        foreach (var write in waiting)
        {
            await Assert.ThrowsAsync<EhrWriteException>(() => write);
        }

        Assert.Equal(1, failing.HeldTokenRequests);
        await Assert.ThrowsAsync<EhrWriteException>(() => tokens.AccessTokenAsync(ehr, Ct));
        Assert.Equal(2, failing.HeldTokenRequests);
    }

    private static async Task<string> SubmitAndAcceptAsync(ReferralScenario scenario, string ehr)
    {
        using var physician = scenario.App.ClientWith(scenario.Identity.Physician(scenario.Physician, scenario.Patient, ehr: ehr, at: scenario.Time.GetUtcNow()));
        var (submitted, request) = await scenario.SubmitAsync(scenario.DraftValidSinceLastWeek(), physician);
        Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync(Ct));
        using var therapist = scenario.AsTherapist();
        using var accepted = await therapist.PostAsync(Url($"/api/fhir/Task/{request!.Id}/$accept"), null, Ct);
        Assert.True(accepted.IsSuccessStatusCode, await accepted.Content.ReadAsStringAsync(Ct));
        return request.Id!;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Functions.WriteBack;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>
/// The tables down (or too busy to answer) while the queues still deliver: the background functions cannot read the
/// referral their message names. Their messages wait on the queue's backoff, as for an EHR or a mail server that is
/// down, instead of spending the host's five tries in a couple of minutes and landing in the poison queue.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class TableOutageTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_the_tables_down_a_notice_and_a_write_back_wait_on_the_backoff_not_in_the_poison_queue_and_are_done_when_the_tables_are_back()
    {
        await own.ClearQueuesAsync(Ct);
        var clock = TestClock.Fake();
        // A failed try is handed out again at once here, so the host's five tries would be spent within one drain.
        var settings = new Dictionary<string, string?> { ["TriggerRunner:VisibilityTimeout"] = "00:00:00" };
        await using var scenario = new ReferralScenario(own.Azurite, identity, settings: settings, time: clock);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        // The submit queued the therapist's notice; a write-back of the referral waits beside it.
        await scenario.App.Services.GetRequiredService<EhrWriteBackRequests>().EnqueueAsync(new EhrWriteBackMessage(EhrWriteBackMessage.ServiceRequestKind, id), Ct);

        // An instance whose table service cannot be reached (nothing listens on port 9); its queues are the same.
        var tablesDown = own.Azurite.ConnectionString.Replace($":{own.Azurite.TablePort}/", ":9/", StringComparison.Ordinal);
        await using (var down = new FunctionsApp(tablesDown, identity, settings, clock))
        {
            await down.Triggers.DrainAsync(Deadline, Ct);
        }

        foreach (var queue in new[] { ReferralNotifications.QueueName, EhrWriteBackRequests.QueueName })
        {
            // Each is its second attempt now, due a minute later; nothing of it is in the poison queue.
            var waiting = Assert.Single(await own.MessagesNamingAsync(queue, id));
            Assert.Contains("\"Attempt\":2", waiting, StringComparison.Ordinal);
            Assert.Empty(await own.MessagesNamingAsync(queue + "-poison", id));
        }

        Assert.Empty(scenario.App.Mail());

        // The tables are back: a minute later the next try tells the therapist and ends the write-back (this EHR takes none).
        clock.Advance(TimeSpan.FromMinutes(1));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        Assert.Contains(scenario.App.Mail(), mail => mail.Contains($"/inbox/referrals/{id}", StringComparison.Ordinal));
        Assert.Empty(await own.MessagesNamingAsync(ReferralNotifications.QueueName, id));
        Assert.Empty(await own.MessagesNamingAsync(EhrWriteBackRequests.QueueName, id));
    }
}

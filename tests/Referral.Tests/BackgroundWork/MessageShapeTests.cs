using System.Text.Json;
using Azure.Storage.Queues;
using Referral.Functions.Referrals;
using Referral.Functions.WriteBack;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>
/// Queue messages are typed, versioned records (<c>Schema</c>): a message the previous release wrote (no
/// <c>Schema</c>, no <c>TraceParent</c>) is still read after an upgrade, and one of a newer shape than this release
/// reads is not half-read but left to fail into the poison queue, where an operator sees it.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class MessageShapeTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_notification_message_of_the_previous_release_shape_is_processed_and_the_therapist_is_told()
    {
        await using var scenario = new ReferralScenario(own.Azurite, identity, settings: new Dictionary<string, string?> { ["SmartApp:BaseUrl"] = "https://app.test" });
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        // The submit's own event (the current shape) is taken off the queue unread, so only the old-shape one is left.
        var queue = new QueueClient(own.Azurite.ConnectionString, ReferralNotifications.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var current = Assert.Single((await queue.PeekMessagesAsync(32, Ct)).Value);
        Assert.Contains("\"Schema\":1", current.Body.ToString(), StringComparison.Ordinal);
        await queue.ClearMessagesAsync(Ct);

        // Exactly what the release before numbered shapes wrote: Kind and Referral and the optional fields as null.
        await queue.SendMessageAsync($$"""{"Kind":"referral-submitted","Referral":"{{request!.Id}}","Recipient":null,"Version":null,"Ordinal":null}""", Ct);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var mail = Assert.Single(scenario.App.Mail());
        Assert.Contains($"https://app.test/inbox/referrals/{request.Id}", mail, StringComparison.Ordinal);
        Assert.Empty((await queue.PeekMessagesAsync(32, Ct)).Value);
    }

    [Fact]
    public async Task A_message_of_a_newer_shape_than_this_release_reads_is_retried_into_the_poison_queue_and_sends_nothing()
    {
        await using var scenario = new ReferralScenario(own.Azurite, identity, settings: new Dictionary<string, string?> { ["TriggerRunner:VisibilityTimeout"] = "00:00:00" });
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var queue = new QueueClient(own.Azurite.ConnectionString, ReferralNotifications.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var poison = new QueueClient(own.Azurite.ConnectionString, ReferralNotifications.QueueName + "-poison", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await poison.CreateIfNotExistsAsync(cancellationToken: Ct);
        await queue.ClearMessagesAsync(Ct);

        await queue.SendMessageAsync($$"""{"Kind":"referral-submitted","Referral":"{{request!.Id}}","Schema":{{ReferralEvent.CurrentSchema + 1}}}""", Ct);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        Assert.Empty(scenario.App.Mail());
        Assert.Empty((await queue.PeekMessagesAsync(32, Ct)).Value);
        Assert.Contains((await poison.PeekMessagesAsync(32, Ct)).Value, m => m.Body.ToString().Contains(request.Id!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_drain_works_past_more_than_a_batch_of_retry_copies_not_due_yet_ends_when_only_they_are_left_and_leaves_them_waiting()
    {
        var clock = TestClock.Fake();
        await using var scenario = new ReferralScenario(own.Azurite, identity, time: clock);
        var queue = new QueueClient(own.Azurite.ConnectionString, EhrWriteBackRequests.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync(cancellationToken: Ct);
        // Nothing of the collection's earlier tests in the way: this one counts the work a drain finds.
        await own.ClearQueuesAsync(Ct);
        var due = clock.GetUtcNow().AddMinutes(8);
        // More copies not due yet than one receive hands out (32), then one message due now (its referral unknown here:
        // the function has nothing to write, and that is its work).
        for (var copy = 0; copy < 40; copy++)
        {
            await queue.SendMessageAsync(JsonSerializer.Serialize(new EhrWriteBackMessage(EhrWriteBackMessage.SessionKind, $"not-due-yet-{copy}", 1) { Attempt = 4, NotBefore = due }), Ct);
        }

        await queue.SendMessageAsync(JsonSerializer.Serialize(new EhrWriteBackMessage(EhrWriteBackMessage.SessionKind, "due-now", 1)), Ct);

        // The copies are visible at once in a test (no real visibility delay), yet not due by the clock: the one due
        // message behind them is the only work, and the drain ends once only the copies are left.
        Assert.Equal(1, await scenario.App.Triggers.DrainAsync(Deadline, Ct));
        Assert.Equal(0, await scenario.App.Triggers.PollQueuesOnceAsync(Ct));

        Assert.Equal(40, (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount);
        var waiting = JsonSerializer.Deserialize<EhrWriteBackMessage>((await queue.PeekMessagesAsync(1, Ct)).Value.Single().Body.ToString())!;
        Assert.Equal((4, due), (waiting.Attempt, waiting.NotBefore));
        await queue.ClearMessagesAsync(Ct);
    }
}

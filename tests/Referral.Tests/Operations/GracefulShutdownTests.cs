using System.Net;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Referral.Functions.Referrals;
using Referral.Functions.WriteBack;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Operations;

/// <summary>
/// Issue 16, graceful shutdown: when an instance is told to stop (SIGTERM on App Service scale-in) the request or queue
/// message it is working on finishes, and nothing new is taken. The work is held in the fake EHR until the host's
/// StopAsync has begun (ApplicationStopping), then let go. The queue test owns its Azurite's queues (background-work collection).
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class GracefulShutdownTests(Infrastructure.BackgroundWork.OwnAzurite own)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_write_back_in_flight_when_the_worker_stops_is_finished_once_and_no_new_message_is_taken_after_the_stop_began()
    {
        var notifications = await EmptyQueueAsync(ReferralNotifications.QueueName);
        var writeBacks = await EmptyQueueAsync(EhrWriteBackRequests.QueueName);
        var functionsPort = Loopback.FreePort();
        var functionsBase = $"http://127.0.0.1:{functionsPort}";
        using var ehr = new FakeEhr();
        using var release = new ManualResetEventSlim();
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ehr.BeforeServiceRequestCreate = () =>
        {
            reached.TrySetResult();
            release.Wait(Wait);
        };
        await using var harness = new SmartAppHarness(
            own.Azurite, ehr, ehrTakesTheReferral: true,
            extra: new Dictionary<string, string?> { ["Functions:BaseUrl"] = functionsBase },
            functionsHandler: () => new SocketsHttpHandler(),
            functionsExtra: new Dictionary<string, string?>
            {
                // The runner's own loop, as in the local run: it takes the messages as they come.
                ["TriggerRunner:Enabled"] = "true",
                ["TriggerRunner:PollInterval"] = "00:00:00.200",
            });
        var functions = harness.Functions;
        functions.UseKestrel(o => o.Listen(IPAddress.Loopback, functionsPort));
        functions.StartServer();
        Assert.Equal(TimeSpan.FromSeconds(45), functions.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(45), functions.WorkerServices.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        using var browser = await harness.StartAsync();
        await TelemetryTests.SendAsync(browser, await harness.LaunchAsync(browser));

        // The runner has taken the notification, then the write-back it queued; the EHR holds the write-back's POST.
        await reached.Task.WaitAsync(Wait, Ct);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The worker stops first (FunctionsApp stops it before the API): its runner holds the write-back.
        using var registration = functions.WorkerServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        var stopped = functions.DisposeAsync().AsTask();
        await stopping.Task.WaitAsync(Wait, Ct);

        // Queued once the stop has begun: for another instance; this one takes no more.
        var late = JsonSerializer.Serialize(new ReferralEvent(ReferralEvent.Submitted, "therapist-sam-rivera.late-" + Guid.NewGuid().ToString("N")));
        await notifications.SendMessageAsync(late, Ct);
        release.Set();
        await stopped.WaitAsync(Wait, Ct);

        // The write-back finished: the EHR has the referral once, and its message is gone (not left invisible for a retry).
        Assert.Single(ehr.Creates("ServiceRequest"));
        QueueProperties writeBackQueue = await writeBacks.GetPropertiesAsync(Ct);
        Assert.Equal(0, writeBackQueue.ApproximateMessagesCount);
        QueueProperties notificationQueue = await notifications.GetPropertiesAsync(Ct);
        Assert.Equal(1, notificationQueue.ApproximateMessagesCount);
        PeekedMessage waiting = Assert.Single((await notifications.PeekMessagesAsync(32, Ct)).Value);
        Assert.Equal(late, waiting.Body.ToString());
        Assert.Equal(0, waiting.DequeueCount);

        // The collection's queues are shared: the late event names no stored referral, and another class's drain would
        // take it and put it back to wait for that referral.
        await notifications.ClearMessagesAsync(Ct);
    }

    [Fact]
    public async Task A_write_back_still_in_flight_when_the_shutdown_timeout_runs_out_is_given_back_at_once_and_another_instance_writes_it_under_the_same_condition()
    {
        var writeBacks = await EmptyQueueAsync(EhrWriteBackRequests.QueueName);
        await EmptyQueueAsync(EhrWriteBackRequests.QueueName + "-poison");
        var functionsPort = Loopback.FreePort();
        using var ehr = new FakeEhr();
        using var release = new ManualResetEventSlim();
        var creates = 0;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var retried = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ehr.BeforeServiceRequestCreate = () =>
        {
            // The first instance's POST is held past its shutdown timeout; the next instance's is answered.
            if (Interlocked.Increment(ref creates) == 1)
            {
                reached.TrySetResult();
                release.Wait(Wait);
            }
            else
            {
                retried.TrySetResult();
            }
        };
        await using var harness = new SmartAppHarness(
            own.Azurite, ehr, ehrTakesTheReferral: true,
            extra: new Dictionary<string, string?> { ["Functions:BaseUrl"] = $"http://127.0.0.1:{functionsPort}" },
            functionsHandler: () => new SocketsHttpHandler(),
            functionsExtra: new Dictionary<string, string?>
            {
                ["TriggerRunner:Enabled"] = "true",
                ["TriggerRunner:PollInterval"] = "00:00:00.200",
                // Shorter than the EHR's hold: the write-back cannot finish in the time the stop allows.
                ["Shutdown:Timeout"] = "00:00:01",
            });
        var functions = harness.Functions;
        functions.UseKestrel(o => o.Listen(IPAddress.Loopback, functionsPort));
        functions.StartServer();
        Assert.Equal(TimeSpan.FromSeconds(1), functions.WorkerServices.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        using var browser = await harness.StartAsync();
        await TelemetryTests.SendAsync(browser, await harness.LaunchAsync(browser));
        await reached.Task.WaitAsync(Wait, Ct);

        // The stop's second runs out while the EHR holds the POST: the runner cancels the call and gives the message back.
        await functions.DisposeAsync().AsTask().WaitAsync(Wait, Ct);
        Assert.False(release.IsSet);
        // Visible again at once (a peek sees only visible messages), handed out once so far, not moved to poison.
        PeekedMessage givenBack = Assert.Single((await writeBacks.PeekMessagesAsync(32, Ct)).Value);
        Assert.Equal(1, givenBack.DequeueCount);
        var poison = new QueueClient(own.Azurite.ConnectionString, EhrWriteBackRequests.QueueName + "-poison");
        Assert.Empty((await poison.PeekMessagesAsync(32, Ct)).Value);
        release.Set();

        // Another instance takes it without waiting out a visibility timeout and writes the referral under the same
        // condition, so an EHR that kept the first, unanswered POST keeps one copy.
        await using var next = functions.AnotherInstance();
        _ = next.Worker;
        await retried.Task.WaitAsync(Wait, Ct);
        await Eventually.Until(async () => (await writeBacks.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount == 0, $"Not so after {Wait.TotalSeconds} s: the write-back's message is deleted.", Wait);
        // The fake EHR logs a request once it has answered it.
        await Eventually.Until(() => ehr.Creates("ServiceRequest").Count == 2, $"Not so after {Wait.TotalSeconds} s: the EHR has logged both POSTs.", Wait);
        var conditions = ehr.Creates("ServiceRequest").Select(p => Assert.Single(p.RequestMessage!.Headers!["If-None-Exist"])).ToList();
        Assert.StartsWith("identifier=", conditions[0], StringComparison.Ordinal);
        Assert.Equal(conditions[0], conditions[1]);
    }

    [Fact]
    public async Task A_request_in_flight_when_the_smart_app_stops_gets_its_answer()
    {
        using var ehr = new FakeEhr();
        using var release = new ManualResetEventSlim();
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ehr.BeforeDiscovery = () =>
        {
            reached.TrySetResult();
            release.Wait(Wait);
        };
        await using var harness = new SmartAppHarness(own.Azurite, ehr);
        var port = Loopback.FreePort();
        harness.App.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
        harness.App.StartServer();
        Assert.Equal(TimeSpan.FromSeconds(20), harness.App.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        // The launch asks the EHR for its SMART configuration, which the EHR holds until the app is stopping.
        var launch = client.GetAsync(new Uri($"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}&launch=xyz-123", UriKind.Relative), Ct);
        await reached.Task.WaitAsync(Wait, Ct);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = harness.App.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        var stopped = harness.App.DisposeAsync().AsTask();
        await stopping.Task.WaitAsync(Wait, Ct);
        release.Set();

        using var response = await launch.WaitAsync(Wait, Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith(ehr.Base + "/auth/authorize?", response.Headers.Location!.ToString(), StringComparison.Ordinal);
        await stopped.WaitAsync(Wait, Ct);
    }

    private async Task<QueueClient> EmptyQueueAsync(string name)
    {
        var queue = new QueueClient(own.Azurite.ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync(cancellationToken: Ct);
        await queue.ClearMessagesAsync(Ct);
        return queue;
    }
}

extern alias worker;

using System.Reflection;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Functions.WriteBack;
using Referral.Tests.Infrastructure;
using worker::Referral.Worker.Triggers;
using worker::Referral.Worker.WriteBack;
using Task = System.Threading.Tasks.Task;
using WorkerProgram = worker::Referral.Worker.Program;

namespace Referral.Tests.Contracts;

/// <summary>
/// The background functions as the Functions host would see them (DESIGN.md §3): the <c>functions.metadata</c> the
/// Worker SDK writes into the worker's build from the <c>[Function]</c> attributes, and its <c>host.json</c>. The host
/// cannot run here; these pin what it would read, and that the local trigger runner, which stands in for it, reads
/// the same functions, queues, schedules and retry settings.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class WorkerContractTests(Infrastructure.BackgroundWork.OwnAzurite own)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The worker's build output of the configuration these tests were built in (tests/Referral.Tests/bin/{Configuration}/net10.0).</summary>
    private static string WorkerOutput()
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return Repository.PathTo("functions", "Worker", "bin", framework.Parent!.Name, framework.Name);
    }

    private static JsonElement[] Metadata()
    {
        var file = Path.Combine(WorkerOutput(), "functions.metadata");
        Assert.True(File.Exists(file), $"The worker's build wrote no {file}.");
        using var json = JsonDocument.Parse(File.ReadAllText(file));
        return [.. json.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private static JsonElement Trigger(JsonElement function) =>
        Assert.Single(function.GetProperty("bindings").EnumerateArray(), b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));

    [Fact]
    public void The_generated_functions_metadata_names_exactly_the_background_functions_with_their_queues_schedules_and_connection()
    {
        var functions = Metadata().ToDictionary(f => f.GetProperty("name").GetString()!, Trigger, StringComparer.Ordinal);

        Assert.Equal(["ehr-writeback", "poison-archive", "referral-notify", "referral-reminders", "table-backup", "token-replay-purge"], functions.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, queue) in new[] { ("referral-notify", ReferralNotifications.QueueName), ("ehr-writeback", EhrWriteBackRequests.QueueName) })
        {
            Assert.Equal("queueTrigger", functions[name].GetProperty("type").GetString());
            Assert.Equal(queue, functions[name].GetProperty("queueName").GetString());
            Assert.Equal("AzureWebJobsStorage", functions[name].GetProperty("connection").GetString());
        }

        foreach (var (name, schedule) in new[] { ("referral-reminders", "0 */15 * * * *"), ("table-backup", "0 20 * * * *"), ("token-replay-purge", "0 7 * * * *"), ("poison-archive", "0 50 * * * *") })
        {
            Assert.Equal("timerTrigger", functions[name].GetProperty("type").GetString());
            Assert.Equal(schedule, functions[name].GetProperty("schedule").GetString());
        }
    }

    [Fact]
    public async Task The_local_trigger_runner_fires_the_same_functions_queues_and_schedules_as_the_generated_metadata()
    {
        await using var app = new FunctionsApp(own.Azurite.ConnectionString);
        var metadata = Metadata().Select(f => (Name: f.GetProperty("name").GetString()!, Trigger: Trigger(f)))
            .Select(f => (f.Name, Queue: Text(f.Trigger, "queueName"), Schedule: Text(f.Trigger, "schedule"), Connection: Text(f.Trigger, "connection")))
            .OrderBy(f => f.Name, StringComparer.Ordinal);

        var runner = app.Triggers.Manifest.Functions.Select(f => (f.Name, Queue: f.QueueName, f.Schedule, Connection: f.Kind == TriggerKind.Queue ? f.Connection : null))
            .OrderBy(f => f.Name, StringComparer.Ordinal);

        Assert.Equal(metadata, runner);
    }

    [Fact]
    public async Task Every_queue_the_API_writes_has_a_function_that_reads_it()
    {
        await using var app = new FunctionsApp(own.Azurite.ConnectionString);
        // Every queue the API puts messages on is named by a QueueName constant of the class that puts them there.
        var written = typeof(Functions.Program).Assembly.GetTypes()
            .Select(t => t.GetField("QueueName", BindingFlags.Public | BindingFlags.Static))
            .Where(f => f is { IsLiteral: true } && f.FieldType == typeof(string))
            .Select(f => (string)f!.GetRawConstantValue()!)
            .Order(StringComparer.Ordinal)
            .ToList();
        var read = app.Triggers.Manifest.Functions.Where(f => f.Kind == TriggerKind.Queue).Select(f => f.QueueName!).ToHashSet(StringComparer.Ordinal);

        Assert.Equal([EhrWriteBackRequests.QueueName, ReferralNotifications.QueueName], written);
        Assert.All(written, queue => Assert.Contains(queue, read));
    }

    [Fact]
    public async Task The_retry_settings_of_the_worker_host_json_are_the_ones_the_runner_and_the_write_back_use()
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(WorkerOutput(), "host.json"), Ct));
        var queues = json.RootElement.GetProperty("extensions").GetProperty("queues");
        await using var app = new FunctionsApp(own.Azurite.ConnectionString);

        Assert.Equal("2.0", json.RootElement.GetProperty("version").GetString());
        Assert.False(json.RootElement.TryGetProperty("customHandler", out _));
        Assert.Equal(queues.GetProperty("maxDequeueCount").GetInt32(), app.Triggers.Manifest.Queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.Parse(queues.GetProperty("visibilityTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture), app.Triggers.VisibilityTimeout);
        Assert.Equal(queues.GetProperty("batchSize").GetInt32(), app.Triggers.Manifest.Queues.BatchSize);
        Assert.Equal(queues.GetProperty("maxDequeueCount").GetInt32(), app.WorkerServices.GetRequiredService<WriteBackRetries>().MaxDequeueCount);
        Assert.Equal(5, app.Triggers.Manifest.Queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromSeconds(30), app.Triggers.VisibilityTimeout);
    }

    [Fact]
    public async Task A_function_that_throws_leaves_the_message_for_a_retry_and_the_last_try_moves_it_to_the_poison_queue()
    {
        await using var app = new FunctionsApp(own.Azurite.ConnectionString, settings: new Dictionary<string, string?> { ["TriggerRunner:VisibilityTimeout"] = "00:00:00" });
        var queue = new QueueClient(own.Azurite.ConnectionString, EhrWriteBackRequests.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var poison = new QueueClient(own.Azurite.ConnectionString, EhrWriteBackRequests.QueueName + "-poison", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync(cancellationToken: Ct);
        await poison.CreateIfNotExistsAsync(cancellationToken: Ct);
        var marker = Guid.NewGuid().ToString("N");
        // Not a write-back request: the function throws every time.
        await queue.SendMessageAsync($"{{\"unexpected\":\"{marker}\"}}", Ct);

        await app.Triggers.PollQueuesOnceAsync(Ct);
        var retried = Assert.Single((await queue.PeekMessagesAsync(32, Ct)).Value, m => m.Body.ToString().Contains(marker, StringComparison.Ordinal));
        Assert.Equal(1, retried.DequeueCount);

        for (var attempt = 2; attempt <= app.Triggers.Manifest.Queues.MaxDequeueCount; attempt++)
        {
            await app.Triggers.PollQueuesOnceAsync(Ct);
        }

        Assert.DoesNotContain((await queue.PeekMessagesAsync(32, Ct)).Value, m => m.Body.ToString().Contains(marker, StringComparison.Ordinal));
        Assert.Contains((await poison.PeekMessagesAsync(32, Ct)).Value, m => m.Body.ToString().Contains(marker, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new[] { "--functions-uri", "http://127.0.0.1:50051", "--functions-worker-id", "w1", "--functions-request-id", "r1", "--functions-grpc-max-message-length", "2147483647" }, true)]
    [InlineData(new[] { "--host", "127.0.0.1", "--port", "50051", "--workerId", "w1", "--requestId", "r1", "--grpcMaxMessageLength", "2147483647" }, true)]
    [InlineData(new string[0], false)]
    [InlineData(new[] { "--environment", "Development" }, false)]
    public void The_worker_runs_as_an_isolated_worker_only_when_the_Functions_host_starts_it_with_a_worker_id(string[] args, bool underHost)
    {
        Assert.Equal(underHost, WorkerProgram.StartedByFunctionsHost(args));
    }

    private static string? Text(JsonElement binding, string name) =>
        binding.TryGetProperty(name, out var value) ? value.GetString() : null;
}

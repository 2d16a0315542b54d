using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Referral.Functions.WriteBack;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Contracts;

/// <summary>
/// The queue and timer functions take the Functions host's custom-handler request payload and answer its response
/// shape (<c>Outputs</c>, <c>Logs</c>, <c>ReturnValue</c>); a non-2xx answer makes the host (here the local trigger
/// runner, which does as the host does) retry, and the last try moves the message to the poison queue.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class TriggerPayloadContractTests(Infrastructure.BackgroundWork.OwnAzurite own)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The queue payload as the custom-handler documentation shows it: the message text as a JSON string.</summary>
    private static string DocumentedQueuePayload(string message) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["Data"] = new Dictionary<string, object> { ["message"] = message },
        ["Metadata"] = new Dictionary<string, object>
        {
            ["DequeueCount"] = 1,
            ["ExpirationTime"] = "2019-10-16T17:58:31+00:00",
            ["Id"] = "800ae4b3-bdd2-4c08-badd-f08e5a34b865",
            ["InsertionTime"] = "2019-10-09T17:58:31+00:00",
            ["NextVisibleTime"] = "2019-10-09T18:08:32+00:00",
            ["PopReceipt"] = "AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
            ["sys"] = new Dictionary<string, object> { ["MethodName"] = "QueueTrigger", ["UtcNow"] = "2019-10-09T17:58:32.2205399Z", ["RandGuid"] = "24ad4c06-24ad-4e5b-8294-3da9714877e9" },
        },
    });

    /// <summary>
    /// The same payload as the host's serializer writes it (GetHttpScriptInvocationContextValue): strings JSON-encoded
    /// once more, numbers as strings.
    /// </summary>
    private static string HostSerializedQueuePayload(string message) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["Data"] = new Dictionary<string, object> { ["message"] = JsonSerializer.Serialize(message) },
        ["Metadata"] = new Dictionary<string, object> { ["DequeueCount"] = "1", ["Id"] = "\"800ae4b3\"" },
    });

    public static TheoryData<string, string> QueuePayloads() => new()
    {
        { "referral-notify", DocumentedQueuePayload("{\"Kind\":\"referral-submitted\",\"Referral\":\"nobody.0000\"}") },
        { "referral-notify", HostSerializedQueuePayload("{\"Kind\":\"referral-submitted\",\"Referral\":\"nobody.0000\"}") },
        { "ehr-writeback", DocumentedQueuePayload("{\"Kind\":\"session\",\"Referral\":\"nobody.0000\",\"Session\":1}") },
        { "ehr-writeback", HostSerializedQueuePayload("{\"Kind\":\"session\",\"Referral\":\"nobody.0000\",\"Session\":1}") },
    };

    [Theory]
    [MemberData(nameof(QueuePayloads))]
    public async Task A_queue_function_accepts_the_hosts_payload_and_answers_its_response_shape(string function, string payload)
    {
        await using var app = new FunctionsApp(own.Azurite.ConnectionString);
        using var client = app.CreateClient();

        using var response = await client.PostAsync(new Uri($"/{function}", UriKind.Relative), new StringContent(payload, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertResponseShape(await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task The_timer_function_accepts_the_hosts_timer_payload_and_answers_its_response_shape()
    {
        await using var app = new FunctionsApp(own.Azurite.ConnectionString);
        using var client = app.CreateClient();
        const string payload = """
            {"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-09-24T13:00:00.0096035+00:00","Next":"2026-09-24T13:15:00+00:00","LastUpdated":"2026-09-24T13:00:00.0096035+00:00"},"IsPastDue":false}},
             "Metadata":{"sys":{"MethodName":"referral-reminders","UtcNow":"2026-09-24T13:15:00.01Z","RandGuid":"24ad4c06-24ad-4e5b-8294-3da9714877e9"}}}
            """;

        using var response = await client.PostAsync(new Uri("/referral-reminders", UriKind.Relative), new StringContent(payload, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertResponseShape(await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task A_non_2xx_answer_leaves_the_message_for_a_retry_and_the_last_try_moves_it_to_the_poison_queue()
    {
        await using var app = new FunctionsApp(own.Azurite.ConnectionString, settings: new Dictionary<string, string?> { ["TriggerRunner:VisibilityTimeout"] = "00:00:00" });
        var queue = new QueueClient(own.Azurite.ConnectionString, EhrWriteBackRequests.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var poison = new QueueClient(own.Azurite.ConnectionString, EhrWriteBackRequests.QueueName + "-poison", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync(cancellationToken: Ct);
        await poison.CreateIfNotExistsAsync(cancellationToken: Ct);
        var marker = Guid.NewGuid().ToString("N");
        // Not a write-back request: the function answers 400 every time.
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

    private static void AssertResponseShape(string body)
    {
        using var json = JsonDocument.Parse(body);
        Assert.Equal(JsonValueKind.Object, json.RootElement.GetProperty("Outputs").ValueKind);
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("Logs").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("ReturnValue").ValueKind);
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Referral.Functions.Referrals;
using Referral.Functions.WriteBack;

namespace Referral.Worker.Triggers;

/// <summary>
/// <c>dotnet Referral.Worker.dll poison-messages --account &lt;queues&gt; [--replay] [--message &lt;id&gt;]</c>: lists the
/// messages in the poison queues (<c>ehr-writeback-poison</c>, <c>referral-notifications-poison</c>: id, when queued,
/// kind and referral id, never a patient's data), and with <c>--replay</c> puts them back on their queue (all, or the
/// one <c>--message</c> names) as a first attempt, so they get the whole backoff again; each is deleted from the poison
/// queue after it is queued (a replay cut short leaves a copy in both, and the functions post nothing twice).
/// Messages the hourly <see cref="PoisonArchiveFunction"/> has already moved out of the poison queues (before the
/// platform's 7 days run out) are listed and replayed from its table in the same way.
/// <c>--account</c> is a storage connection string, or the queue service's https URI reached with the signed-in Azure
/// identity (<see cref="DefaultAzureCredential"/>; the table service is the same account's).
/// </summary>
public static class PoisonCommand
{
    public const string Verb = "poison-messages";

    /// <summary>The queues whose poison this command reads.</summary>
    public static readonly IReadOnlyList<string> Queues = [EhrWriteBackRequests.QueueName, ReferralNotifications.QueueName];

    public static bool Matches(IReadOnlyList<string> args) => args is [Verb, ..];

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var account = Option(args, "--account");
        if (account is null)
        {
            await output.WriteLineAsync($"Usage: {Verb} --account <queues: connection string or https URI> [--replay] [--message <id>]");
            return 2;
        }

        var replay = args.Contains("--replay");
        var only = Option(args, "--message");
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        var https = Uri.TryCreate(account, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps;
        var service = https ? new QueueServiceClient(uri, new DefaultAzureCredential(), options) : new QueueServiceClient(account, options);
        var archive = (https
            ? new TableServiceClient(new Uri(uri!.AbsoluteUri.Replace(".queue.", ".table.", StringComparison.OrdinalIgnoreCase)), new DefaultAzureCredential())
            : new TableServiceClient(account)).GetTableClient(PoisonArchiveFunction.TableName);
        var replayed = 0;
        foreach (var name in Queues)
        {
            var poison = service.GetQueueClient(name + "-poison");
            if (!await poison.ExistsAsync(cancellationToken))
            {
                continue;
            }

            if (!replay)
            {
                foreach (var message in (await poison.PeekMessagesAsync(32, cancellationToken)).Value)
                {
                    await output.WriteLineAsync($"{poison.Name}\t{message.MessageId}\t{message.InsertedOn?.ToString("O", CultureInfo.InvariantCulture)}\t{Describe(message.Body.ToString())}");
                }

                var count = (await poison.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
                await output.WriteLineAsync($"{poison.Name}: {count} message(s){(count > 32 ? " (the first 32 listed)" : "")}");
                continue;
            }

            var queue = service.GetQueueClient(name);
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            // Received (hidden for a minute each) until none is left visible: the ones not replayed come back after it.
            while ((await poison.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1), cancellationToken)).Value is { Length: > 0 } batch)
            {
                foreach (var message in batch.Where(m => only is null || m.MessageId == only))
                {
                    await queue.SendMessageAsync(AsFirstAttempt(message.Body.ToString()), cancellationToken);
                    await poison.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                    await output.WriteLineAsync($"Replayed {message.MessageId} to {name}.");
                    replayed++;
                }
            }
        }

        replayed += await ArchivedAsync(archive, service, replay, only, output, cancellationToken);
        if (replay)
        {
            await output.WriteLineAsync($"Replayed {replayed} message(s).");
        }

        return replay && only is not null && replayed == 0 ? 1 : 0;
    }

    /// <summary>Lists (or replays, and then deletes) the archived rows; the number replayed.</summary>
    private static async Task<int> ArchivedAsync(TableClient archive, QueueServiceClient service, bool replay, string? only, TextWriter output, CancellationToken cancellationToken)
    {
        var replayed = 0;
        var listed = 0;
        try
        {
            await foreach (var row in archive.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
            {
                var body = System.Text.Encoding.UTF8.GetString(row.GetBinary("Body") ?? []);
                if (!replay)
                {
                    listed++;
                    await output.WriteLineAsync($"{row.PartitionKey}\t{row.RowKey}\t{row.GetDateTimeOffset("InsertedOn")?.ToString("O", CultureInfo.InvariantCulture)}\t{Describe(body)}\tarchived");
                    continue;
                }

                if ((only is not null && row.RowKey != only) || !row.PartitionKey.EndsWith("-poison", StringComparison.Ordinal))
                {
                    continue;
                }

                var queue = service.GetQueueClient(row.PartitionKey[..^"-poison".Length]);
                await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                await queue.SendMessageAsync(AsFirstAttempt(body), cancellationToken);
                await archive.DeleteEntityAsync(row, ETag.All, cancellationToken);
                await output.WriteLineAsync($"Replayed {row.RowKey} to {queue.Name}.");
                replayed++;
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No table yet: nothing was ever archived.
        }

        if (!replay)
        {
            await output.WriteLineAsync($"{PoisonArchiveFunction.TableName}: {listed} archived message(s)");
        }

        return replayed;
    }

    /// <summary>The message without its backoff state (<c>Attempt</c>, <c>NotBefore</c>): a first attempt, due now. Text that is not a JSON object goes back as it was.</summary>
    public static string AsFirstAttempt(string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject message)
            {
                message.Remove("Attempt");
                message.Remove("NotBefore");
                return message.ToJsonString();
            }
        }
        catch (JsonException)
        {
        }

        return body;
    }

    /// <summary>The message's kind and referral id (an opaque id, no patient data), or that it is not one this release reads.</summary>
    private static string Describe(string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject message)
            {
                return $"{message["Kind"]?.ToString() ?? "?"}\t{message["Referral"]?.ToString() ?? "?"}\tattempt {message["Attempt"]?.ToString() ?? "1"}";
            }
        }
        catch (JsonException)
        {
        }

        return "(not a message this release reads)";
    }

    private static string? Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}

using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Azure.Functions.Worker;
using Referral.Functions.Storage;

namespace Referral.Worker.Triggers;

/// <summary>
/// The hourly <c>poison-archive</c> timer: the platform deletes a queue message 7 days after it was queued, poison
/// included, so every message in a poison queue is moved into the table <c>PoisonMessages</c> (row key: its message
/// id), where it stays until an operator replays it (<see cref="PoisonCommand"/>) and which the table backup copies
/// with the rest. Each message is written to the table before it is deleted from the queue: a run cut short leaves it
/// in both, and the next run writes the same row again.
/// </summary>
public sealed partial class PoisonArchiveFunction(StorageAccount storage, TimeProvider time, ILogger<PoisonArchiveFunction> logger)
{
    public const string Name = "poison-archive";

    /// <summary>Hourly, at 50 minutes past (NCRONTAB, with seconds): a message reaches the table within the hour, days before the 7 run out.</summary>
    public const string Schedule = "0 50 * * * *";

    public const string TableName = "PoisonMessages";

    [Function(Name)]
    public Task RunAsync([TimerTrigger(Schedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        FunctionRun.ProcessAsync(Name, null, logger, async () =>
        {
            var moved = 0;
            var table = await storage.TableAsync(TableName);
            foreach (var name in PoisonCommand.Queues)
            {
                moved += await ArchiveAsync(await storage.QueueAsync(name + "-poison"), table, time.GetUtcNow(), cancellationToken);
            }

            LogRun(logger, moved);
            return $"Moved {moved} poison message(s) to the table {TableName}.";
        });

    /// <summary>Moves every visible message of <paramref name="poison"/> into <paramref name="table"/>; the number moved.</summary>
    public static async Task<int> ArchiveAsync(QueueClient poison, TableClient table, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(poison);
        ArgumentNullException.ThrowIfNull(table);
        var moved = 0;
        // Hidden for five minutes while it is copied; one that fails to copy comes back for the next run.
        while ((await poison.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), cancellationToken)).Value is { Length: > 0 } batch)
        {
            foreach (var message in batch)
            {
                var row = new TableEntity(poison.Name, message.MessageId)
                {
                    // Bytes, not a string property: a message's 48 KB of text can pass a string property's 32 K characters.
                    ["Body"] = message.Body.ToArray(),
                    ["InsertedOn"] = message.InsertedOn,
                    ["DequeueCount"] = message.DequeueCount,
                    ["ArchivedAt"] = now,
                };
                await table.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken);
                await poison.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                moved++;
            }
        }

        return moved;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Poison archive: {Count} message(s) moved to the table.")]
    private static partial void LogRun(ILogger logger, int count);
}

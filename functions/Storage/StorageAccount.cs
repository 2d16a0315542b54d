using System.Collections.Concurrent;
using Azure.Data.Tables;
using Azure.Storage.Queues;

namespace Referral.Functions.Storage;

/// <summary>
/// The app's one storage account, read from the <c>AzureWebJobsStorage</c> setting that the
/// Functions host and its bindings use too, so the app and its triggers always agree on where data lives.
/// Tables and queues are created on first use and remembered, so a request path never pays for it twice.
/// </summary>
public sealed class StorageAccount
{
    public const string SettingName = "AzureWebJobsStorage";

    private readonly TableServiceClient tables;
    private readonly QueueServiceClient queues;
    private readonly ConcurrentDictionary<string, Lazy<Task<TableClient>>> tableClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<QueueClient>>> queueClients = new(StringComparer.Ordinal);

    public StorageAccount(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = configuration[SettingName];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"The setting '{SettingName}' is missing: set it to the storage connection string " +
                "(locally the Azurite connection string that infra/local/run.sh prints).");
        }

        tables = new TableServiceClient(connectionString);
        queues = new QueueServiceClient(connectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
    }

    public Task<TableClient> TableAsync(string name) =>
        tableClients.GetOrAdd(name, n => new Lazy<Task<TableClient>>(() => CreateTableAsync(n))).Value;

    public Task<QueueClient> QueueAsync(string name) =>
        queueClients.GetOrAdd(name, n => new Lazy<Task<QueueClient>>(() => CreateQueueAsync(n))).Value;

    /// <summary>Asks each storage service, at once, for one page of its listing: cheap, and proves it answers.</summary>
    public async Task<StorageHealth> CheckAsync(CancellationToken cancellationToken)
    {
        var tablesUp = AnswersAsync(async ct =>
        {
            await foreach (var _ in tables.QueryAsync(maxPerPage: 1, cancellationToken: ct).AsPages(pageSizeHint: 1).WithCancellation(ct))
            {
                break;
            }
        }, cancellationToken);
        var queuesUp = AnswersAsync(async ct =>
        {
            await foreach (var _ in queues.GetQueuesAsync(cancellationToken: ct).AsPages(pageSizeHint: 1).WithCancellation(ct))
            {
                break;
            }
        }, cancellationToken);
        return new StorageHealth(await tablesUp, await queuesUp);
    }

    private static async Task<bool> AnswersAsync(Func<CancellationToken, Task> probe, CancellationToken cancellationToken)
    {
        try
        {
            await probe(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is Azure.RequestFailedException or OperationCanceledException or HttpRequestException or AggregateException)
        {
            return false;
        }
    }

    private async Task<TableClient> CreateTableAsync(string name)
    {
        var client = tables.GetTableClient(name);
        await client.CreateIfNotExistsAsync();
        return client;
    }

    private async Task<QueueClient> CreateQueueAsync(string name)
    {
        var client = queues.GetQueueClient(name);
        await client.CreateIfNotExistsAsync();
        return client;
    }
}

public sealed record StorageHealth(bool Tables, bool Queues)
{
    public bool Healthy => Tables && Queues;
}

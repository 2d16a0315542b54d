using System.Collections.Concurrent;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace Referral.Functions.Storage;

/// <summary>
/// The app's one storage account, read from the <c>AzureWebJobsStorage</c> setting that the
/// Functions host and its bindings use too, so the app and its triggers always agree on where data lives:
/// a connection string locally (Azurite), or in Azure the identity-based form the host also reads
/// (<c>AzureWebJobsStorage__tableServiceUri</c>, <c>__queueServiceUri</c>, or <c>__accountName</c>),
/// reached with the app's managed identity through <see cref="DefaultAzureCredential"/> since shared keys are off.
/// Tables and queues are created on first use and remembered, so a request path never pays for it twice.
/// </summary>
public sealed class StorageAccount
{
    public const string SettingName = "AzureWebJobsStorage";

    private readonly TableServiceClient tables;
    private readonly QueueServiceClient queues;
    private readonly Func<BlobServiceClient> blobs;
    private readonly ConcurrentDictionary<string, Lazy<Task<TableClient>>> tableClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<QueueClient>>> queueClients = new(StringComparer.Ordinal);

    public StorageAccount(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // The Functions host's queue trigger reads and writes base64 messages; the app must match it.
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        var connectionString = configuration[SettingName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            tables = new TableServiceClient(connectionString);
            queues = new QueueServiceClient(connectionString, queueOptions);
            blobs = () => new BlobServiceClient(connectionString);
            return;
        }

        var identityBased = configuration.GetSection(SettingName);
        var account = identityBased["accountName"];
        var tableUri = identityBased["tableServiceUri"] ?? (account is null ? null : $"https://{account}.table.core.windows.net");
        var queueUri = identityBased["queueServiceUri"] ?? (account is null ? null : $"https://{account}.queue.core.windows.net");
        if (!Uri.TryCreate(tableUri, UriKind.Absolute, out var tableService) || !Uri.TryCreate(queueUri, UriKind.Absolute, out var queueService))
        {
            throw new InvalidOperationException(
                $"The setting '{SettingName}' is missing: set it to the storage connection string (locally the Azurite " +
                $"connection string that infra/local/run.sh prints), or in Azure set '{SettingName}__tableServiceUri' and " +
                $"'{SettingName}__queueServiceUri' (or '{SettingName}__accountName') for the app's managed identity.");
        }

        var credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = identityBased["clientId"] });
        tables = new TableServiceClient(tableService, credential);
        queues = new QueueServiceClient(queueService, credential, queueOptions);
        var blobUri = identityBased["blobServiceUri"] ?? (account is null ? null : $"https://{account}.blob.core.windows.net");
        blobs = () => Uri.TryCreate(blobUri, UriKind.Absolute, out var blobService)
            ? new BlobServiceClient(blobService, credential)
            : throw new InvalidOperationException($"Backups need '{SettingName}__blobServiceUri' (or '{SettingName}__accountName').");
    }

    /// <summary>Where the account's table service is: the connection string's endpoint or the identity-based URI.</summary>
    public Uri TableServiceUri => tables.Uri;

    public Uri QueueServiceUri => queues.Uri;

    /// <summary>The table service itself, for work over every table (the backup).</summary>
    public TableServiceClient TableService => tables;

    /// <summary>The blob service (the table backups' container); only the backup uses it, so it is made when asked for.</summary>
    public BlobServiceClient BlobService => blobs();

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

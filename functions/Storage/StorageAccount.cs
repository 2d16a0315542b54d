using System.Collections.Concurrent;
using Azure.Core;
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
/// Tables and queues are created on first use and remembered once created, so a request path never pays for it twice;
/// a creation that failed (storage unreachable) is forgotten, and the next caller tries again: an outage at the first
/// touch of a table is over when storage is back, without a restart.
/// </summary>
public sealed class StorageAccount
{
    public const string SettingName = "AzureWebJobsStorage";

    private readonly TableServiceClient tables;
    private readonly QueueServiceClient queues;
    private readonly Lazy<BlobServiceClient> blobs;
    private readonly ConcurrentDictionary<string, Lazy<Task<TableClient>>> tableClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<QueueClient>>> queueClients = new(StringComparer.Ordinal);

    /// <summary>
    /// How the Azure SDK clients retry, chosen so that unreachable storage is a quick 503 (FhirErrors) rather than a
    /// request held for half a minute. The SDK's defaults (3 retries from 0.8 s doubling) held a refused request up to
    /// 29 s over a few sequential calls. Here: two retries from about 0.25 s (a blip is ridden out; a refused connection
    /// fails in about a second), and 30 s per try for an answer that is slow to come: a busy machine (the full test
    /// suite on two cores) answered slowly enough that 4 s and 8 s per try turned good requests into 503s, so the
    /// bound on a try guards against storage that never answers, not against a slow one. The caller (the smart-app, a
    /// FHIR client, the queue's own redelivery) retries past a 503: every write is idempotent on its key (the placer
    /// identifier, a session's idempotency key), so a retry after a failure never doubles anything.
    /// </summary>
    public static void ConfigureRetries(RetryOptions retry)
    {
        ArgumentNullException.ThrowIfNull(retry);
        retry.Mode = RetryMode.Exponential;
        retry.MaxRetries = 2;
        retry.Delay = TimeSpan.FromMilliseconds(250);
        retry.MaxDelay = TimeSpan.FromSeconds(1);
        retry.NetworkTimeout = TimeSpan.FromSeconds(30);
    }

    /// <summary>Queue client options as the Functions host's queue trigger expects them (base64 messages), with the retries above.</summary>
    public static QueueClientOptions QueueOptions()
    {
        // The Functions host's queue trigger reads and writes base64 messages; the app must match it.
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        ConfigureRetries(options.Retry);
        return options;
    }

    public StorageAccount(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var queueOptions = QueueOptions();
        var tableOptions = new TableClientOptions();
        ConfigureRetries(tableOptions.Retry);
        var connectionString = configuration[SettingName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            tables = new TableServiceClient(connectionString, tableOptions);
            queues = new QueueServiceClient(connectionString, queueOptions);
            blobs = new(() => new BlobServiceClient(connectionString));
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
        tables = new TableServiceClient(tableService, credential, tableOptions);
        queues = new QueueServiceClient(queueService, credential, queueOptions);
        var blobUri = identityBased["blobServiceUri"] ?? (account is null ? null : $"https://{account}.blob.core.windows.net");
        blobs = new(() => Uri.TryCreate(blobUri, UriKind.Absolute, out var blobService)
            ? new BlobServiceClient(blobService, credential)
            : throw new InvalidOperationException($"Backups need '{SettingName}__blobServiceUri' (or '{SettingName}__accountName')."));
    }

    /// <summary>Where the account's table service is: the connection string's endpoint or the identity-based URI.</summary>
    public Uri TableServiceUri => tables.Uri;

    public Uri QueueServiceUri => queues.Uri;

    /// <summary>The table service itself, for work over every table (the backup).</summary>
    public TableServiceClient TableService => tables;

    /// <summary>The blob service (the table backups' container); only the backup uses it, so it is made when first asked for and kept.</summary>
    public BlobServiceClient BlobService => blobs.Value;

    public Task<TableClient> TableAsync(string name) => Created(tableClients, name, CreateTableAsync);

    public Task<QueueClient> QueueAsync(string name) => Created(queueClients, name, CreateQueueAsync);

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

    /// <summary>
    /// The client once its table or queue exists: callers at the same time share one creation; a creation that
    /// failed is dropped from the cache (only that one, not a newer one another caller started), so the next call
    /// tries again instead of failing for good.
    /// </summary>
    private static Task<T> Created<T>(ConcurrentDictionary<string, Lazy<Task<T>>> cache, string name, Func<string, Task<T>> create)
    {
        var entry = cache.GetOrAdd(name, n => new Lazy<Task<T>>(() => create(n)));
        var creation = entry.Value;
        return creation.IsCompletedSuccessfully ? creation : ForgetOnFailureAsync(cache, name, entry);
    }

    private static async Task<T> ForgetOnFailureAsync<T>(ConcurrentDictionary<string, Lazy<Task<T>>> cache, string name, Lazy<Task<T>> entry)
    {
        try
        {
            return await entry.Value;
        }
        catch
        {
            cache.TryRemove(KeyValuePair.Create(name, entry));
            throw;
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

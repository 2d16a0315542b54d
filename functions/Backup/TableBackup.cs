using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Referral.Functions.Backup;

/// <summary>
/// Copies every table of the account into a blob container (Table Storage has no soft delete or point-in-time restore)
/// and loads such a copy back. Each run writes one blob per table and then its manifest; a run without a manifest is
/// incomplete and never restored from. Runs are named by time and never overwrite a blob, so the container can be
/// immutable (time-based retention, infra/modules/storage.bicep).
/// <list type="bullet">
/// <item><c>full/{yyyy-MM-dd}/{HHmmss}/{table}.jsonl</c>: every entity; the first run of each day (UTC) is a full one;</item>
/// <item><c>incremental/{yyyy-MM-dd}/{HHmmss}/{table}.jsonl</c>: the entities changed since the run before (by the
/// table service's own Timestamp, so the app's clock and the storage's never mix), the rest of the day's runs.</item>
/// </list>
/// Restoring takes the latest complete full run and applies every complete incremental run after it, in order.
/// Not kept: deletions after the full run (a deleted entity comes back on restore until the next day's full run).
/// </summary>
public sealed class TableBackup(TimeProvider time)
{
    public const string ContainerName = "table-backups";
    private const string ManifestName = "manifest.json";
    private const int BatchSize = 100;

    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web);

    /// <summary>Backs every table up: a full copy when today has none yet, else the changes since the last run.</summary>
    public async Task<BackupRun> BackupAsync(TableServiceClient tables, BlobContainerClient container, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(container);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var now = time.GetUtcNow();
        var day = now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        // Only today's runs decide what this one copies: a month of hourly manifests is not read every hour.
        var today = await CompleteRunsAsync(container, [$"full/{day}/", $"incremental/{day}/"], cancellationToken);
        var full = !today.Any(r => r.Manifest.Full);
        // Each table's watermark: the newest storage Timestamp the runs since today's full copy saw.
        var since = full
            ? new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal)
            : today.SelectMany(r => r.Manifest.Tables)
                .GroupBy(t => t.Name, StringComparer.Ordinal)
                .Where(g => g.Any(t => t.Newest is not null))
                .ToDictionary(g => g.Key, g => g.Max(t => t.Newest!.Value), StringComparer.Ordinal);

        var prefix = $"{(full ? "full" : "incremental")}/{day}/{now.ToString("HHmmss", CultureInfo.InvariantCulture)}/";
        var copied = new List<TableCopy>();
        await foreach (var table in tables.QueryAsync(cancellationToken: cancellationToken))
        {
            var from = since.TryGetValue(table.Name, out var watermark) ? watermark : (DateTimeOffset?)null;
            copied.Add(await CopyTableAsync(tables.GetTableClient(table.Name), container.GetBlobClient(prefix + table.Name + ".jsonl"), from, cancellationToken));
        }

        var manifest = new BackupManifest(day, now, full, copied);
        await container.GetBlobClient(prefix + ManifestName)
            .UploadAsync(BinaryData.FromObjectAsJson(manifest, ManifestJson), overwrite: false, cancellationToken);
        return new BackupRun(prefix, manifest);
    }

    /// <summary>
    /// Loads the latest complete full run, then every complete incremental run after it, into <paramref name="tables"/>.
    /// Refuses when a table to be restored already holds entities: a restore goes into a fresh account or fresh tables.
    /// </summary>
    public static async Task<RestoreResult> RestoreAsync(BlobContainerClient container, TableServiceClient tables, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(tables);
        var runs = await CompleteRunsAsync(container, ["full/", "incremental/"], cancellationToken);
        var lastFull = runs.LastOrDefault(r => r.Manifest.Full)
            ?? throw new InvalidOperationException($"The container '{container.Name}' holds no complete full backup.");
        var applied = runs.SkipWhile(r => r != lastFull).ToList();

        foreach (var name in lastFull.Manifest.Tables.Select(t => t.Name))
        {
            var table = tables.GetTableClient(name);
            await table.CreateIfNotExistsAsync(cancellationToken);
            await foreach (var _ in table.QueryAsync<TableEntity>(maxPerPage: 1, cancellationToken: cancellationToken))
            {
                throw new InvalidOperationException($"The table '{name}' already holds entities: restore into a fresh account or empty tables.");
            }
        }

        var entities = 0;
        foreach (var run in applied)
        {
            foreach (var copy in run.Manifest.Tables)
            {
                var table = tables.GetTableClient(copy.Name);
                await table.CreateIfNotExistsAsync(cancellationToken);
                var content = await container.GetBlobClient(run.Prefix + copy.Name + ".jsonl").DownloadContentAsync(cancellationToken);
                var read = ReadEntities(content.Value.Content.ToString()).ToList();
                if (read.Count != copy.Entities)
                {
                    throw new InvalidOperationException($"{run.Prefix}{copy.Name}.jsonl holds {read.Count} entities; its manifest says {copy.Entities}.");
                }

                // In transactions of up to 100 within a partition; a later run's copy of an entity replaces an earlier one.
                foreach (var batch in read.GroupBy(e => e.PartitionKey, StringComparer.Ordinal).SelectMany(p => p.Chunk(BatchSize)))
                {
                    await table.SubmitTransactionAsync(batch.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)), cancellationToken);
                }

                entities += read.Count;
            }
        }

        return new RestoreResult([.. applied.Select(r => r.Prefix)], entities);
    }

    private static async Task<TableCopy> CopyTableAsync(TableClient table, BlobClient blob, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        var filter = since is { } from ? TableClient.CreateQueryFilter($"Timestamp ge {from}") : null;
        var lines = new StringBuilder();
        var count = 0;
        DateTimeOffset? newest = since;
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            lines.Append(WriteEntity(entity)).Append('\n');
            count++;
            if (entity.Timestamp is { } stamp && (newest is null || stamp > newest))
            {
                newest = stamp;
            }
        }

        await blob.UploadAsync(BinaryData.FromString(lines.ToString()), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/x-ndjson" },
            // Never replace a blob: the container may be immutable, and a name is one run's.
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
        }, cancellationToken);
        return new TableCopy(table.Name, count, newest);
    }

    /// <summary>The complete runs (those with a manifest) under the given name prefixes, oldest first.</summary>
    private static async Task<List<CompleteRun>> CompleteRunsAsync(BlobContainerClient container, string[] prefixes, CancellationToken cancellationToken)
    {
        var runs = new List<CompleteRun>();
        if (!await container.ExistsAsync(cancellationToken))
        {
            return runs;
        }

        foreach (var prefix in prefixes)
        {
            await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken))
            {
                if (!item.Name.EndsWith("/" + ManifestName, StringComparison.Ordinal))
                {
                    continue;
                }

                var content = await container.GetBlobClient(item.Name).DownloadContentAsync(cancellationToken);
                var manifest = content.Value.Content.ToObjectFromJson<BackupManifest>(ManifestJson)
                    ?? throw new InvalidOperationException($"{item.Name} is not a backup manifest.");
                runs.Add(new CompleteRun(item.Name[..^ManifestName.Length], manifest));
            }
        }

        return [.. runs.OrderBy(r => r.Manifest.At)];
    }

    /// <summary>One entity as a JSON line, every property with its EDM type so it comes back exactly as it was.</summary>
    public static string WriteEntity(TableEntity entity)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("PartitionKey", entity.PartitionKey);
            json.WriteString("RowKey", entity.RowKey);
            json.WriteStartObject("Properties");
            foreach (var (name, value) in entity)
            {
                if (name is "PartitionKey" or "RowKey" or "Timestamp" or "odata.etag" || value is null)
                {
                    continue;
                }

                json.WriteStartObject(name);
                var (type, text) = value switch
                {
                    string s => ("String", s),
                    int i => ("Int32", i.ToString(CultureInfo.InvariantCulture)),
                    long l => ("Int64", l.ToString(CultureInfo.InvariantCulture)),
                    double d => ("Double", d.ToString("R", CultureInfo.InvariantCulture)),
                    bool b => ("Boolean", b ? "true" : "false"),
                    DateTimeOffset t => ("DateTime", t.ToString("O", CultureInfo.InvariantCulture)),
                    DateTime t => ("DateTime", new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)).ToString("O", CultureInfo.InvariantCulture)),
                    Guid g => ("Guid", g.ToString("D")),
                    byte[] bytes => ("Binary", Convert.ToBase64String(bytes)),
                    BinaryData data => ("Binary", Convert.ToBase64String(data.ToArray())),
                    _ => throw new InvalidOperationException($"Property {name} of {entity.PartitionKey}/{entity.RowKey} has a type a backup cannot keep: {value.GetType()}."),
                };
                json.WriteString("Type", type);
                json.WriteString("Value", text);
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static IEnumerable<TableEntity> ReadEntities(string lines)
    {
        foreach (var line in lines.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var entity = new TableEntity(root.GetProperty("PartitionKey").GetString(), root.GetProperty("RowKey").GetString());
            foreach (var property in root.GetProperty("Properties").EnumerateObject())
            {
                var text = property.Value.GetProperty("Value").GetString()!;
                entity[property.Name] = property.Value.GetProperty("Type").GetString() switch
                {
                    "String" => text,
                    "Int32" => int.Parse(text, CultureInfo.InvariantCulture),
                    "Int64" => long.Parse(text, CultureInfo.InvariantCulture),
                    "Double" => double.Parse(text, CultureInfo.InvariantCulture),
                    "Boolean" => text == "true",
                    "DateTime" => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                    "Guid" => Guid.Parse(text),
                    "Binary" => Convert.FromBase64String(text),
                    var other => throw new InvalidOperationException($"Unknown property type '{other}' in a backup line."),
                };
            }

            yield return entity;
        }
    }

    private sealed record CompleteRun(string Prefix, BackupManifest Manifest);
}

/// <summary>What one run copied: the day it belongs to, when it ran, whether it was the day's full copy, and each table.</summary>
public sealed record BackupManifest(string Day, DateTimeOffset At, bool Full, IReadOnlyList<TableCopy> Tables);

/// <summary>One table of a run: how many entities, and the newest storage Timestamp among them (the next run's start).</summary>
public sealed record TableCopy(string Name, int Entities, DateTimeOffset? Newest);

public sealed record BackupRun(string Prefix, BackupManifest Manifest);

public sealed record RestoreResult(IReadOnlyList<string> Runs, int Entities);

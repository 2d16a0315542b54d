using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Referral.Functions.Security;
using Referral.Functions.Storage;

namespace Referral.Functions.Audit;

/// <summary>What one access to patient data was, for the audit trail.</summary>
public sealed record AuditEntry
{
    public required Caller Caller { get; init; }

    /// <summary>The FHIR restful interaction: read, search-type, create, update or operation.</summary>
    public required string Interaction { get; init; }

    public required AuditEvent.AuditEventAction Action { get; init; }

    /// <summary>What was touched: <c>ServiceRequest/{id}</c>, or the resource type searched.</summary>
    public required string Entity { get; init; }

    /// <summary>The patient whose data it was, as <c>Patient/{id}</c>, where known.</summary>
    public string? Patient { get; init; }

    public required bool Success { get; init; }

    public string? SourceAddress { get; init; }

    /// <summary>The search's query where it read more than the entity (its includes): the AuditEvent's entity.query.</summary>
    public string? Query { get; init; }

    /// <summary>What <paramref name="caller"/> did in the request <paramref name="http"/> (its client's address goes with it).</summary>
    public static AuditEntry Of(
        HttpContext http, Caller caller, string interaction, AuditEvent.AuditEventAction action, string entity, string? patient, bool success) => new()
        {
            Caller = caller,
            Interaction = interaction,
            Action = action,
            Entity = entity,
            Patient = patient,
            Success = success,
            SourceAddress = http.Connection.RemoteIpAddress?.ToString(),
        };

    /// <summary>A search of <paramref name="resourceType"/> that <paramref name="caller"/> made and was answered.</summary>
    public static AuditEntry Search(Caller caller, string resourceType, HttpContext http, string? patient = null) =>
        Of(http, caller, "search-type", AuditEvent.AuditEventAction.R, resourceType, patient, success: true);
}

/// <summary>
/// Every read or write of patient data leaves a FHIR AuditEvent (who, what, when, from where). Patient data goes here,
/// never into the logs.
/// <para>
/// Group commit: a request's entry joins the entries other requests are recording at the same moment, and they are
/// written together, one entity-group transaction per batch (at most <see cref="MaxBatch"/> entries, at most
/// <see cref="MaxWritesInFlight"/> batches in flight, the next batch gathering meanwhile); each request waits for its
/// batch to be stored before it answers, so nothing it answered for is lost if the process dies, and a batch that fails
/// fails every request it carried. A batch goes to one partition: its day and one of <see cref="Shards"/> shards
/// (<c>yyyyMMdd-s</c>, chosen per batch), so no one partition takes the whole system's traffic. Row keys count down
/// with time, so a search merges a day's shards newest first (and reads the day's unsharded partition, <c>yyyyMMdd</c>,
/// where entries were written before the shards).
/// </para>
/// </summary>
public sealed class AuditTrail : IAsyncDisposable
{
    public const string TableName = "AuditEvents";

    /// <summary>How many partitions a day's entries are spread over.</summary>
    public const int Shards = 8;

    /// <summary>Table storage's limit of actions in one entity-group transaction.</summary>
    public const int MaxBatch = 100;

    public const int MaxWritesInFlight = 4;

    private static readonly FhirJsonSerializer Serializer = new();
    private static readonly FhirJsonDeserializer Deserializer = FhirJsonDeserializer.DEFAULT;

    private readonly StorageAccount storage;
    private readonly TimeProvider time;
    private readonly Channel<Pending> pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim writers = new(MaxWritesInFlight, MaxWritesInFlight);
    private readonly Task committing;

    public AuditTrail(StorageAccount storage, TimeProvider time)
    {
        this.storage = storage;
        this.time = time;
        committing = Task.Run(CommitAsync);
    }

    /// <summary>An entry waiting for its batch: the row, and the request waiting on it.</summary>
    private sealed record Pending(string Day, TableEntity Row)
    {
        public TaskCompletionSource Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var recorded = time.GetUtcNow();
        var id = Guid.NewGuid().ToString("D");
        var auditEvent = new AuditEvent
        {
            Id = id,
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"),
            Subtype = [new Coding("http://hl7.org/fhir/restful-interaction", entry.Interaction)],
            Action = entry.Action,
            Recorded = recorded,
            Outcome = entry.Success ? AuditEvent.AuditEventOutcome.N0 : AuditEvent.AuditEventOutcome.N4,
            Agent =
            [
                new AuditEvent.AgentComponent
                {
                    Who = entry.Caller.Kind is CallerKind.Admin or CallerKind.System or CallerKind.Ehr
                        ? new ResourceReference { Display = entry.Caller.Display }
                        : new ResourceReference(entry.Caller.Display),
                    Role = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-RoleClass", RoleCode(entry.Caller.Kind))],
                    Requestor = true,
                    Network = entry.SourceAddress is null ? null : new AuditEvent.NetworkComponent
                    {
                        Address = entry.SourceAddress,
                        Type = AuditEvent.AuditEventAgentNetworkType.N2,
                    },
                },
            ],
            Source = new AuditEvent.SourceComponent
            {
                Observer = new ResourceReference { Display = "Medical-massage referral functions" },
                Type = [new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
            },
            Entity = [new AuditEvent.EntityComponent { What = new ResourceReference(entry.Entity), Query = entry.Query is null ? null : Encoding.UTF8.GetBytes(entry.Query) }],
        };
        if (entry.Patient is not null)
        {
            auditEvent.Entity.Add(new AuditEvent.EntityComponent
            {
                What = new ResourceReference(entry.Patient),
                Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
            });
        }

        var waiting = new Pending(PartitionOf(recorded), new TableEntity("", RowKeyOf(recorded, id))
        {
            ["Patient"] = entry.Patient ?? "",
            ["Agent"] = entry.Caller.Display,
            ["Json"] = Serializer.SerializeToString(auditEvent),
        });
        if (!pending.Writer.TryWrite(waiting))
        {
            throw new ObjectDisposedException(nameof(AuditTrail), "The audit trail is shut down; the access cannot be recorded.");
        }

        // The write goes on if this request gives up waiting: an access that happened stays recorded.
        await waiting.Stored.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Takes whatever entries are waiting (up to <see cref="MaxBatch"/>) whenever a writer is free, and writes them,
    /// until the trail is disposed and every entry taken is written.
    /// </summary>
    private async Task CommitAsync()
    {
        var writes = new List<Task>();
        while (await pending.Reader.WaitToReadAsync())
        {
            await writers.WaitAsync();
            var batch = new List<Pending>(MaxBatch);
            while (batch.Count < MaxBatch && pending.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            writes.RemoveAll(w => w.IsCompleted);
            writes.Add(WriteAsync(batch));
        }

        await Task.WhenAll(writes);
    }

    /// <summary>One batch, one transaction per day it spans (one, but at midnight), into a shard of that day; then every waiting request is answered.</summary>
    private async Task WriteAsync(List<Pending> batch)
    {
        try
        {
            var shard = Random.Shared.Next(Shards).ToString(CultureInfo.InvariantCulture);
            await Task.WhenAll(batch.GroupBy(p => p.Day, StringComparer.Ordinal).Select(async day =>
            {
                try
                {
                    var table = await storage.TableAsync(TableName);
                    var rows = day.Select(p => p.Row).ToList();
                    foreach (var row in rows)
                    {
                        row.PartitionKey = $"{day.Key}-{shard}";
                    }

                    // One entry alone is one insert; more are one entity-group transaction (all stored, or none).
                    if (rows.Count == 1)
                    {
                        await table.AddEntityAsync(rows[0]);
                    }
                    else
                    {
                        await table.SubmitTransactionAsync(rows.Select(row => new TableTransactionAction(TableTransactionActionType.Add, row)));
                    }

                    foreach (var stored in day)
                    {
                        stored.Stored.TrySetResult();
                    }
                }
                catch (Exception e)
                {
                    foreach (var failed in day)
                    {
                        failed.Stored.TrySetException(e);
                    }
                }
            }));
        }
        finally
        {
            writers.Release();
        }
    }

    /// <summary>Writes what was taken before the end, then stops; an entry recorded after this fails.</summary>
    public async ValueTask DisposeAsync()
    {
        pending.Writer.TryComplete();
        await committing;
        writers.Dispose();
    }

    /// <summary>How many days one page of a search may look at, so a page over a long and quiet range stays cheap (it may come back short, with a next position).</summary>
    public const int DaysPerPage = 31;

    /// <summary>
    /// The audit trail of the days <paramref name="from"/> to <paramref name="to"/>, newest first, optionally narrowed to a
    /// patient or an agent: one page of at most <paramref name="count"/> events from <paramref name="position"/> (null: the
    /// start), and the position of the next page (null at the end). A day is its shards' partitions queried at once from
    /// the position's row key on, merged by row key (the newest first); the position is the day and the last row key served.
    /// </summary>
    public async Task<(IReadOnlyList<AuditEvent> Events, string? Next)> SearchAsync(
        DateOnly from, DateOnly to, string? patient, string? agent, int count, string? position, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName);
        var (day, after) = position is null ? (to, null) : ParsePosition(position) ?? (from.AddDays(-1), null);
        var rows = new List<TableEntity>(count);
        for (var queried = 0; day >= from && rows.Count < count && queried < DaysPerPage; queried++)
        {
            var partition = day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            var wanted = count - rows.Count;
            var shards = await Task.WhenAll(PartitionsOf(partition).Select(p => FirstRowsAsync(table, p, after, patient, agent, wanted, cancellationToken)));
            var found = shards.SelectMany(s => s).OrderBy(r => r.RowKey, StringComparer.Ordinal).Take(wanted).ToList();
            rows.AddRange(found);
            // More in this day when a shard held rows not served, or more than it was asked for: the next page goes on after the last served.
            if (shards.Any(s => s.More) || shards.Sum(s => s.Count) > found.Count)
            {
                after = found[^1].RowKey;
            }
            else
            {
                day = day.AddDays(-1);
                after = null;
            }
        }

        var events = rows.Select(row => Deserializer.Deserialize<AuditEvent>(row.GetString("Json"))).ToList();
        return (events, day >= from ? $"{day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}|{after}" : null);
    }

    /// <summary>A day's partitions: its shards, and the one entries were written to before there were shards.</summary>
    private static IEnumerable<string> PartitionsOf(string day) =>
        [day, .. Enumerable.Range(0, Shards).Select(shard => $"{day}-{shard.ToString(CultureInfo.InvariantCulture)}")];

    /// <summary>The first <paramref name="wanted"/> rows of one partition past <paramref name="after"/> that match, and whether it holds more.</summary>
    private static async Task<ShardRows> FirstRowsAsync(
        TableClient table, string partition, string? after, string? patient, string? agent, int wanted, CancellationToken cancellationToken)
    {
        // Every part made by CreateQueryFilter, so every value is escaped; only the fixed "and" joins them.
        var filter = string.Join(" and ", new[]
        {
            TableClient.CreateQueryFilter($"PartitionKey eq {partition}"),
            after is null ? null : TableClient.CreateQueryFilter($"RowKey gt {after}"),
            patient is null ? null : TableClient.CreateQueryFilter($"Patient eq {patient}"),
            agent is null ? null : TableClient.CreateQueryFilter($"Agent eq {agent}"),
        }.OfType<string>());
        var rows = new ShardRows();
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: wanted, select: ["RowKey", "Json"], cancellationToken: cancellationToken)
                           .AsPages(pageSizeHint: wanted).WithCancellation(cancellationToken))
        {
            // A filtered query may answer a short page with a continuation: go on until enough, or the end.
            rows.AddRange(page.Values);
            if (rows.Count >= wanted)
            {
                rows.More = rows.Count > wanted || page.ContinuationToken is not null;
                break;
            }
        }

        return rows;
    }

    private sealed class ShardRows : List<TableEntity>
    {
        public bool More { get; set; }
    }

    private static (DateOnly Day, string? After)? ParsePosition(string position)
    {
        var bar = position.IndexOf('|', StringComparison.Ordinal);
        return bar == 8 && DateOnly.TryParseExact(position[..8], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? (day, bar == position.Length - 1 ? null : position[(bar + 1)..])
            : null;
    }

    public static string PartitionOf(DateTimeOffset day) => day.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>Newest first within a day: the row key counts down as time goes on.</summary>
    private static string RowKeyOf(DateTimeOffset recorded, string id) =>
        $"{DateTimeOffset.MaxValue.UtcTicks - recorded.UtcTicks:D19}-{id}";

    private static string RoleCode(CallerKind kind) => kind switch
    {
        CallerKind.Physician => "PROV",
        CallerKind.Therapist => "PROV",
        _ => "EMP",
    };
}

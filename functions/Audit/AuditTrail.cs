using System.Globalization;
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
}

/// <summary>
/// Every read or write of patient data leaves a FHIR AuditEvent (who, what, when, from where), stored per day
/// so an administrator's query is one partition. Patient data goes here, never into the logs.
/// </summary>
public sealed class AuditTrail(StorageAccount storage, TimeProvider time)
{
    public const string TableName = "AuditEvents";

    private static readonly FhirJsonSerializer Serializer = new();
    private static readonly FhirJsonDeserializer Deserializer = FhirJsonDeserializer.DEFAULT;

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
            Entity = [new AuditEvent.EntityComponent { What = new ResourceReference(entry.Entity) }],
        };
        if (entry.Patient is not null)
        {
            auditEvent.Entity.Add(new AuditEvent.EntityComponent
            {
                What = new ResourceReference(entry.Patient),
                Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
            });
        }

        var table = await storage.TableAsync(TableName);
        await table.AddEntityAsync(new TableEntity(PartitionOf(recorded), RowKeyOf(recorded, id))
        {
            ["Patient"] = entry.Patient ?? "",
            ["Agent"] = entry.Caller.Display,
            ["Json"] = Serializer.SerializeToString(auditEvent),
        }, cancellationToken);
    }

    /// <summary>How many days one page of a search may look at, so a page over a long and quiet range stays cheap (it may come back short, with a next position).</summary>
    public const int DaysPerPage = 31;

    /// <summary>
    /// The audit trail of the days <paramref name="from"/> to <paramref name="to"/>, newest first, optionally narrowed to a
    /// patient or an agent: one page of at most <paramref name="count"/> events from <paramref name="position"/> (null: the
    /// start), each day one partition query, and the position of the next page (null at the end).
    /// </summary>
    public async Task<(IReadOnlyList<AuditEvent> Events, string? Next)> SearchAsync(
        DateOnly from, DateOnly to, string? patient, string? agent, int count, string? position, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName);
        var (day, continuation) = position is null ? (to, null) : ParsePosition(position) ?? (from.AddDays(-1), null);
        var events = new List<AuditEvent>(count);
        for (var queried = 0; day >= from && events.Count < count && queried < DaysPerPage; queried++)
        {
            var partition = day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            var filter = (patient, agent) switch
            {
                (null, null) => TableClient.CreateQueryFilter($"PartitionKey eq {partition}"),
                (not null, null) => TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Patient eq {patient}"),
                (null, not null) => TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Agent eq {agent}"),
                _ => TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Patient eq {patient} and Agent eq {agent}"),
            };
            var wanted = count - events.Count;
            string? next = null;
            await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: wanted, select: ["Json"], cancellationToken: cancellationToken)
                               .AsPages(continuation, wanted).WithCancellation(cancellationToken))
            {
                events.AddRange(page.Values.Select(row => Deserializer.Deserialize<AuditEvent>(row.GetString("Json"))));
                next = page.ContinuationToken;
                break;
            }

            if (next is not null)
            {
                continuation = next;
            }
            else
            {
                day = day.AddDays(-1);
                continuation = null;
            }
        }

        return (events, day >= from ? $"{day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}|{continuation}" : null);
    }

    private static (DateOnly Day, string? Continuation)? ParsePosition(string position)
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

using System.Globalization;
using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Referral.Functions.Security;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Functions.Referrals;

/// <summary>One version of a referral's Task as it was stored.</summary>
public sealed record TaskVersion(FhirTask Task, int Version);

/// <summary>A page of a Task's versions, newest first, and the version the next page starts at (null on the last page).</summary>
public sealed record TaskHistoryPage(IReadOnlyList<TaskVersion> Versions, int? Next);

/// <summary>
/// The referral's status history: every version of its Task, each the row <c>hist|{key}|{inverted version}</c> in the
/// referral's partition (the therapist's), holding the Task as stored at that version: status, business status,
/// reasons, outputs, <c>meta.versionId</c> and <c>lastUpdated</c>, and who made the change (<see cref="ChangedByExtension"/>).
/// Each row is added in the very transaction that makes its version (no extra round trip), so the history and the
/// Task never disagree. The version is inverted (<c>int.MaxValue - version</c>, ten digits) so a range query reads
/// newest first. Referrals stored before history rows were kept have rows only for their later versions (or none).
/// </summary>
public sealed partial class ReferralStore
{
    /// <summary>On each stored Task: who made this version (the physician's Practitioner, the therapist's PractitionerRole, or the app by name).</summary>
    public const string ChangedByExtension = Referral.Model.Canonicals.Base + "/StructureDefinition/task-changed-by";

    private const string HistoryPrefix = "hist|";

    /// <summary>A page of the Task's versions, newest first, from <paramref name="from"/> (a version) down: one partition range query.</summary>
    public async Task<TaskHistoryPage> HistoryAsync(string id, int from, int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (Parse(id) is not var (owner, key) || from < 1)
        {
            return new TaskHistoryPage([], null);
        }

        var table = await storage.TableAsync(TableName);
        var start = HistoryRowKey(key, from);
        var end = $"{HistoryPrefix}{key}}}";
        var versions = new List<TaskVersion>(count + 1);
        // One more than the page, to know whether another page follows.
        await foreach (var row in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey ge {start} and RowKey lt {end}"),
                           maxPerPage: count + 1, select: ["Json", "Version"], cancellationToken: cancellationToken))
        {
            versions.Add(new TaskVersion(Deserializer.Deserialize<FhirTask>(row.GetString("Json")), row.GetInt32("Version") ?? 0));
            if (versions.Count > count)
            {
                break;
            }
        }

        return versions.Count > count
            ? new TaskHistoryPage(versions[..count], versions[count].Version)
            : new TaskHistoryPage(versions, null);
    }

    /// <summary>One version of the Task as it was stored, or null when no row keeps it: one point read.</summary>
    public async Task<FhirTask?> TaskVersionAsync(string id, int version, CancellationToken cancellationToken)
    {
        if (Parse(id) is not var (owner, key) || version < 1)
        {
            return null;
        }

        var table = await storage.TableAsync(TableName);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(owner, HistoryRowKey(key, version), select: ["Json"], cancellationToken: cancellationToken);
        return row.HasValue ? Deserializer.Deserialize<FhirTask>(row.Value!.GetString("Json")) : null;
    }

    private static string HistoryRowKey(string key, int version) =>
        $"{HistoryPrefix}{key}|{(int.MaxValue - version).ToString("D10", CultureInfo.InvariantCulture)}";

    private static TableEntity HistoryEntity(string owner, string key, FhirTask task, int version, DateTimeOffset now) => new(owner, HistoryRowKey(key, version))
    {
        ["Json"] = Serializer.SerializeToString(task),
        ["Version"] = version,
        ["Date"] = now,
    };

    /// <summary>Who made a change, as the Task's <see cref="ChangedByExtension"/> names them.</summary>
    private static ResourceReference ChangedBy(Caller actor) => actor.Kind switch
    {
        CallerKind.Physician => new ResourceReference(actor.Id),
        CallerKind.Therapist => new ResourceReference(actor.Display),
        _ => new ResourceReference { Display = actor.Display },
    };
}

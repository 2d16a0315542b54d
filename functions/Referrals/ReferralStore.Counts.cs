using Azure;
using Azure.Data.Tables;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Functions.Referrals;

/// <summary>
/// The status index that counts an inbox without reading it: for each referral one key-only row
/// <c>status|{Task status}|{key}</c> in its therapist's partition, added with the referral and moved (the old one
/// deleted, the new one written) in the very transaction that changes the Task's status, so it never disagrees with the
/// Task. The Task row names its status row (<c>StatusRow</c>), so a change knows what to delete without reading it.
/// A count of some statuses reads only the keys of those statuses' rows, never the inbox rows (the Task JSON).
/// Referrals stored before the index were kept are indexed once per partition, at the first count there: then the
/// marker row <c>status|</c> is written, and later counts trust the index.
/// </summary>
public sealed partial class ReferralStore
{
    private const string StatusPrefix = "status|";

    /// <summary>Written once a partition's referrals are all in the status index.</summary>
    private const string StatusIndexMarker = StatusPrefix;

    private const string StatusEnd = "status}";

    private static string StatusRowKey(FhirTask.TaskStatus? status, string key) => $"{StatusPrefix}{Code(status)}|{key}";

    /// <summary>The actions that move a referral's status row from what the Task row names to <paramref name="statusRow"/>; none when they are the same.</summary>
    private static IEnumerable<TableTransactionAction> StatusActions(string owner, string? current, string statusRow)
    {
        if (current == statusRow)
        {
            yield break;
        }

        if (current is not null)
        {
            yield return new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(owner, current), ETag.All);
        }

        yield return new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(owner, statusRow));
    }

    /// <summary>
    /// How many Tasks a therapist has (of any of <paramref name="statuses"/>, or all when empty): key-only range queries of
    /// the status index, one per status, at the same time as the point read of the partition's index marker.
    /// </summary>
    public async Task<int> CountAsync(string owner, IReadOnlyCollection<FhirTask.TaskStatus> statuses, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        var table = await storage.TableAsync(TableName);
        var marker = table.GetEntityIfExistsAsync<TableEntity>(owner, StatusIndexMarker, select: ["RowKey"], cancellationToken: cancellationToken);
        var counting = CountIndexedAsync(table, owner, statuses, cancellationToken);
        if ((await marker).HasValue)
        {
            return await counting;
        }

        await counting;
        await IndexStatusesAsync(table, owner, cancellationToken);
        return await CountIndexedAsync(table, owner, statuses, cancellationToken);
    }

    private static async Task<int> CountIndexedAsync(TableClient table, string owner, IReadOnlyCollection<FhirTask.TaskStatus> statuses, CancellationToken cancellationToken)
    {
        // Every status row lies past the marker ("status|" itself) and before "status}".
        IEnumerable<(string From, string To)> ranges = statuses.Count == 0
            ? [(StatusIndexMarker, StatusEnd)]
            : statuses.Distinct().Select(status => ($"{StatusPrefix}{Code<FhirTask.TaskStatus>(status)}|", $"{StatusPrefix}{Code<FhirTask.TaskStatus>(status)}}}"));
        var counts = await Task.WhenAll(ranges.Select(async range =>
        {
            var count = 0;
            await foreach (var _ in table.QueryAsync<TableEntity>(
                               TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {range.From} and RowKey lt {range.To}"),
                               select: ["RowKey"], cancellationToken: cancellationToken))
            {
                count++;
            }

            return count;
        }));
        return counts.Sum();
    }

    /// <summary>
    /// Puts every referral of the partition that has no status row yet (stored before the index) into the index, each in a
    /// transaction guarded by its Task row's ETag (a change made meanwhile indexed it itself), then writes the marker.
    /// </summary>
    private static async Task IndexStatusesAsync(TableClient table, string owner, CancellationToken cancellationToken)
    {
        await foreach (var row in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {TaskPrefix} and RowKey lt {TaskEnd}"),
                           select: ["RowKey", "Status", "StatusRow"], cancellationToken: cancellationToken))
        {
            if (row.GetString("StatusRow") is not null)
            {
                continue;
            }

            var statusRow = $"{StatusPrefix}{row.GetString("Status")}|{row.RowKey[TaskPrefix.Length..]}";
            try
            {
                await table.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(owner, row.RowKey) { ["StatusRow"] = statusRow }, row.ETag),
                    new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(owner, statusRow)),
                ], cancellationToken);
            }
            catch (TableTransactionFailedException e) when (e.Status is StatusCodes.Status412PreconditionFailed or StatusCodes.Status404NotFound)
            {
                // Changed since the scan: that change wrote its own status row.
            }
        }

        await table.UpsertEntityAsync(new TableEntity(owner, StatusIndexMarker), TableUpdateMode.Replace, cancellationToken);
    }
}

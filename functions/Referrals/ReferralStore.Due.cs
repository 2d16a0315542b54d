using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Functions.Referrals;

/// <summary>
/// The due index the reminder timer reads instead of a therapist's whole partition: key-only rows in the referral's
/// partition, ordered by the time they fall due, each there exactly while its reminder can be due, and moved in the very
/// transaction that changes what they follow (the Task's state, the prescription's validity):
/// <list type="bullet">
/// <item><c>due|waiting|{sent, UTC ticks}|{key}</c>: the referral waits for its therapist's answer (the Task is new,
/// the ServiceRequest active), since it was sent;</item>
/// <item><c>due|expires|{last valid day, yyyyMMdd}|{key}</c>: the referral is open and its prescription valid until that day.</item>
/// </list>
/// The Task row names its due rows (<c>DueRows</c>), so a change knows which to delete without reading them. A timer run
/// reads, per therapist, the waiting rows sent long enough ago and the expiry rows of the coming days: only what is due.
/// A partition stored before the index is indexed once, at the timer's first run there; then the marker <c>due|</c> is written.
/// </summary>
public sealed partial class ReferralStore
{
    private const string DuePrefix = "due|";
    private const string DueIndexMarker = DuePrefix;
    private const string WaitingPrefix = "due|waiting|";
    private const string ExpiresPrefix = "due|expires|";
    private const string DueRowsColumn = "DueRows";

    /// <summary>The due rows a referral has as <paramref name="task"/> and <paramref name="request"/> stand, space-separated (empty: none).</summary>
    private static string DueRowsOf(string key, FhirTask task, ServiceRequest request)
    {
        var rows = new List<string>(2);
        var summary = ReferralSummary.Of(request, task);
        if (request.Status == RequestStatus.Active && summary.State is { } open && !summary.IsClosed)
        {
            if (open == ReferralTaskState.Created && summary.Sent is { } sent)
            {
                rows.Add($"{WaitingPrefix}{sent.UtcTicks.ToString("D19", CultureInfo.InvariantCulture)}|{key}");
            }

            if (summary.ValidUntil is { } validUntil)
            {
                rows.Add($"{ExpiresPrefix}{validUntil.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}|{key}");
            }
        }

        return string.Join(' ', rows);
    }

    /// <summary>The actions that move a referral's due rows from <paramref name="current"/> (null: never indexed) to <paramref name="wanted"/>.</summary>
    private static IEnumerable<TableTransactionAction> DueActions(string owner, string? current, string wanted)
    {
        if (current == wanted)
        {
            return [];
        }

        var before = (current ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var after = wanted.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return
        [
            .. before.Except(after, StringComparer.Ordinal).Select(row => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(owner, row), ETag.All)),
            .. after.Except(before, StringComparer.Ordinal).Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(owner, row))),
        ];
    }

    /// <summary>
    /// The ids of a therapist's referrals that may be due: waiting since <paramref name="waitingSince"/> or before, or valid
    /// until a day from <paramref name="expiringFrom"/> to <paramref name="expiringTo"/>; the caller checks each against its
    /// rules. Null when the partition is not indexed yet (<see cref="IndexDueAsync"/>). Three requests, at once: the
    /// marker's point read and two key-only range queries.
    /// </summary>
    public async Task<IReadOnlyList<string>?> DueAsync(
        string owner, DateTimeOffset waitingSince, DateOnly expiringFrom, DateOnly expiringTo, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName);
        var marker = table.GetEntityIfExistsAsync<TableEntity>(owner, DueIndexMarker, select: ["RowKey"], cancellationToken: cancellationToken);
        var waiting = KeysAsync(table, owner, WaitingPrefix, $"{WaitingPrefix}{waitingSince.UtcTicks.ToString("D19", CultureInfo.InvariantCulture)}}}", cancellationToken);
        var expiring = KeysAsync(table, owner,
            $"{ExpiresPrefix}{expiringFrom.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}",
            $"{ExpiresPrefix}{expiringTo.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}}}", cancellationToken);
        if (!(await marker).HasValue)
        {
            await Task.WhenAll(waiting, expiring);
            return null;
        }

        return [.. (await waiting).Concat(await expiring).Select(row => $"{owner}.{row[(row.LastIndexOf('|') + 1)..]}").Distinct(StringComparer.Ordinal)];
    }

    private static async Task<List<string>> KeysAsync(TableClient table, string owner, string from, string to, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {from} and RowKey lt {to}"),
                           select: ["RowKey"], cancellationToken: cancellationToken))
        {
            keys.Add(row.RowKey);
        }

        return keys;
    }

    /// <summary>
    /// Puts every referral of the partition stored before the due index into it, each in a transaction guarded by its Task
    /// row's ETag (a change made meanwhile indexed it itself), then writes the marker: once per partition, a whole read.
    /// </summary>
    public async Task IndexDueAsync(string owner, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName);
        foreach (var referral in await ForOwnerAsync(owner, cancellationToken))
        {
            if (referral.DueRows is not null)
            {
                continue;
            }

            var (_, key) = Parse(referral.Id)!.Value;
            var wanted = DueRowsOf(key, referral.Task, referral.Request);
            try
            {
                await table.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(owner, TaskPrefix + key) { [DueRowsColumn] = wanted }, referral.TaskETag),
                    .. DueActions(owner, null, wanted),
                ], cancellationToken);
            }
            catch (TableTransactionFailedException e) when (e.Status is StatusCodes.Status412PreconditionFailed or StatusCodes.Status404NotFound)
            {
                // Changed since the read: that change wrote its own due rows.
            }
        }

        await table.UpsertEntityAsync(new TableEntity(owner, DueIndexMarker), TableUpdateMode.Replace, cancellationToken);
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Referral.Functions.Storage;

namespace Referral.Functions.Security;

/// <summary>
/// The <c>jti</c> of every per-call physician token accepted so far, in the app's storage account so that every
/// instance shares it: a row keyed by the jti is inserted, and an insert that conflicts means the token was already
/// used. Rows are partitioned by the hour their token expires in (a replayed token has the same signed expiry, so
/// the same partition); once an hour has passed (and the allowed clock skew with it), every token in it is refused
/// for its lifetime anyway, and <see cref="PurgeExpiredAsync"/> deletes the partition.
/// </summary>
public sealed class TokenReplayCache(StorageAccount storage)
{
    public const string TableName = "TokenReplay";

    /// <summary>
    /// The clock skew the API allows a physician token (<c>ApiAuthentication.ClockSkew</c>): a row is purged only once
    /// its token is past its expiry by more than this. Here, so the worker's purge reads the same value.
    /// </summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    /// <summary>Records the jti as used; false when it was used before (a replay).</summary>
    public async Task<bool> TryUseAsync(string jti, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jti);
        // Hashed: the jti is the caller's text, and table keys may not hold every character.
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(jti)));
        var table = await storage.TableAsync(TableName);
        try
        {
            await table.AddEntityAsync(new TableEntity(HourOf(expires), key) { ["ExpiresAt"] = expires }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <summary>
    /// Deletes the rows of every token that expired before <paramref name="before"/>'s hour began: those tokens are
    /// refused by their expiry now, so their rows guard nothing. Returns the number of rows deleted. A timer's work
    /// (it reads the expired partitions, never a request).
    /// </summary>
    public async Task<int> PurgeExpiredAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName);
        var filter = TableClient.CreateQueryFilter($"PartitionKey lt {HourOf(before)}");
        var deleted = 0;
        var batch = new List<TableTransactionAction>();
        await foreach (var row in table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            // A transaction holds one partition and at most 100 actions.
            if (batch.Count == 100 || (batch.Count > 0 && batch[0].Entity.PartitionKey != row.PartitionKey))
            {
                deleted += await DeleteAsync(table, batch, cancellationToken);
            }

            batch.Add(new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All));
        }

        return deleted + await DeleteAsync(table, batch, cancellationToken);
    }

    private static async Task<int> DeleteAsync(TableClient table, List<TableTransactionAction> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return 0;
        }

        await table.SubmitTransactionAsync(batch, cancellationToken);
        var count = batch.Count;
        batch.Clear();
        return count;
    }

    /// <summary>The partition of a token expiring at <paramref name="expires"/>: its UTC hour, sortable.</summary>
    private static string HourOf(DateTimeOffset expires) =>
        expires.UtcDateTime.ToString("'exp-'yyyyMMddHH", CultureInfo.InvariantCulture);
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Model;
using Referral.Functions.Security;
using Referral.Model.Fhir;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Functions.Referrals;

/// <summary>
/// The request that recorded a session, found by its idempotency key: the session it made, the hash of its canonical
/// body, and the Task version (as an ETag) it was applied to.
/// </summary>
public sealed record SessionRequest(int Session, string BodyHash, string BaseETag);

/// <summary>A session result as stored: the resource, the session it belongs to, and where the EHR keeps its copy.</summary>
public sealed record StoredResult<T>(T Resource, string RowKey, int Session, DateTimeOffset Date, ETag ETag, string? EhrId)
    where T : Resource;

/// <summary>
/// Session results and background-work state, in the referral's own partition beside its ServiceRequest and Task:
/// <list type="bullet">
/// <item><c>proc|{key}|{session}</c>: a session's Procedure; <c>obs|{key}|{session}|{n}</c>: its Observations;</item>
/// <item><c>req|{key}|{hash of the idempotency key}</c>: the request that recorded a session, so the same request sent
/// again is recognised (and a key reused for other content is not mistaken for it);</item>
/// <item><c>mail|{key}|{hash of the Message-Id}</c>: one notification message claimed, then sent, so two deliveries
/// of one event at once send it once;</item>
/// <item><c>work|{key}</c>: what the queue and timer functions have done for the referral (who was told, what the EHR
/// holds), so a redelivered message or the next timer run does not do it twice.</item>
/// </list>
/// A session is one table transaction with the Task's change and its history row, so it is stored whole or not at all.
/// </summary>
public sealed partial class ReferralStore
{
    private const string ProcedurePrefix = "proc|";
    private const string ObservationPrefix = "obs|";
    private const string WorkPrefix = "work|";
    private const string RequestKeyPrefix = "req|";
    private const string MailPrefix = "mail|";

    /// <summary>
    /// Stores a recorded session (its Procedure and Observations) and the Task it changed in one transaction, only if
    /// nobody changed the Task since <paramref name="current"/> was read; null when someone did.
    /// </summary>
    /// <remarks>
    /// The request's idempotency key is stored in the same transaction (a <c>req|</c> row, added: a second request
    /// with the same key fails the whole transaction), with <paramref name="request"/>'s body hash and base ETag.
    /// </remarks>
    public async Task<StoredReferral?> RecordSessionAsync(
        StoredReferral current, FhirTask task, int session, Procedure procedure, IReadOnlyList<Observation> observations,
        string idempotencyKey, SessionRequest request, Caller actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(procedure);
        ArgumentNullException.ThrowIfNull(observations);
        var table = await storage.TableAsync(TableName);
        var (_, key) = Parse(current.Id)!.Value;
        var version = current.Version + 1;
        Stamp(null, task, version, actor, now);
        var sessionKey = session.ToString("D3", CultureInfo.InvariantCulture);

        var actions = TaskActions(current, key, task, version, current.Request, Serializer.SerializeToString(current.Request), now);
        actions.Add(new TableTransactionAction(TableTransactionActionType.Add,
            ResultEntity(current.Owner, $"{ProcedurePrefix}{key}|{sessionKey}", procedure, session, StartOf(procedure), now)));
        actions.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(current.Owner, RequestRowKey(key, idempotencyKey))
        {
            ["Session"] = session,
            ["BodyHash"] = request.BodyHash,
            ["BaseETag"] = request.BaseETag,
            ["Date"] = now,
        }));
        for (var i = 0; i < observations.Count; i++)
        {
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, ResultEntity(
                current.Owner, $"{ObservationPrefix}{key}|{sessionKey}|{i.ToString("D2", CultureInfo.InvariantCulture)}",
                observations[i], session, EffectiveOf(observations[i]), now)));
        }

        return await TryChangeAsync(table, actions, cancellationToken) is { } written ? Changed(current, task, null, version, written) : null;
    }

    /// <summary>The request stored under an idempotency key for a referral's sessions, or null: one point read.</summary>
    public async Task<SessionRequest?> SessionRequestAsync(string id, string idempotencyKey, CancellationToken cancellationToken)
    {
        if (Parse(id) is not var (owner, key))
        {
            return null;
        }

        var table = await storage.TableAsync(TableName);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(owner, RequestRowKey(key, idempotencyKey), cancellationToken: cancellationToken);
        return row.HasValue
            ? new SessionRequest(row.Value!.GetInt32("Session") ?? 0, row.Value.GetString("BodyHash") ?? "", row.Value.GetString("BaseETag") ?? "")
            : null;
    }

    /// <summary>The key is the client's (any text) or a hash: hashed again, it is always a valid, fixed-length row key.</summary>
    private static string RequestRowKey(string key, string idempotencyKey) =>
        $"{RequestKeyPrefix}{key}|{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))}";

    /// <summary>A referral's session Procedures, first session first: one partition range query.</summary>
    public Task<IReadOnlyList<StoredResult<Procedure>>> ProceduresAsync(string id, CancellationToken cancellationToken) =>
        ResultsAsync<Procedure>(id, ProcedurePrefix, null, cancellationToken);

    /// <summary>A referral's Observations (of one session, or all), in the order they were recorded: one partition range query.</summary>
    public Task<IReadOnlyList<StoredResult<Observation>>> ObservationsAsync(string id, int? session, CancellationToken cancellationToken) =>
        ResultsAsync<Observation>(id, ObservationPrefix, session, cancellationToken);

    /// <summary>
    /// Notes the id the EHR gave its copy of an Observation, so a redelivered write-back does not post it again.
    /// False when the row changed since it was read (another delivery got there first).
    /// </summary>
    public async Task<bool> MarkWrittenBackAsync(string owner, StoredResult<Observation> result, string ehrId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        var table = await storage.TableAsync(TableName);
        try
        {
            await table.UpdateEntityAsync(new TableEntity(owner, result.RowKey) { ["EhrId"] = ehrId }, result.ETag, TableUpdateMode.Merge, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is StatusCodes.Status412PreconditionFailed or StatusCodes.Status404NotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// Claims the sending of one notification message (by its Message-Id) before it is sent: an insert, so of two
    /// deliveries of one event at once only one wins. A claim never marked sent (its sender died) may be taken over
    /// once it is older than <paramref name="lease"/>, guarded by its ETag so only one taker wins that too.
    /// </summary>
    public async Task<SendClaim> ClaimSendAsync(string id, string messageId, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        var (owner, key) = Parse(id) ?? throw new ArgumentException("Not a referral id.", nameof(id));
        var table = await storage.TableAsync(TableName);
        var rowKey = MailRowKey(key, messageId);
        try
        {
            await table.AddEntityAsync(new TableEntity(owner, rowKey) { ["State"] = "claimed", ["Claimed"] = now }, cancellationToken);
            return SendClaim.Won;
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status409Conflict)
        {
        }

        var existing = await table.GetEntityIfExistsAsync<TableEntity>(owner, rowKey, cancellationToken: cancellationToken);
        if (!existing.HasValue)
        {
            return SendClaim.Sending;
        }

        var row = existing.Value!;
        if (row.GetString("State") == "sent")
        {
            return SendClaim.AlreadySent;
        }

        if (now - (row.GetDateTimeOffset("Claimed") ?? DateTimeOffset.MinValue) < lease)
        {
            return SendClaim.Sending;
        }

        try
        {
            await table.UpdateEntityAsync(new TableEntity(owner, rowKey) { ["State"] = "claimed", ["Claimed"] = now }, row.ETag, TableUpdateMode.Replace, cancellationToken);
            return SendClaim.Won;
        }
        catch (RequestFailedException e) when (e.Status is StatusCodes.Status412PreconditionFailed or StatusCodes.Status404NotFound)
        {
            return SendClaim.Sending;
        }
    }

    /// <summary>Marks a claimed message as sent: no later delivery sends it again.</summary>
    public async Task MarkSentAsync(string id, string messageId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (owner, key) = Parse(id) ?? throw new ArgumentException("Not a referral id.", nameof(id));
        var table = await storage.TableAsync(TableName);
        await table.UpsertEntityAsync(new TableEntity(owner, MailRowKey(key, messageId)) { ["State"] = "sent", ["Sent"] = now }, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Gives up a claim whose send failed, so the retry of the delivery sends it.</summary>
    public async Task ReleaseSendAsync(string id, string messageId, CancellationToken cancellationToken)
    {
        var (owner, key) = Parse(id) ?? throw new ArgumentException("Not a referral id.", nameof(id));
        var table = await storage.TableAsync(TableName);
        await table.DeleteEntityAsync(owner, MailRowKey(key, messageId), ETag.All, cancellationToken);
    }

    private static string MailRowKey(string key, string messageId) =>
        $"{MailPrefix}{key}|{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(messageId)))}";

    /// <summary>What the background functions have done for a referral; empty when nothing yet.</summary>
    public async Task<ReferralWork> WorkAsync(string id, CancellationToken cancellationToken)
    {
        if (Parse(id) is not var (owner, key))
        {
            return ReferralWork.None;
        }

        var table = await storage.TableAsync(TableName);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(owner, WorkPrefix + key, cancellationToken: cancellationToken);
        return row.HasValue ? new ReferralWork(row.Value!) : ReferralWork.None;
    }

    /// <summary>The work state of every referral of one therapist, by referral id: one partition range query.</summary>
    public async Task<IReadOnlyDictionary<string, ReferralWork>> WorkForOwnerAsync(string owner, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName);
        var work = new Dictionary<string, ReferralWork>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {WorkPrefix} and RowKey lt {WorkEnd}"),
                           cancellationToken: cancellationToken))
        {
            work[$"{owner}.{row.RowKey[WorkPrefix.Length..]}"] = new ReferralWork(row);
        }

        return work;
    }

    /// <summary>Records one fact of background work. A merge touches only this property, so concurrent facts never clash.</summary>
    public async Task MarkWorkAsync(string id, string property, object value, CancellationToken cancellationToken)
    {
        var (owner, key) = Parse(id) ?? throw new ArgumentException("Not a referral id.", nameof(id));
        var table = await storage.TableAsync(TableName);
        await table.UpsertEntityAsync(new TableEntity(owner, WorkPrefix + key) { [property] = value }, TableUpdateMode.Merge, cancellationToken);
    }

    private const string ObservationEnd = "obs}";
    private const string ProcedureEnd = "proc}";
    private const string WorkEnd = "work}";

    private async Task<IReadOnlyList<StoredResult<T>>> ResultsAsync<T>(string id, string prefix, int? session, CancellationToken cancellationToken)
        where T : Resource
    {
        if (Parse(id) is not var (owner, key))
        {
            return [];
        }

        var table = await storage.TableAsync(TableName);
        var from = session is null ? $"{prefix}{key}|" : $"{prefix}{key}|{session.Value.ToString("D3", CultureInfo.InvariantCulture)}|";
        // '}' sorts after '|', so this closes the range just past every row of the referral (or session).
        var to = from[..^1] + "}";
        var results = new List<StoredResult<T>>();
        await foreach (var row in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {from} and RowKey lt {to}"),
                           cancellationToken: cancellationToken))
        {
            results.Add(new StoredResult<T>(
                Deserializer.Deserialize<T>(row.GetString("Json")),
                row.RowKey,
                row.GetInt32("Session") ?? 0,
                row.GetDateTimeOffset("Date") ?? DateTimeOffset.MinValue,
                row.ETag,
                row.GetString("EhrId")));
        }

        return results;
    }

    private static TableEntity ResultEntity(string owner, string rowKey, Resource resource, int session, DateTimeOffset date, DateTimeOffset now)
    {
        resource.Meta ??= new Meta();
        resource.Meta.VersionId = "1";
        resource.Meta.LastUpdated = now;
        return new TableEntity(owner, rowKey)
        {
            ["Json"] = Serializer.SerializeToString(resource),
            ["Session"] = session,
            ["Date"] = date,
        };
    }

    private static DateTimeOffset StartOf(Procedure procedure) =>
        FhirTime.TryDateTime((procedure.Performed as Period)?.Start, out var start) ? start : DateTimeOffset.MinValue;

    private static DateTimeOffset EffectiveOf(Observation observation) =>
        FhirTime.TryDateTime((observation.Effective as FhirDateTime)?.Value, out var effective) ? effective : DateTimeOffset.MinValue;
}

/// <summary>Who sends a notification message: this delivery, nobody (it was sent), or another delivery sending it now.</summary>
public enum SendClaim
{
    Won,
    AlreadySent,
    Sending,
}

/// <summary>The facts the background functions recorded for one referral (the <c>work|</c> row).</summary>
public sealed class ReferralWork(TableEntity? row)
{
    public static ReferralWork None { get; } = new(null);

    public bool Has(string property) => row?.ContainsKey(property) == true;

    public string? Text(string property) => row?.GetString(property);

    public bool Flag(string property) => row?.GetBoolean(property) == true;

    public DateTimeOffset? Time(string property) => row?.GetDateTimeOffset(property);
}

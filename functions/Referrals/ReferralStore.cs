using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Referral.Functions.Security;
using Referral.Functions.Storage;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Functions.Referrals;

/// <summary>
/// A referral as stored: the ServiceRequest, its Task, and the version a change must name (the Task row's ETag; the
/// ServiceRequest row changes only in a transaction with the Task row, so that ETag guards both).
/// </summary>
public sealed record StoredReferral
{
    public required string Id { get; init; }

    public required string Owner { get; init; }

    /// <summary>The EHR (FHIR base) the referral came from: its patient and requester ids belong to it.</summary>
    public required string Ehr { get; init; }

    public required ServiceRequest Request { get; init; }

    public required FhirTask Task { get; init; }

    /// <summary>Bumped on every change of the Task; clients send it back in If-Match.</summary>
    public required int Version { get; init; }

    public required ETag TaskETag { get; init; }

    public required string InboxRow { get; init; }

    /// <summary>The referral's row in the status index (ReferralStore.Counts.cs); null for one stored before the index was kept and not yet indexed.</summary>
    public string? StatusRow { get; init; }

    /// <summary>The referral's rows in the due index (ReferralStore.Due.cs), space-separated; null for one stored before the index was kept and not yet indexed.</summary>
    public string? DueRows { get; init; }
}

public enum SubmitOutcome
{
    Created,

    /// <summary>A retry: the same placer identifier was already stored, and this is the original.</summary>
    Existing,
}

/// <summary>A page of an inbox: the Tasks, newest first; when asked for, their ServiceRequests (one per Task found); the next page's position.</summary>
public sealed record InboxPage(IReadOnlyList<FhirTask> Tasks, IReadOnlyList<ServiceRequest> Requests, string? Continuation);

/// <summary>
/// Referrals in Azure Table Storage (DESIGN.md §5). Everything about one referral lives in its therapist's
/// partition, so each user action is one table transaction and the inbox is one partition range query:
/// <list type="bullet">
/// <item><c>sr|{key}</c>: the ServiceRequest; <c>task|{key}</c>: its Task (the row a change's ETag guards);</item>
/// <item><c>inbox|{inverted time}|{key}</c>: the Task again, ordered newest first for the inbox, with its ServiceRequest
/// (<c>RequestJson</c>) so a page of the inbox with <c>_include=Task:focus</c> is one range query; both are rewritten in
/// every transaction that changes either (rows written before they carried the ServiceRequest are point-read for it);</item>
/// <item><c>status|{Task status}|{key}</c>: a key-only row per referral, so the inbox is counted without reading it (ReferralStore.Counts.cs);</item>
/// <item><c>hist|{key}|{inverted version}</c>: each version of the Task as it was stored, newest first (the
/// referral's status history), added in the transaction that makes that version.</item>
/// </list>
/// The id is <c>{therapist id}.{key}</c>, the key a hash of the EHR and the placer identifier, so a read by id
/// needs no index and a retried submit lands on the row it wrote the first time. Search by patient and by
/// requester goes through pointer rows in a second table, written beside the transaction; a pointer whose
/// referral is missing is skipped, so a failed submit leaves nothing a reader can see.
/// </summary>
public sealed partial class ReferralStore(StorageAccount storage)
{
    public const string TableName = "Referrals";
    public const string IndexTableName = "ReferralIndex";

    private const string RequestPrefix = "sr|";
    private const string TaskPrefix = "task|";
    private const string InboxPrefix = "inbox|";

    private static readonly FhirJsonSerializer Serializer = new();
    private static readonly FhirJsonDeserializer Deserializer = FhirJsonDeserializer.DEFAULT;

    /// <summary>The referral's id, from where it goes and what identifies it: the same inputs always give the same id.</summary>
    public static string IdFor(string owner, string ehr, Identifier placer)
    {
        ArgumentNullException.ThrowIfNull(placer);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{ehr}\n{placer.System}\n{placer.Value}"));
        return $"{owner}.{Convert.ToHexStringLower(hash.AsSpan(0, 10))}";
    }

    /// <summary>The therapist (partition) and key an id names, or null for an id this store never makes.</summary>
    public static (string Owner, string Key)? Parse(string id)
    {
        var dot = id.LastIndexOf('.');
        if (dot <= 0 || dot == id.Length - 1 || id.Length > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
        {
            return null;
        }

        return (id[..dot], id[(dot + 1)..]);
    }

    /// <summary>
    /// Stores a new referral with its Task in one transaction. When the id is already stored (a retry), nothing is
    /// written and the original comes back.
    /// </summary>
    public async Task<(SubmitOutcome Outcome, StoredReferral Referral)> SubmitAsync(
        ServiceRequest request, FhirTask task, string ehr, Caller actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(task);
        var id = request.Id ?? throw new ArgumentException("The ServiceRequest needs the id IdFor made.", nameof(request));
        var (owner, key) = Parse(id) ?? throw new ArgumentException("The ServiceRequest id was not made by IdFor.", nameof(request));
        var table = await storage.TableAsync(TableName);
        var inboxRow = $"{InboxPrefix}{DateTimeOffset.MaxValue.UtcTicks - now.UtcTicks:D19}|{key}";
        const int version = 1;
        Stamp(request, task, version, actor, now);

        var requestJson = Serializer.SerializeToString(request);
        var requestEntity = new TableEntity(owner, RequestPrefix + key)
        {
            ["Json"] = requestJson,
            ["Ehr"] = ehr,
            ["Subject"] = request.Subject?.Reference,
            ["Requester"] = request.Requester?.Reference,
            ["Status"] = Code(request.Status),
        };
        var statusRow = StatusRowKey(task.Status, key);
        var dueRows = DueRowsOf(key, task, request);
        var taskEntity = TaskRowEntity(owner, key, task, version, inboxRow, statusRow, requestJson, ehr, dueRows);
        var inboxEntity = InboxEntity(owner, inboxRow, task, version, requestJson);

        var pointers = WritePointersAsync(request, ehr, owner, inboxRow, cancellationToken);
        IReadOnlyList<Response> written;
        try
        {
            written = (await table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Add, requestEntity),
                new TableTransactionAction(TableTransactionActionType.Add, taskEntity),
                new TableTransactionAction(TableTransactionActionType.Add, inboxEntity),
                new TableTransactionAction(TableTransactionActionType.Add, HistoryEntity(owner, key, task, version, now)),
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(owner, statusRow)),
                .. DueActions(owner, "", dueRows),
            ], cancellationToken)).Value;
        }
        catch (TableTransactionFailedException e) when (e.Status == StatusCodes.Status409Conflict)
        {
            await pointers;
            var existing = await GetAsync(id, cancellationToken)
                ?? throw new InvalidOperationException("A referral conflicted on submit but cannot be read back.", e);
            if (existing.InboxRow != inboxRow)
            {
                // The requester's pointer is ordered by when the referral was first stored: this retry's goes, the original's stays (or is written, if the first try never got to it).
                await ReplaceRequesterPointerAsync(request, ehr, owner, inboxRow, existing.InboxRow, cancellationToken);
            }

            return (SubmitOutcome.Existing, existing);
        }

        await pointers;
        return (SubmitOutcome.Created, new StoredReferral
        {
            Id = id,
            Owner = owner,
            Ehr = ehr,
            Request = request,
            Task = task,
            Version = version,
            TaskETag = ETagOf(written[1]),
            InboxRow = inboxRow,
            StatusRow = statusRow,
            DueRows = dueRows,
        });
    }

    public async Task<StoredReferral?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (Parse(id) is not var (owner, key))
        {
            return null;
        }

        // The Task row carries its ServiceRequest: one point read. A row written before it did needs the ServiceRequest's row too.
        var table = await storage.TableAsync(TableName);
        var taskRow = await table.GetEntityIfExistsAsync<TableEntity>(owner, TaskPrefix + key, cancellationToken: cancellationToken);
        if (!taskRow.HasValue)
        {
            return null;
        }

        if (taskRow.Value!.ContainsKey(RequestJsonColumn))
        {
            return Read(id, owner, null, taskRow.Value);
        }

        var requestRow = await table.GetEntityIfExistsAsync<TableEntity>(owner, RequestPrefix + key, cancellationToken: cancellationToken);
        return requestRow.HasValue ? Read(id, owner, requestRow.Value!, taskRow.Value) : null;
    }

    /// <summary>
    /// Writes the changed Task (and ServiceRequest, when its status moves) with its history row in one transaction,
    /// only if nobody changed the Task since <paramref name="current"/> was read; null when someone did. The referral
    /// as now stored comes back without reading it again: the transaction's answer carries the rows' new ETags.
    /// </summary>
    public async Task<StoredReferral?> UpdateAsync(
        StoredReferral current, FhirTask task, ServiceRequest? request, Caller actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(task);
        var table = await storage.TableAsync(TableName);
        var (_, key) = Parse(current.Id)!.Value;
        var version = current.Version + 1;
        Stamp(request, task, version, actor, now);

        var requestJson = Serializer.SerializeToString(request ?? current.Request);
        var actions = TaskActions(current, key, task, version, request ?? current.Request, requestJson, now);
        if (request is not null)
        {
            // Unconditional: the Task row's ETag, in the same transaction, guards the referral as a whole.
            actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(current.Owner, RequestPrefix + key)
            {
                ["Json"] = requestJson,
                ["Status"] = Code(request.Status),
            }, ETag.All));
        }

        return await TryChangeAsync(table, actions, cancellationToken) is { } written ? Changed(current, task, request, version, written) : null;
    }

    /// <summary>
    /// A change's one transaction, guarded by the ETags it read: its responses, or null where another change came first
    /// (a row's ETag moved: 412; a row it adds exists by now: 409).
    /// </summary>
    private static async Task<IReadOnlyList<Response>?> TryChangeAsync(TableClient table, IEnumerable<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        try
        {
            return (await table.SubmitTransactionAsync(actions, cancellationToken)).Value;
        }
        catch (TableTransactionFailedException e) when (e.Status is StatusCodes.Status412PreconditionFailed or StatusCodes.Status409Conflict)
        {
            return null;
        }
    }

    /// <summary>
    /// The actions every change of a Task starts with: the Task row (guarded by the ETag it was read with), its inbox
    /// row (with the ServiceRequest as <paramref name="requestJson"/> holds it: as changed, or as it was), the new
    /// version's history row (added: a version is written once), when the status changes the move of its status row, and
    /// when what the reminders follow changes the move of its due rows (<paramref name="request"/>: the ServiceRequest as it now stands).
    /// </summary>
    private static List<TableTransactionAction> TaskActions(
        StoredReferral current, string key, FhirTask task, int version, ServiceRequest request, string requestJson, DateTimeOffset now)
    {
        var statusRow = StatusRowKey(task.Status, key);
        var dueRows = DueRowsOf(key, task, request);
        return
        [
            new(TableTransactionActionType.UpdateReplace, TaskRowEntity(current.Owner, key, task, version, current.InboxRow, statusRow, requestJson, current.Ehr, dueRows), current.TaskETag),
            new(TableTransactionActionType.UpsertReplace, InboxEntity(current.Owner, current.InboxRow, task, version, requestJson)),
            new(TableTransactionActionType.Add, HistoryEntity(current.Owner, key, task, version, now)),
            .. StatusActions(current.Owner, current.StatusRow, statusRow),
            .. DueActions(current.Owner, current.DueRows, dueRows),
        ];
    }

    /// <summary>
    /// The referral after a transaction that began with <see cref="TaskActions"/>: what was written, with the ETag the
    /// transaction's answer gives for the Task row (the first action).
    /// </summary>
    private static StoredReferral Changed(StoredReferral current, FhirTask task, ServiceRequest? request, int version, IReadOnlyList<Response> written) =>
        current with
        {
            Request = request ?? Versioned((ServiceRequest)current.Request.DeepCopy(), version),
            Task = task,
            Version = version,
            StatusRow = StatusRowKey(task.Status, Parse(current.Id)!.Value.Key),
            DueRows = DueRowsOf(Parse(current.Id)!.Value.Key, task, request ?? current.Request),
            TaskETag = ETagOf(written[0]),
        };

    /// <summary>The ETag a transaction's answer gives for one action's row.</summary>
    private static ETag ETagOf(Response response) =>
        response.Headers.ETag ?? throw new InvalidOperationException("Table storage answered a transaction without the ETag of a row it wrote.");

    /// <summary>
    /// A therapist's Tasks (of any of <paramref name="statuses"/>, or all when empty), newest first, one page at a time:
    /// one partition range query. With <paramref name="withRequests"/> each Task's ServiceRequest too, from the same rows;
    /// only a row written before inbox rows carried it costs a point read of its ServiceRequest.
    /// </summary>
    public async Task<InboxPage> InboxAsync(
        string owner, IReadOnlyCollection<FhirTask.TaskStatus> statuses, int count, string? continuation, bool withRequests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        var table = await storage.TableAsync(TableName);
        await foreach (var page in table.QueryAsync<TableEntity>(InboxFilter(owner, statuses), maxPerPage: count,
                               select: withRequests ? ["Json", RequestJsonColumn] : ["Json"], cancellationToken: cancellationToken)
                           .AsPages(continuation, count).WithCancellation(cancellationToken))
        {
            var tasks = page.Values.Select(row => Deserializer.Deserialize<FhirTask>(row.GetString("Json"))).ToList();
            if (!withRequests)
            {
                return new InboxPage(tasks, [], page.ContinuationToken);
            }

            var carried = page.Values.Select(row => row.GetString(RequestJsonColumn) is { } json ? Deserializer.Deserialize<ServiceRequest>(json) : null).ToList();
            var older = carried.Contains(null)
                ? (await RequestsAsync(owner, tasks.Where((_, i) => carried[i] is null).Select(t => FocusId(t)), cancellationToken))
                    .ToDictionary(r => r.Id ?? "", StringComparer.Ordinal)
                : [];
            IReadOnlyList<ServiceRequest> requests =
                [.. carried.Select((request, i) => request ?? older.GetValueOrDefault(FocusId(tasks[i]))).OfType<ServiceRequest>()];
            return new InboxPage(tasks, requests, page.ContinuationToken);
        }

        return new InboxPage([], [], null);
    }

    /// <summary>The inbox row's column holding the ServiceRequest's JSON.</summary>
    private const string RequestJsonColumn = "RequestJson";

    private static string FocusId(FhirTask task) => Security.FhirReference.IdOf(task.Focus?.Reference ?? "");

    /// <summary>
    /// The ServiceRequests of the given referrals of one therapist, in the order asked: point reads in that therapist's
    /// partition, at the same time. An id of another partition, or one not stored, is skipped.
    /// </summary>
    private async Task<IReadOnlyList<ServiceRequest>> RequestsAsync(string owner, IEnumerable<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var table = await storage.TableAsync(TableName);
        var reads = ids.Select(Parse)
            .Where(parsed => parsed is { } p && p.Owner == owner)
            .Select(parsed => table.GetEntityIfExistsAsync<TableEntity>(owner, RequestPrefix + parsed!.Value.Key, select: ["Json"], cancellationToken: cancellationToken))
            .ToList();
        var rows = await Task.WhenAll(reads);
        return [.. rows.Where(r => r.HasValue).Select(r => Deserializer.Deserialize<ServiceRequest>(r.Value!.GetString("Json")))];
    }

    /// <summary>
    /// The inbox rows of one partition, of any of the statuses: each part is made by <see cref="TableClient.CreateQueryFilter(FormattableString)"/>,
    /// so every value is escaped; only the fixed "and"/"or" join them.
    /// </summary>
    private static string InboxFilter(string owner, IReadOnlyCollection<FhirTask.TaskStatus> statuses)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {InboxPrefix} and RowKey lt {InboxEnd}");
        return statuses.Count == 0
            ? filter
            : $"{filter} and ({string.Join(" or ", statuses.Select(status => TableClient.CreateQueryFilter($"Status eq {Code<FhirTask.TaskStatus>(status)}")))})";
    }

    /// <summary>Every referral sent to one therapist: one partition, newest first.</summary>
    public async Task<IReadOnlyList<StoredReferral>> ForOwnerAsync(string owner, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableName);
        var requests = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        var tasks = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {RequestPrefix} and RowKey lt {RequestEnd}"),
                           cancellationToken: cancellationToken))
        {
            requests[row.RowKey[RequestPrefix.Length..]] = row;
        }

        await foreach (var row in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {TaskPrefix} and RowKey lt {TaskEnd}"),
                           cancellationToken: cancellationToken))
        {
            tasks[row.RowKey[TaskPrefix.Length..]] = row;
        }

        return [.. requests.Where(r => tasks.ContainsKey(r.Key))
            .Select(r => Read($"{owner}.{r.Key}", owner, r.Value, tasks[r.Key]))
            .OrderByDescending(r => r.Request.AuthoredOn, StringComparer.Ordinal)];
    }

    /// <summary>The referrals for a patient of an EHR, or written by a practitioner of it, newest first.</summary>
    public async Task<IReadOnlyList<StoredReferral>> FindAsync(ReferralLookup kind, string ehr, string reference, CancellationToken cancellationToken)
    {
        var index = await storage.TableAsync(IndexTableName);
        var ids = new List<string>();
        await foreach (var row in index.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {PointerPartition(kind, ehr, reference)}"),
                           select: ["RowKey"], cancellationToken: cancellationToken))
        {
            ids.Add(row.RowKey[(row.RowKey.LastIndexOf('|') + 1)..]);
        }

        var referrals = await Task.WhenAll(ids.Select(id => GetAsync(id, cancellationToken)));
        return [.. referrals.OfType<StoredReferral>().OrderByDescending(r => r.Request.AuthoredOn, StringComparer.Ordinal)];
    }

    /// <summary>Just past every inbox row key ('}' sorts after '|').</summary>
    private const string InboxEnd = "inbox}";
    private const string RequestEnd = "sr}";
    private const string TaskEnd = "task}";

    /// <summary>
    /// The search pointers of a referral: the patient's by id; the requester's <c>{inverted time}|{id}</c> (the time of
    /// its inbox row, when it was first stored), so a physician's referrals are read newest first, a page at a time.
    /// </summary>
    private async Task WritePointersAsync(ServiceRequest request, string ehr, string owner, string inboxRow, CancellationToken cancellationToken)
    {
        var index = await storage.TableAsync(IndexTableName);
        var writes = new List<Task>();
        if (request.Subject?.Reference is { } patient)
        {
            writes.Add(index.UpsertEntityAsync(new TableEntity(PointerPartition(ReferralLookup.Patient, ehr, patient), request.Id) { ["Owner"] = owner },
                TableUpdateMode.Replace, cancellationToken));
        }

        if (request.Requester?.Reference is { } requester)
        {
            writes.Add(index.UpsertEntityAsync(new TableEntity(PointerPartition(ReferralLookup.Requester, ehr, requester), RequesterPointer(inboxRow, request.Id!)) { ["Owner"] = owner },
                TableUpdateMode.Replace, cancellationToken));
        }

        await Task.WhenAll(writes);
    }

    private async Task ReplaceRequesterPointerAsync(ServiceRequest request, string ehr, string owner, string written, string original, CancellationToken cancellationToken)
    {
        if (request.Requester?.Reference is not { } requester)
        {
            return;
        }

        var index = await storage.TableAsync(IndexTableName);
        var partition = PointerPartition(ReferralLookup.Requester, ehr, requester);
        await index.UpsertEntityAsync(new TableEntity(partition, RequesterPointer(original, request.Id!)) { ["Owner"] = owner }, TableUpdateMode.Replace, cancellationToken);
        await index.DeleteEntityAsync(partition, RequesterPointer(written, request.Id!), ETag.All, cancellationToken);
    }

    /// <summary>A requester's pointer: the inverted time of the referral's inbox row, then its id.</summary>
    private static string RequesterPointer(string inboxRow, string id) => $"{inboxRow.Split('|')[1]}|{id}";

    /// <summary>
    /// One page of the referrals a practitioner of an EHR wrote, newest first: one range query of their pointers (a pointer
    /// written before pointers were ordered comes after the ordered ones) and one point read per referral on the page
    /// (its Task row, which carries the ServiceRequest), at once; the next page's position, or null at the end. A
    /// pointer whose referral is missing (a submit that failed) is skipped, so a page may hold fewer than <paramref name="count"/>.
    /// </summary>
    public async Task<(IReadOnlyList<StoredReferral> Referrals, string? Next)> RequestedByAsync(
        string ehr, string requester, int count, string? position, CancellationToken cancellationToken)
    {
        var index = await storage.TableAsync(IndexTableName);
        await foreach (var page in index.QueryAsync<TableEntity>(
                               TableClient.CreateQueryFilter($"PartitionKey eq {PointerPartition(ReferralLookup.Requester, ehr, requester)}"),
                               maxPerPage: count, select: ["RowKey"], cancellationToken: cancellationToken)
                           .AsPages(position, count).WithCancellation(cancellationToken))
        {
            var ids = page.Values.Select(row => row.RowKey[(row.RowKey.LastIndexOf('|') + 1)..]).Distinct(StringComparer.Ordinal);
            var referrals = await Task.WhenAll(ids.Select(id => GetAsync(id, cancellationToken)));
            return ([.. referrals.OfType<StoredReferral>()], page.ContinuationToken);
        }

        return ([], null);
    }

    /// <summary>One partition per patient (or requester) of an EHR; keys may not hold '/', so the reference is hashed with its EHR.</summary>
    private static string PointerPartition(ReferralLookup kind, string ehr, string reference)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{ehr}\n{Security.FhirReference.Key(reference)}"));
        return $"{kind.ToString().ToLowerInvariant()}-{Convert.ToHexStringLower(hash.AsSpan(0, 16))}";
    }

    /// <summary>
    /// meta.versionId and lastUpdated on both resources, so a client sees which version it holds, and on the Task who
    /// made this version (<see cref="ChangedByExtension"/>, replacing the previous version's).
    /// </summary>
    private static void Stamp(ServiceRequest? request, FhirTask task, int version, Caller actor, DateTimeOffset now)
    {
        var versionId = version.ToString(CultureInfo.InvariantCulture);
        task.Meta ??= new Meta();
        task.Meta.VersionId = versionId;
        task.Meta.LastUpdated = now;
        task.SetExtension(ChangedByExtension, ChangedBy(actor));
        if (request is not null)
        {
            // A changed ServiceRequest (revoked, completed, revised by a renewal) is a new version of the same
            // resource: it takes the referral's version, the one its ETag names.
            request.Meta ??= new Meta();
            request.Meta.VersionId = versionId;
            request.Meta.LastUpdated = now;
        }
    }

    /// <summary>
    /// The ServiceRequest and its Task share one version, the referral's (the ETag of both): a change of the Task
    /// (accepted, a session recorded) is a new version of the referral, so the ServiceRequest read carries it too.
    /// </summary>
    private static ServiceRequest Versioned(ServiceRequest request, int version)
    {
        request.Meta ??= new Meta();
        request.Meta.VersionId = version.ToString(CultureInfo.InvariantCulture);
        return request;
    }

    private static TableEntity TaskEntity(string owner, string rowKey, FhirTask task, int version, string inboxRow, string? statusRow = null)
    {
        var entity = new TableEntity(owner, rowKey)
        {
            ["Json"] = Serializer.SerializeToString(task),
            ["Status"] = Code(task.Status),
            ["Version"] = version,
            ["InboxRow"] = inboxRow,
        };
        if (statusRow is not null)
        {
            entity["StatusRow"] = statusRow;
        }

        return entity;
    }

    /// <summary>An inbox row: the Task row's columns and the ServiceRequest's JSON, for a page with <c>_include=Task:focus</c>.</summary>
    private static TableEntity InboxEntity(string owner, string inboxRow, FhirTask task, int version, string requestJson)
    {
        var entity = TaskEntity(owner, inboxRow, task, version, inboxRow);
        entity[RequestJsonColumn] = requestJson;
        return entity;
    }

    /// <summary>
    /// The Task row, carrying the ServiceRequest (<c>RequestJson</c>) and the EHR too, so reading a referral is one point
    /// read; the ServiceRequest's own row stays for the searches over ServiceRequests and for rows written before.
    /// </summary>
    private static TableEntity TaskRowEntity(
        string owner, string key, FhirTask task, int version, string inboxRow, string statusRow, string requestJson, string ehr, string dueRows)
    {
        var entity = TaskEntity(owner, TaskPrefix + key, task, version, inboxRow, statusRow);
        entity[RequestJsonColumn] = requestJson;
        entity["Ehr"] = ehr;
        entity[DueRowsColumn] = dueRows;
        return entity;
    }

    /// <summary>A referral from its Task row, which carries the ServiceRequest; or, for a row written before it did, with the ServiceRequest's row.</summary>
    private static StoredReferral Read(string id, string owner, TableEntity? requestRow, TableEntity taskRow) => new()
    {
        Id = id,
        Owner = owner,
        Ehr = requestRow is null ? taskRow.GetString("Ehr") : requestRow.GetString("Ehr"),
        Request = Versioned(Deserializer.Deserialize<ServiceRequest>(requestRow is null ? taskRow.GetString(RequestJsonColumn) : requestRow.GetString("Json")), taskRow.GetInt32("Version") ?? 1),
        Task = Deserializer.Deserialize<FhirTask>(taskRow.GetString("Json")),
        Version = taskRow.GetInt32("Version") ?? 1,
        TaskETag = taskRow.ETag,
        InboxRow = taskRow.GetString("InboxRow"),
        StatusRow = taskRow.GetString("StatusRow"),
        DueRows = taskRow.GetString(DueRowsColumn),
    };

    private static string? Code<T>(T? value) where T : struct, Enum =>
        value is null ? null : Hl7.Fhir.Utility.EnumUtility.GetLiteral(value.Value);
}

public enum ReferralLookup
{
    Patient,
    Requester,
}

using System.Globalization;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.WebUtilities;
using Referral.Functions.Audit;
using Referral.Functions.Fhir;
using Referral.Functions.Security;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using FhirTask = Hl7.Fhir.Model.Task;
using static Referral.Functions.Referrals.ReferralEndpoints;

namespace Referral.Functions.Referrals;

/// <summary>
/// A referral's Task: read, its versions and history, the therapist's inbox, and the Task's transitions as FHIR
/// operations. Every patient-data access is audited.
/// </summary>
public static class TaskEndpoints
{
    public static SearchDeclaration TaskSearch { get; } = new("Task",
    [
        new("owner", SearchParamType.Reference, "The therapist (a therapist lists only their own inbox)."),
        new("status", SearchParamType.Token, "requested, accepted, rejected, in-progress, cancelled, completed, failed; comma-separated for any of (status=accepted,in-progress)."),
        new("_summary", SearchParamType.Token, "count only: a searchset Bundle with the total of the therapist's matching Tasks and no entries."),
    ], DefaultCount: 20, MaxCount: 100)
    {
        Includes = [IncludeFocus],
        TotalDocumentation = "total is given only when the whole result fits on the first page (the inbox is read a page at a time, so a page does not know the rest); _summary=count gives the exact total.",
    };

    private static readonly Dictionary<string, ReferralTaskState> Operations = new(StringComparer.Ordinal)
    {
        ["accept"] = ReferralTaskState.Accepted,
        ["decline"] = ReferralTaskState.Declined,
        ["cancel"] = ReferralTaskState.Cancelled,
        [TaskParameters.CompleteOperation] = ReferralTaskState.Completed,
        [TaskParameters.HoldOperation] = ReferralTaskState.OnHold,
        [TaskParameters.ResumeOperation] = ReferralTaskState.Created,
    };

    public static IEndpointRouteBuilder MapTasks(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/fhir/Task/{id}", ReadTaskAsync).RequireAuthorization().ValidatesId().WithName("task-read");
        app.MapGet("/api/fhir/Task/{id}/_history/{vid}", TaskVersionAsync).RequireAuthorization().ValidatesId().WithName("task-vread");
        app.MapGet("/api/fhir/Task/{id}/_history", TaskHistoryAsync).RequireAuthorization().ValidatesId().WithName("task-history");
        app.MapGet("/api/fhir/Task", InboxAsync).RequireAuthorization(ApiAuthentication.TherapistPolicy).WithName("task-search").WithMetadata(TaskSearch);
        foreach (var operation in Operations.Keys)
        {
            app.MapPost($"/api/fhir/Task/{{id}}/${operation}", (HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken ct) =>
                    TransitionAsync(http, caller, id, operation, services, ct))
                .RequireAuthorization()
                .ValidatesId()
                .WithName($"task-{operation}");
        }

        app.MapPost($"/api/fhir/Task/{{id}}/${TaskParameters.RequestRenewalOperation}", RequestRenewalAsync)
            .RequireAuthorization(ApiAuthentication.TherapistPolicy).ValidatesId().WithName($"task-{TaskParameters.RequestRenewalOperation}");

        return app;
    }

    private static async Task<FhirResult> ReadTaskAsync(HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var referral = await LoadAsync(caller, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(Denied(http, caller, "read", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        await services.Audit.RecordAsync(Entry(http, caller, "read", AuditEvent.AuditEventAction.R, referral, success: true, entity: $"Task/{id}"), cancellationToken);
        return new FhirResult(referral.Task) { ETag = ETagOf(referral) };
    }

    /// <summary>
    /// <c>GET /Task/{id}/_history/{vid}</c>: the Task as it was stored at that version (its history row; the current
    /// version is the Task itself). Access as for the Task; audited as a read of it. A version never written, or one
    /// written before this server kept history rows, is a 404 that says which.
    /// </summary>
    private static async Task<FhirResult> TaskVersionAsync(HttpContext http, Caller caller, string id, string vid, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var referral = await LoadAsync(caller, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(Denied(http, caller, "vread", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        if (!int.TryParse(vid, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1 || version > referral.Version)
        {
            return Outcome.Error(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound,
                $"Task/{id} has no version {vid}: its versions are 1 to {referral.Version}.");
        }

        var task = version == referral.Version ? referral.Task : await services.Store.TaskVersionAsync(id, version, cancellationToken);
        await services.Audit.RecordAsync(Entry(http, caller, "vread", AuditEvent.AuditEventAction.R, referral, success: true, entity: $"Task/{id}"), cancellationToken);
        return task is null
            ? Outcome.Error(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound,
                $"Task/{id} version {vid} is not kept: it was written before this server kept each version. Task/{id}/_history lists the versions kept.")
            : new FhirResult(task) { ETag = FhirVersions.ETag(version) };
    }

    /// <summary>The default and the largest page of <c>GET /Task/{id}/_history</c>.</summary>
    public const int HistoryDefaultCount = 50, HistoryMaxCount = 100;

    /// <summary>
    /// <c>GET /Task/{id}/_history</c>: the referral's status history, every version of its Task newest first, each as
    /// stored (status, business status, reasons, outputs, <c>meta.versionId</c> and <c>lastUpdated</c>, and who made
    /// it in <see cref="ReferralStore.ChangedByExtension"/>), with the entry's request and response. Paged by
    /// <c>_count</c> (up to <see cref="HistoryMaxCount"/>) and a <c>next</c> link whose <c>_page</c> is signed for the
    /// caller and this history (<see cref="PageTokens"/>). A referral stored before history rows were kept answers with
    /// the versions kept since, and always its current version. Access as for the Task; audited.
    /// </summary>
    private static async Task<FhirResult> TaskHistoryAsync(HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var query = http.Request.Query;
        if (Search.IsStrict(http.Request) && query.Keys.FirstOrDefault(k => k is not (Search.CountName or Search.PageName or "_format" or "_pretty")) is { } unknown)
        {
            return Outcome.BadRequest($"The parameter '{unknown}' is not supported by Task history; it takes _count and _page (Prefer: handling=strict).", unknown);
        }

        var count = HistoryDefaultCount;
        if (query.TryGetValue(Search.CountName, out var countText)
            && (countText.Count != 1 || !int.TryParse(countText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1
                || (count > HistoryMaxCount && Search.IsStrict(http.Request))))
        {
            return Outcome.BadRequest($"_count must be a whole number from 1 to {HistoryMaxCount}.", Search.CountName);
        }

        count = Math.Min(count, HistoryMaxCount);
        var pageCaller = ApiRateLimits.CallerKey(http);
        var signature = $"Task/{id}/_history?{Search.CountName}={count.ToString(CultureInfo.InvariantCulture)}";
        int? from = null;
        if (query.TryGetValue(Search.PageName, out var pageToken))
        {
            if (pageToken.Count != 1 || await services.Pages.UnprotectAsync(pageCaller, signature, pageToken.ToString()) is not { } position
                || !int.TryParse(position, NumberStyles.None, CultureInfo.InvariantCulture, out var at))
            {
                return Outcome.BadRequest("_page is not a page of this history: follow the next link of the Bundle as given, with the same _count and the same credentials.", Search.PageName);
            }

            from = at;
        }

        var referral = await LoadAsync(caller, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(Denied(http, caller, "history-instance", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        var page = await services.Store.HistoryAsync(id, Math.Min(from ?? referral.Version, referral.Version), count, cancellationToken);
        var versions = page.Versions.ToList();
        var next = page.Next;
        if (from is null && (versions.Count == 0 || versions[0].Version != referral.Version))
        {
            // Stored before history rows were kept: its current version is the Task itself.
            versions.Insert(0, new TaskVersion(referral.Task, referral.Version));
            if (versions.Count > count)
            {
                next = versions[count].Version;
                versions.RemoveRange(count, versions.Count - count);
            }
        }

        await services.Audit.RecordAsync(Entry(http, caller, "history-instance", AuditEvent.AuditEventAction.R, referral, success: true, entity: $"Task/{id}"), cancellationToken);

        var baseUrl = $"{BaseUrl(http)}/api/fhir/Task/{id}";
        string Link(string? token) => QueryHelpers.AddQueryString($"{baseUrl}/_history",
            token is null
                ? [KeyValuePair.Create(Search.CountName, (string?)count.ToString(CultureInfo.InvariantCulture))]
                : [KeyValuePair.Create(Search.CountName, (string?)count.ToString(CultureInfo.InvariantCulture)), KeyValuePair.Create(Search.PageName, (string?)token)]);

        // The total is known without counting only when this first page is the whole history.
        var bundle = new Bundle { Type = Bundle.BundleType.History, Total = from is null && next is null ? versions.Count : null };
        bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = Link(from is null ? null : pageToken.ToString()) });
        if (next is not null)
        {
            bundle.Link.Add(new Bundle.LinkComponent
            {
                Relation = "next",
                Url = Link(await services.Pages.ProtectAsync(pageCaller, signature, next.Value.ToString(CultureInfo.InvariantCulture))),
            });
        }

        foreach (var (task, version) in versions)
        {
            var first = version == 1;
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = baseUrl,
                Resource = task,
                Request = new Bundle.RequestComponent { Method = first ? Bundle.HTTPVerb.POST : Bundle.HTTPVerb.PUT, Url = first ? "Task" : $"Task/{id}" },
                Response = new Bundle.ResponseComponent
                {
                    Status = first ? "201" : "200",
                    Etag = FhirVersions.ETag(version),
                    LastModified = task.Meta?.LastUpdated,
                },
            });
        }

        return new FhirResult(bundle);
    }

    /// <summary>
    /// <c>GET /api/fhir/Task?owner=&amp;status=&amp;_include=Task:focus&amp;_summary=count&amp;_count=</c>: a therapist's inbox,
    /// newest first, paged. <c>status</c> takes a comma-separated list (any of); <c>_include=Task:focus</c> adds each
    /// Task's ServiceRequest from the same partition; <c>_summary=count</c> answers only the total.
    /// </summary>
    private static async Task<FhirResult> InboxAsync(HttpContext http, Caller caller, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (search, searchError) = await Search.ReadAsync(http, TaskSearch, services.Pages);
        if (searchError is not null)
        {
            return searchError;
        }

        var query = search!.Query;
        var owner = SearchQuery.Reference(query, "owner", "PractitionerRole", out var ownerError);
        if (ownerError is not null)
        {
            return ownerError;
        }

        if (owner is not null && FhirReference.IdOf(owner) != caller.Id)
        {
            return Outcome.Forbidden("A therapist can only list their own referrals.");
        }

        if (TaskStatuses(query, out var statuses) is { } badStatus)
        {
            return badStatus;
        }

        var include = false;
        if (query.TryGetValue("_include", out var includes))
        {
            if (includes.Any(value => value is not (IncludeFocus or IncludeFocus + ":ServiceRequest")))
            {
                return Outcome.BadRequest($"_include supports only {IncludeFocus} (the Task's ServiceRequest).", "_include");
            }

            include = true;
        }

        var countOnly = false;
        if (query.TryGetValue("_summary", out var summary))
        {
            if (summary.Count != 1 || summary.ToString() != "count")
            {
                return Outcome.BadRequest("_summary supports only 'count' (the total, without entries).", "_summary");
            }

            countOnly = true;
        }

        var audit = AuditEntry.Search(caller, "Task", http);
        if (countOnly)
        {
            var counting = services.Store.CountAsync(caller.Id, statuses, cancellationToken);
            var countAudited = services.Audit.RecordAsync(audit, cancellationToken);
            var total = await counting;
            await countAudited;
            return new FhirResult(await search.BundleAsync([], null, total));
        }

        // The query and the audit record are independent round trips: at the same time.
        var reading = services.Store.InboxAsync(caller.Id, statuses, search.Count, search.Position, include, cancellationToken);
        var audited = services.Audit.RecordAsync(audit, cancellationToken);
        var page = await reading;
        var requests = page.Requests;
        await audited;

        // An included ServiceRequest carries the referral's version, as its Task does (one version for both).
        var versions = page.Tasks.ToDictionary(t => t.Id ?? "", t => t.Meta?.VersionId, StringComparer.Ordinal);
        foreach (var request in requests)
        {
            request.Meta ??= new Meta();
            request.Meta.VersionId = versions.GetValueOrDefault(request.Id ?? "") ?? request.Meta.VersionId;
        }

        // The total is known only when the first page is the whole result; otherwise it is left out (_summary=count gives it).
        int? exact = search.Position is null && page.Continuation is null ? page.Tasks.Count : null;
        return new FhirResult(await search.BundleAsync(page.Tasks, page.Continuation, exact, requests));
    }

    /// <summary>The Task statuses of <c>status</c> (comma-separated: any of), none when absent; the 400 that refuses an unknown one.</summary>
    private static FhirResult? TaskStatuses(IQueryCollection query, out IReadOnlyList<FhirTask.TaskStatus> statuses)
    {
        statuses = [];
        if (!query.TryGetValue("status", out var values))
        {
            return null;
        }

        if (values.Count > 1)
        {
            return Outcome.BadRequest("Give status once, with the statuses separated by commas (status=accepted,in-progress).", "status");
        }

        var parsed = new List<FhirTask.TaskStatus>();
        foreach (var literal in values.ToString().Split(',', StringSplitOptions.TrimEntries))
        {
            if (Hl7.Fhir.Utility.EnumUtility.ParseLiteral<FhirTask.TaskStatus>(literal) is not { } status)
            {
                return Outcome.BadRequest("status must be Task status codes, separated by commas (requested, accepted, rejected, in-progress, completed, cancelled, failed, ...).", "status");
            }

            if (!parsed.Contains(status))
            {
                parsed.Add(status);
            }
        }

        statuses = parsed;
        return null;
    }

    /// <summary>
    /// <c>POST /api/fhir/Task/{id}/$accept|$decline|$cancel|$complete|$hold|$resume</c>, with a Parameters body carrying
    /// <c>reason</c> where one is needed, and on <c>$complete</c> the discharge summary (<c>outcome</c>, required once a
    /// session was recorded, and <c>recommendations</c>), stored on the Task in the same transaction. <c>If-Match</c> with
    /// the version last read makes a stale change a 412. A decline, a hold or a completion is told to the physician.
    /// </summary>
    private static async Task<FhirResult> TransitionAsync(HttpContext http, Caller caller, string id, string operation, Services services, CancellationToken cancellationToken)
    {
        var input = TransitionInput.None;
        Parameters? parameters = null;
        if (http.Request.ContentLength is > 0 || http.Request.Headers.ContentType.Count > 0)
        {
            (parameters, var bodyError) = await FhirBody.ReadParametersAsync(http.Request, TaskParameters.Operation(operation), cancellationToken);
            if (bodyError is not null)
            {
                return bodyError;
            }

            var (read, readError) = TaskParameters.ReadTransition(parameters!);
            if (readError is not null)
            {
                return readError;
            }

            input = read!;
        }

        // A hold says what it waits for: without a reason it is a bad request, named at the parameter (the state
        // machine would name Task.statusReason, which the caller never wrote).
        if (operation == TaskParameters.HoldOperation && string.IsNullOrWhiteSpace(input.Reason))
        {
            return Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'reason' is required: a valueString saying what the referral waits for (e.g. the answer to a question to the physician).",
                TaskParameters.Path("reason"));
        }

        var (referral, refused) = await LoadForChangeAsync(http, caller, id, parameters, services, cancellationToken);
        if (referral is null)
        {
            return refused!;
        }

        var actor = caller.Kind == CallerKind.Physician ? TaskActor.Physician : TaskActor.Therapist;
        var now = services.Time.GetUtcNow();
        var change = ReferralTaskStateMachine.Apply(referral.Task, new TaskChange
        {
            To = Operations[operation],
            Actor = actor,
            ActorReference = actor == TaskActor.Therapist ? referral.Task.Owner?.Reference : null,
            Reason = input.Reason,
        }, now);
        if (!change.Succeeded)
        {
            return Refused(change.Outcome);
        }

        var task = change.Task!;
        if (operation == TaskParameters.CompleteOperation)
        {
            if (input.Outcome is not null)
            {
                task = ReferralTasks.WithDischargeSummary(task, new DischargeSummary(input.Outcome, input.Recommendations));
            }
            else if (ReferralTasks.RequiresDischargeOutcome(referral.Task) || input.Recommendations is not null)
            {
                return Outcome.Of(Outcomes.From([Outcomes.Error(ValidationRules.DischargeOutcomeRequired, OperationOutcome.IssueType.Required,
                    TaskParameters.Path("outcome"),
                    "'outcome' is required: a valueString telling the physician how the course went (sessions were recorded, or recommendations given).")]),
                    StatusCodes.Status400BadRequest);
            }
        }

        ServiceRequest? request = null;
        if (change.ServiceRequestStatus is { } requestStatus)
        {
            request = (ServiceRequest)referral.Request.DeepCopy();
            request.Status = requestStatus;
        }

        // The physician's notice is queued while the change is written (the consumer waits for this version, and sends
        // nothing if the write loses a race), so a change that is stored is never left untold.
        var notice = operation switch
        {
            TaskParameters.CompleteOperation => ReferralEvent.Completed,
            "decline" => ReferralEvent.Declined,
            TaskParameters.HoldOperation => ReferralEvent.PutOnHold,
            _ => null,
        };
        // Holds are counted, so a second hold after a resume is told too.
        int? ordinal = notice == ReferralEvent.PutOnHold ? ReferralTasks.HoldsOf(task).Count(h => h.Kind == HoldEvent.Held) : null;
        var queued = notice is null
            ? Task.CompletedTask
            : services.Notifications.EnqueueAsync(new ReferralEvent(notice, referral.Id) { Version = referral.Version + 1, Ordinal = ordinal }, cancellationToken);
        return await StoreChangeAsync(http, caller, referral, task, request, queued, now, services, cancellationToken);
    }

    /// <summary>
    /// The referral a Task operation changes, or what refuses the change: 404 (audited as a denial) when the caller may not
    /// see it, 422 for a reference in <paramref name="parameters"/> off the referral's EHR, 412 for a stale <c>If-Match</c>.
    /// </summary>
    private static async Task<(StoredReferral? Referral, FhirResult? Refused)> LoadForChangeAsync(
        HttpContext http, Caller caller, string id, Parameters? parameters, Services services, CancellationToken cancellationToken)
    {
        var referral = await LoadAsync(caller, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(Denied(http, caller, "operation", $"Task/{id}"), cancellationToken);
            return (null, Outcome.NotFound("Task", id));
        }

        var refused = ForeignReferences(parameters, referral.Ehr) ?? FhirVersions.StaleIfMatch(http.Request, ETagOf(referral));
        return refused is null ? (referral, null) : (null, refused);
    }

    /// <summary>
    /// <c>POST /api/fhir/Task/{id}/$request-renewal</c>, by the therapist the referral is assigned to, while it is accepted
    /// or under treatment: a Parameters body with <c>reason</c> (required) and <c>sessions</c> (1-52, optional). The
    /// request is added to the Task's output (earlier ones are kept) and the physician is told.
    /// </summary>
    private static async Task<FhirResult> RequestRenewalAsync(HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (parameters, input, bodyError) = await FhirBody.ReadParametersAsync(http.Request, TaskParameters.Operation(TaskParameters.RequestRenewalOperation), TaskParameters.ReadRenewal, cancellationToken);
        if (bodyError is not null)
        {
            return bodyError;
        }

        var (referral, refused) = await LoadForChangeAsync(http, caller, id, parameters, services, cancellationToken);
        if (referral is null)
        {
            return refused!;
        }

        if (!ReferralTasks.CanRequestRenewal(referral.Task))
        {
            return Refused(Outcomes.From([Outcomes.Error(ValidationRules.RenewalNotUnderTreatment, OperationOutcome.IssueType.BusinessRule, "Task.status",
                $"A renewal can be requested only while the referral is accepted or under treatment; this one is {ReferralTaskStates.StateOf(referral.Task)?.ToString() ?? "in no known state"}.")]));
        }

        var now = services.Time.GetUtcNow();
        var task = ReferralTasks.WithRenewalRequest(referral.Task, new RenewalRequest(now, input!.Reason, input.Sessions));
        var queued = services.Notifications.EnqueueAsync(new ReferralEvent(ReferralEvent.RenewalRequested, referral.Id)
        {
            Version = referral.Version + 1,
            Ordinal = ReferralTasks.RenewalRequestsOf(task).Count,
        }, cancellationToken);
        return await StoreChangeAsync(http, caller, referral, task, null, queued, now, services, cancellationToken);
    }

    /// <summary>
    /// Stores a Task operation's change (with the ServiceRequest's, where it changes) while its notice is being queued,
    /// and answers the changed Task, the change audited; a 412 when another change was stored first.
    /// </summary>
    private static async Task<FhirResult> StoreChangeAsync(HttpContext http, Caller caller, StoredReferral referral, FhirTask task, ServiceRequest? request,
        Task queued, DateTimeOffset now, Services services, CancellationToken cancellationToken)
    {
        var updated = await services.Store.UpdateAsync(referral, task, request, caller, now, cancellationToken);
        await queued;
        if (updated is null)
        {
            return FhirVersions.ChangedMeanwhile();
        }

        await services.Audit.RecordAsync(Entry(http, caller, "operation", AuditEvent.AuditEventAction.U, updated, success: true, entity: $"Task/{updated.Id}"), cancellationToken);
        return new FhirResult(updated.Task) { ETag = ETagOf(updated) };
    }
}

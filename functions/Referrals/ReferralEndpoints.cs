using System.Globalization;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Referral.Functions.Audit;
using Referral.Functions.Conformance;
using Referral.Functions.Fhir;
using Referral.Functions.Security;
using Referral.Functions.Therapists;
using Referral.Functions.WriteBack;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Functions.Referrals;

/// <summary>
/// Referrals in (<c>POST /api/fhir/ServiceRequest</c>), read and searched; each Task read, the therapist's
/// inbox, and the Task's transitions as FHIR operations. Every patient-data access is audited.
/// </summary>
public static class ReferralEndpoints
{
    /// <summary>The one <c>_include</c> the inbox supports: the Task's focal ServiceRequest (with or without its target type).</summary>
    public const string IncludeFocus = "Task:focus";

    public static SearchDeclaration ServiceRequestSearch { get; } = new("ServiceRequest",
    [
        new("_id", SearchParamType.Token, "One referral by its id (with _revinclude=Task:focus, the referral and its Task in one call)."),
        new("patient", SearchParamType.Reference, "The patient; a physician sees their launched patient's referrals."),
        new("requester", SearchParamType.Reference, "The prescribing physician (defaults to the caller)."),
        new("performer", SearchParamType.Reference, "The therapist's PractitionerRole."),
        new("status", SearchParamType.Token, "active, completed, revoked, ..."),
    ], DefaultCount: 50, MaxCount: 100)
    {
        RevIncludes = [IncludeFocus],
        TotalDocumentation = "total is exact on every page, but for a physician's own referrals (no _id, no patient), which are read one page at a time, newest first: there total is left out, and a page may hold fewer than _count (a referral filtered out by status or performer) and still have a next link.",
    };

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

    public static IEndpointRouteBuilder MapReferrals(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/fhir/ServiceRequest", SubmitAsync).RequireAuthorization(ApiAuthentication.PhysicianPolicy).WithName("servicerequest-create");
        app.MapPost("/api/fhir/ServiceRequest/$validate", ValidateAsync).RequireAuthorization(ApiAuthentication.PhysicianPolicy).WithName("servicerequest-validate");
        app.MapGet("/api/fhir/ServiceRequest/{id}", ReadRequestAsync).RequireAuthorization().WithName("servicerequest-read");
        app.MapGet("/api/fhir/ServiceRequest", SearchRequestsAsync).RequireAuthorization().WithName("servicerequest-search").WithMetadata(ServiceRequestSearch);
        app.MapGet("/api/fhir/Task/{id}", ReadTaskAsync).RequireAuthorization().WithName("task-read");
        app.MapGet("/api/fhir/ServiceRequest/{id}/_history/{vid}", (HttpContext http, string id, string vid, [AsParameters] Services services, CancellationToken ct) =>
            VersionAsync(http, "ServiceRequest", id, vid, services, ct)).RequireAuthorization().WithName("servicerequest-vread");
        app.MapGet("/api/fhir/Task/{id}/_history/{vid}", TaskVersionAsync).RequireAuthorization().WithName("task-vread");
        app.MapGet("/api/fhir/Task/{id}/_history", TaskHistoryAsync).RequireAuthorization().WithName("task-history");
        app.MapGet("/api/fhir/Task", InboxAsync).RequireAuthorization(ApiAuthentication.TherapistPolicy).WithName("task-search").WithMetadata(TaskSearch);
        foreach (var operation in Operations.Keys)
        {
            app.MapPost($"/api/fhir/Task/{{id}}/${operation}", (HttpContext http, string id, [AsParameters] Services services, CancellationToken ct) =>
                    TransitionAsync(http, id, operation, services, ct))
                .RequireAuthorization()
                .WithName($"task-{operation}");
        }

        app.MapPost($"/api/fhir/Task/{{id}}/${TaskParameters.RequestRenewalOperation}", RequestRenewalAsync)
            .RequireAuthorization(ApiAuthentication.TherapistPolicy).WithName($"task-{TaskParameters.RequestRenewalOperation}");

        return app;
    }

    /// <summary>What the endpoints use, gathered so handlers stay readable.</summary>
    public sealed record Services(
        ReferralStore Store,
        TherapistDirectory Directory,
        ReferralValidator Validator,
        ReferralNotifications Notifications,
        AuditTrail Audit,
        TimeProvider Time,
        IOptions<AuthOptions> Auth,
        EhrRegistry WriteBackEhrs,
        PageTokens Pages,
        ReferralPackage Package);

    /// <summary>
    /// Every problem of a parsed referral: the package's profile first (Firely's validator), then the rules of every
    /// input, then the business rules (<see cref="ReferralValidator"/>), each naming its element in issue.expression.
    /// A claimed meta.profile is not judged: the server judges against its own profile and replaces the claim.
    /// </summary>
    private static List<OperationOutcome.IssueComponent> Problems(ServiceRequest request, ReferralValidationResult result, ReferralPackage package)
    {
        var judged = request.Meta?.ProfileElement.Count > 0 ? (ServiceRequest)request.DeepCopy() : request;
        if (judged != request)
        {
            judged.Meta!.ProfileElement.Clear();
            if (!judged.Meta.EnumerateElements().Any())
            {
                judged.Meta = null;
            }
        }

        return [.. package.Check(judged, MedicalMassageServiceRequest.Profile), .. InputRules.Check(request), .. result.Outcome.Problems()];
    }

    /// <summary>
    /// <c>POST ServiceRequest/$validate</c> (FHIR's operation): a draft referral, as the body or as a Parameters' 'resource',
    /// checked as a submission would be (profile, input rules, business rules) and not stored. Answers 200 with the
    /// OperationOutcome (an information issue when all is well); 400 when the body is not a ServiceRequest at all.
    /// </summary>
    private static async Task<FhirResult> ValidateAsync(HttpContext http, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (json, error) = await FhirBody.ReadAsync(http.Request, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        var therapists = await services.Directory.AllAsync(cancellationToken);
        ReferralValidationResult result;
        if (FhirJson.TryParse<Parameters>(json!, out var parameters, out _))
        {
            if (parameters!.Parameter.Count != 1 || parameters.Parameter[0] is not { Name: "resource", Resource: ServiceRequest draft })
            {
                return Outcome.BadRequest("$validate takes the ServiceRequest as the body, or as the one parameter 'resource'.", TaskParameters.Path("resource"));
            }

            result = new ReferralValidationResult { Outcome = services.Validator.Validate(draft, reference => TrainingOf(therapists, reference)), Request = draft };
        }
        else
        {
            result = services.Validator.Validate(json!, reference => TrainingOf(therapists, reference));
        }

        if (!result.Parsed)
        {
            return Outcome.Of(result.Outcome, StatusCodes.Status400BadRequest);
        }

        return new FhirResult(Outcomes.From(Problems(result.Request!, result, services.Package)));
    }

    private static async Task<FhirResult> SubmitAsync(HttpContext http, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (json, error) = await FhirBody.ReadAsync(http.Request, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        var caller = Caller.From(http.User, services.Auth.Value);
        var therapists = await services.Directory.AllAsync(cancellationToken);
        var result = services.Validator.Validate(json!, reference => TrainingOf(therapists, reference));
        if (!result.Parsed)
        {
            Telemetry.ReferralMetrics.Refuse(result.Outcome.Problems());
            return Outcome.Of(result.Outcome, StatusCodes.Status400BadRequest);
        }

        // The package's profile (Firely's validator), the rules of every input (FHIR's strings and invariants, plain text)
        // and the business rules FHIR cannot express are reported together.
        var request = result.Request!;
        var problems = Problems(request, result, services.Package);
        if (problems.Any(p => p.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal))
        {
            Telemetry.ReferralMetrics.Refuse(problems);
            return Outcome.Of(Outcomes.From(problems), StatusCodes.Status422UnprocessableEntity);
        }

        // Every reference resolves to the launching EHR or is relative (DESIGN.md §6): only then may references be
        // compared as Type/id below, and only then is the subject the patient whose chart the write-back reaches.
        if (ForeignReferences(request, caller.Ehr!) is { } foreign)
        {
            Telemetry.ReferralMetrics.Refuse("foreign-reference");
            return foreign;
        }

        if (FhirReference.Key(request.Requester?.Reference ?? "") != caller.Id)
        {
            Telemetry.ReferralMetrics.Refuse("not-the-requester");
            return Outcome.Error(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden,
                "A physician can only send referrals as themselves: ServiceRequest.requester must be the signed-in user.", "ServiceRequest.requester");
        }

        // A referral is written in a patient's launch context; a token without one (no deliberate flow sends it) submits nothing.
        if (caller.Patient is null)
        {
            Telemetry.ReferralMetrics.Refuse("no-patient-in-context");
            return Outcome.Error(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden,
                "The launch has no patient in context: a referral can only be sent for the patient the app was launched for.", "ServiceRequest.subject");
        }

        if (FhirReference.Key(request.Subject?.Reference ?? "") != caller.Patient)
        {
            Telemetry.ReferralMetrics.Refuse("another-patient");
            return Outcome.Error(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden,
                "ServiceRequest.subject must be the patient the app was launched for.", "ServiceRequest.subject");
        }

        var owner = FhirReference.IdOf(request.Performer[0].Reference ?? "");
        var placer = request.Identifier.First(i => i.System == Canonicals.PlacerIdentifierSystem);
        var now = services.Time.GetUtcNow();
        request.Id = ReferralStore.IdFor(owner, caller.Ehr!, placer);
        MedicalMassageServiceRequest.ClaimProfile(request);
        var task = ReferralTasks.Create(request, now);
        task.Id = request.Id;

        // The transaction, the notification and the audit record are three round trips; they run at the same time
        // (DESIGN.md's submit budget). The notification consumer retries a referral it cannot read yet, so a message
        // that outruns the transaction is not lost. Also on a retry the event is queued again: the first attempt may
        // have stored the referral and failed before queuing it (the consumer sends each kind once).
        var audit = new AuditEntry
        {
            Caller = caller,
            Interaction = "create",
            Action = AuditEvent.AuditEventAction.C,
            Entity = $"ServiceRequest/{request.Id}",
            Patient = request.Subject?.Reference is { } subject ? FhirReference.Key(subject) : null,
            Success = true,
            SourceAddress = http.Connection.RemoteIpAddress?.ToString(),
        };
        var storing = services.Store.SubmitAsync(request, task, caller.Ehr!, caller, now, cancellationToken);
        var queued = services.Notifications.EnqueueAsync(new ReferralEvent(ReferralEvent.Submitted, request.Id), cancellationToken);
        var audited = services.Audit.RecordAsync(audit, cancellationToken);
        (SubmitOutcome Outcome, StoredReferral Referral) stored;
        try
        {
            stored = await storing;
        }
        catch (Exception e) when (e is Azure.RequestFailedException or InvalidOperationException)
        {
            await audited;
            await services.Audit.RecordAsync(audit with { Success = false }, cancellationToken);
            throw;
        }

        await Task.WhenAll(queued, audited);
        var (submitted, referral) = stored;
        if (submitted == SubmitOutcome.Created)
        {
            Telemetry.ReferralMetrics.Submitted.Add(1);
        }

        return new FhirResult(referral.Request, submitted == SubmitOutcome.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK)
        {
            Location = new Uri($"{http.Request.Scheme}://{http.Request.Host}/api/fhir/ServiceRequest/{referral.Id}"),
            ETag = ETagOf(referral),
        };
    }

    private static async Task<FhirResult> ReadRequestAsync(HttpContext http, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        var (caller, referral) = await LoadAsync(http, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(Denied(http, caller, "read", $"ServiceRequest/{id}"), cancellationToken);
            return Outcome.NotFound("ServiceRequest", id);
        }

        await services.Audit.RecordAsync(Entry(http, caller, "read", AuditEvent.AuditEventAction.R, referral, success: true), cancellationToken);
        var served = await WithEhrCopyAsync(referral, services, cancellationToken);
        return new FhirResult(served) { ETag = ETagOf(referral), VersionCoversContent = ReferenceEquals(served, referral.Request) };
    }

    /// <summary>
    /// The referral as served, with its EHR copy's state as a <c>meta.tag</c> where its EHR takes the copy (the
    /// write-back's outcome, from the referral's work state: one point read); the stored resource is not changed.
    /// </summary>
    private static async Task<ServiceRequest> WithEhrCopyAsync(StoredReferral referral, Services services, CancellationToken cancellationToken)
    {
        if (!services.WriteBackEhrs.WritesServiceRequest(referral.Ehr))
        {
            return referral.Request;
        }

        var served = (ServiceRequest)referral.Request.DeepCopy();
        served.Meta ??= new Meta();
        served.Meta.Tag.Add(EhrWriteBackWork.CopyTag(await services.Store.WorkAsync(referral.Id, cancellationToken)));
        return served;
    }

    private static async Task<FhirResult> ReadTaskAsync(HttpContext http, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        var (caller, referral) = await LoadAsync(http, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(Denied(http, caller, "read", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        await services.Audit.RecordAsync(Entry(http, caller, "read", AuditEvent.AuditEventAction.R, referral, success: true, entity: $"Task/{id}"), cancellationToken);
        return new FhirResult(referral.Task) { ETag = ETagOf(referral) };
    }

    /// <summary>
    /// <c>GET /ServiceRequest/{id}/_history/{vid}</c>: the version asked for, when it is the one this server keeps. A
    /// change replaces the referral's stored ServiceRequest, so only its current version is kept: an earlier one is a
    /// 404 that says so and names the current one. (The Task's versions are all kept: <see cref="TaskVersionAsync"/>.)
    /// </summary>
    private static async Task<FhirResult> VersionAsync(HttpContext http, string type, string id, string vid, Services services, CancellationToken cancellationToken)
    {
        var current = await ReadRequestAsync(http, id, services, cancellationToken);
        if (current.StatusCode != StatusCodes.Status200OK || current.Resource.Meta?.VersionId == vid)
        {
            return current;
        }

        return Outcome.Error(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound,
            $"{type}/{id} version {vid} is not kept: this server keeps only the current version of a referral's ServiceRequest ({current.Resource.Meta?.VersionId}). " +
            $"Read {type}/{id}, or Task/{id}/_history for the referral's every version.");
    }

    /// <summary>
    /// <c>GET /Task/{id}/_history/{vid}</c>: the Task as it was stored at that version (its history row; the current
    /// version is the Task itself). Access as for the Task; audited as a read of it. A version never written, or one
    /// written before this server kept history rows, is a 404 that says which.
    /// </summary>
    private static async Task<FhirResult> TaskVersionAsync(HttpContext http, string id, string vid, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        var (caller, referral) = await LoadAsync(http, id, services, cancellationToken);
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
            : new FhirResult(task) { ETag = $"W/\"{version.ToString(CultureInfo.InvariantCulture)}\"" };
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
    private static async Task<FhirResult> TaskHistoryAsync(HttpContext http, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

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

        var (caller, referral) = await LoadAsync(http, id, services, cancellationToken);
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
                    Etag = $"W/\"{version.ToString(CultureInfo.InvariantCulture)}\"",
                    LastModified = task.Meta?.LastUpdated,
                },
            });
        }

        return new FhirResult(bundle);
    }

    /// <summary>
    /// <c>GET /api/fhir/ServiceRequest?patient=&amp;requester=&amp;performer=&amp;status=</c>. A physician searches
    /// their launched patient's referrals or their own; a therapist the referrals sent to them.
    /// </summary>
    private static async Task<FhirResult> SearchRequestsAsync(HttpContext http, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (search, searchError) = await Search.ReadAsync(http, ServiceRequestSearch, services.Pages);
        if (searchError is not null)
        {
            return searchError;
        }

        var query = search!.Query;

        RequestStatus? status = null;
        if (query.TryGetValue("status", out var statusText))
        {
            if (Hl7.Fhir.Utility.EnumUtility.ParseLiteral<RequestStatus>(statusText.ToString()) is not { } parsed)
            {
                return Outcome.BadRequest($"status must be a ServiceRequest status code (active, completed, revoked, ...).", "status");
            }

            status = parsed;
        }

        // _revinclude=Task:focus: each referral's Task beside it (one Task per referral, stored with it), so a list or a
        // page needs one call, not one per referral.
        var revinclude = false;
        if (query.TryGetValue("_revinclude", out var revincludes))
        {
            if (revincludes.Any(value => value is not (IncludeFocus or IncludeFocus + ":ServiceRequest")))
            {
                return Outcome.BadRequest($"_revinclude supports only {IncludeFocus} (the referral's Task).", "_revinclude");
            }

            revinclude = true;
        }

        var id = Single(query, "_id");
        if (id is not null && InvalidId(id) is not null)
        {
            return Outcome.BadRequest("_id is not a FHIR id (letters, digits, '-' and '.', at most 64).", "_id");
        }

        var caller = Caller.From(http.User, services.Auth.Value);
        var patient = Reference(query, "patient", "Patient", out var patientError);
        var requester = Reference(query, "requester", "Practitioner", out var requesterError);
        var performer = Reference(query, "performer", "PractitionerRole", out var performerError);
        if ((patientError ?? requesterError ?? performerError) is { } referenceError)
        {
            return referenceError;
        }

        if (caller.Kind == CallerKind.Therapist && performer is not null && FhirReference.IdOf(performer) != caller.Id)
        {
            return Outcome.Forbidden("A therapist can only search the referrals sent to them.");
        }

        IReadOnlyList<StoredReferral> found;
        (bool Paged, string? Next) stored = (false, null);
        if (id is not null)
        {
            // One point read; who may see it is checked below, as for every other search.
            found = await services.Store.GetAsync(id, cancellationToken) is { } one ? [one] : [];
        }
        else if (caller.Kind == CallerKind.Therapist)
        {
            found = await services.Store.ForOwnerAsync(caller.Id, cancellationToken);
        }
        else if (patient is not null)
        {
            found = await services.Store.FindAsync(ReferralLookup.Patient, caller.Ehr!, patient, cancellationToken);
        }
        else
        {
            if (requester is not null && requester != caller.Id)
            {
                return Outcome.Forbidden("A physician can search their own referrals, or their launched patient's.");
            }

            // The physician's own referrals: read a page at a time from their pointers, newest first (no total).
            (found, var nextSent) = await services.Store.RequestedByAsync(caller.Ehr!, caller.Id, search.Count, search.Position, cancellationToken);
            stored = (true, nextSent);
        }

        var matches = found
            .Where(r => ReferralAccess.CanSee(caller, r))
            .Where(r => patient is null || FhirReference.Key(r.Request.Subject?.Reference ?? "") == patient)
            .Where(r => requester is null || FhirReference.Key(r.Request.Requester?.Reference ?? "") == requester)
            .Where(r => performer is null || r.Owner == FhirReference.IdOf(performer))
            .Where(r => status is null || r.Request.Status == status)
            .ToList();

        // A search by _id reads one referral, and is audited as its read is (a denial where the caller may not see it).
        await services.Audit.RecordAsync(id is null
            ? new AuditEntry
            {
                Caller = caller,
                Interaction = "search-type",
                Action = AuditEvent.AuditEventAction.R,
                Entity = "ServiceRequest",
                Patient = patient,
                Success = true,
                SourceAddress = http.Connection.RemoteIpAddress?.ToString(),
            }
            : matches.Count == 1
                ? Entry(http, caller, "read", AuditEvent.AuditEventAction.R, matches[0], success: true)
                : Denied(http, caller, "read", $"ServiceRequest/{id}"), cancellationToken);

        var (page, next) = stored.Paged ? (matches, stored.Next) : search.Slice(matches);
        // A search by _id serves the referral as its read does, with its EHR copy's state (the status page reads it so);
        // a list leaves it out rather than pay a point read per referral.
        IReadOnlyList<Resource> requests = id is not null && page.Count == 1
            ? [await WithEhrCopyAsync(page[0], services, cancellationToken)]
            : page.Select(r => (Resource)r.Request).ToList();
        return new FhirResult(await search.BundleAsync(requests, next, stored.Paged ? null : matches.Count,
            revinclude ? page.Select(r => (Resource)r.Task) : null));
    }

    /// <summary>
    /// <c>GET /api/fhir/Task?owner=&amp;status=&amp;_include=Task:focus&amp;_summary=count&amp;_count=</c>: a therapist's inbox,
    /// newest first, paged. <c>status</c> takes a comma-separated list (any of); <c>_include=Task:focus</c> adds each
    /// Task's ServiceRequest from the same partition; <c>_summary=count</c> answers only the total.
    /// </summary>
    private static async Task<FhirResult> InboxAsync(HttpContext http, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (search, searchError) = await Search.ReadAsync(http, TaskSearch, services.Pages);
        if (searchError is not null)
        {
            return searchError;
        }

        var query = search!.Query;
        var caller = Caller.From(http.User, services.Auth.Value);
        var owner = Reference(query, "owner", "PractitionerRole", out var ownerError);
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

        var audit = new AuditEntry
        {
            Caller = caller,
            Interaction = "search-type",
            Action = AuditEvent.AuditEventAction.R,
            Entity = "Task",
            Success = true,
            SourceAddress = http.Connection.RemoteIpAddress?.ToString(),
        };
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
    private static async Task<FhirResult> TransitionAsync(HttpContext http, string id, string operation, Services services, CancellationToken cancellationToken)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        var input = TransitionInput.None;
        Parameters? parameters = null;
        if (http.Request.ContentLength is > 0 || http.Request.Headers.ContentType.Count > 0)
        {
            (parameters, var bodyError) = await ReadParametersAsync(http, cancellationToken);
            if (bodyError is not null)
            {
                return bodyError;
            }

            var (read, readError) = TaskParameters.ReadTransition(operation, parameters!);
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

        var (caller, referral) = await LoadAsync(http, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(Denied(http, caller, "operation", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        if (ForeignReferences(parameters, referral.Ehr) is { } foreign)
        {
            return foreign;
        }

        if (StaleIfMatch(http, referral) is { } stale)
        {
            return stale;
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
        var updated = await services.Store.UpdateAsync(referral, task, request, caller, now, cancellationToken);
        await queued;
        if (updated is null)
        {
            return ChangedMeanwhile();
        }

        await services.Audit.RecordAsync(Entry(http, caller, "operation", AuditEvent.AuditEventAction.U, updated, success: true, entity: $"Task/{id}"), cancellationToken);
        return new FhirResult(updated.Task) { ETag = ETagOf(updated) };
    }

    /// <summary>
    /// <c>POST /api/fhir/Task/{id}/$request-renewal</c>, by the therapist the referral is assigned to, while it is accepted
    /// or under treatment: a Parameters body with <c>reason</c> (required) and <c>sessions</c> (1-52, optional). The
    /// request is added to the Task's output (earlier ones are kept) and the physician is told.
    /// </summary>
    private static async Task<FhirResult> RequestRenewalAsync(HttpContext http, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        var (parameters, bodyError) = await ReadParametersAsync(http, cancellationToken);
        if (bodyError is not null)
        {
            return bodyError;
        }

        var (input, readError) = TaskParameters.ReadRenewal(parameters!);
        if (readError is not null)
        {
            return readError;
        }

        var (caller, referral) = await LoadAsync(http, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(Denied(http, caller, "operation", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        if (ForeignReferences(parameters, referral.Ehr) is { } foreign)
        {
            return foreign;
        }

        if (StaleIfMatch(http, referral) is { } stale)
        {
            return stale;
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
        var updated = await services.Store.UpdateAsync(referral, task, null, caller, now, cancellationToken);
        await queued;
        if (updated is null)
        {
            return ChangedMeanwhile();
        }

        await services.Audit.RecordAsync(Entry(http, caller, "operation", AuditEvent.AuditEventAction.U, updated, success: true, entity: $"Task/{id}"), cancellationToken);
        return new FhirResult(updated.Task) { ETag = ETagOf(updated) };
    }

    internal static Task<(Parameters? Parameters, FhirResult? Error)> ReadParametersAsync(HttpContext http, CancellationToken cancellationToken) =>
        FhirBody.ReadParametersAsync(http.Request, cancellationToken);

    /// <summary>
    /// A 422 naming each reference in a submitted body that is neither relative, contained nor on <paramref name="ehr"/>
    /// (the launching EHR, or the referral's): DESIGN.md §6, checked here for every body the API takes.
    /// </summary>
    internal static FhirResult? ForeignReferences(Resource? body, string ehr)
    {
        if (body is null)
        {
            return null;
        }

        var foreign = LaunchReferences.Foreign(body, ehr).ToList();
        return foreign.Count > 0 ? Outcome.Of(Outcomes.From(foreign), StatusCodes.Status422UnprocessableEntity) : null;
    }

    internal static FhirResult? StaleIfMatch(HttpContext http, StoredReferral referral) =>
        http.Request.Headers.IfMatch.Count > 0 && http.Request.Headers.IfMatch.ToString() != ETagOf(referral)
            ? Outcome.Error(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Conflict,
                $"The Task has changed since you read it (it is now {ETagOf(referral)}): read it again and retry.")
            : null;

    internal static FhirResult ChangedMeanwhile() => Outcome.Error(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Conflict,
        "The Task changed while this change was being made: read it again and retry.");

    /// <summary>A refused change: 403 when the actor may not make it, 409 when the referral's state does not allow it, else 422.</summary>
    internal static FhirResult Refused(OperationOutcome outcome)
    {
        var issues = outcome.Issue;
        var statusCode = issues.Any(i => i.Code == OperationOutcome.IssueType.Forbidden) ? StatusCodes.Status403Forbidden
            : issues.Any(i => i.Code == OperationOutcome.IssueType.BusinessRule) ? StatusCodes.Status409Conflict
            : StatusCodes.Status422UnprocessableEntity;
        return Outcome.Of(outcome, statusCode);
    }

    internal static async Task<(Caller Caller, StoredReferral? Referral)> LoadAsync(HttpContext http, string id, Services services, CancellationToken cancellationToken)
    {
        var caller = Caller.From(http.User, services.Auth.Value);
        var referral = await services.Store.GetAsync(id, cancellationToken);
        return (caller, referral is not null && ReferralAccess.CanSee(caller, referral) ? referral : null);
    }

    private static List<TherapistTraining>? TrainingOf(IReadOnlyDictionary<string, PractitionerRole> therapists, string reference)
    {
        if (ResourceRef.TypeOf(reference) != "PractitionerRole" || !therapists.TryGetValue(FhirReference.IdOf(reference), out var role))
        {
            return null;
        }

        var held = new List<TherapistTraining>();
        foreach (var coding in TherapistDirectory.Trainings(role))
        {
            if (TherapistTrainings.Codes.TryFind(coding, out var training))
            {
                held.Add(training);
            }
        }

        return held;
    }

    internal static string ETagOf(StoredReferral referral) => $"W/\"{referral.Version.ToString(CultureInfo.InvariantCulture)}\"";

    internal static string BaseUrl(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}";

    internal static string? Single(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;

    /// <summary>
    /// A reference search value as <c>Type/id</c>, whether given as an id, a relative or an absolute reference;
    /// <paramref name="error"/> when it is no reference to a <paramref name="type"/> with a valid id.
    /// </summary>
    internal static string? Reference(IQueryCollection query, string name, string type, out FhirResult? error)
    {
        error = null;
        if (SearchQuery.Value(query, name) is not { } value)
        {
            return null;
        }

        var key = FhirReference.Key(value.Contains('/', StringComparison.Ordinal) ? value : $"{type}/{value}");
        if (!key.StartsWith(type + "/", StringComparison.Ordinal) || !SearchQuery.IsFhirId(key[(type.Length + 1)..]))
        {
            error = Outcome.BadRequest($"{name} must be a {type} id or reference ({type}/[id]; ids are letters, digits, '-' and '.').", name);
            return null;
        }

        return key;
    }


    internal static FhirResult? InvalidId(string id) =>
        SearchQuery.IsFhirId(id) ? null : Outcome.BadRequest("The id in the address is not a FHIR id (letters, digits, '-' and '.', at most 64).", "id");

    internal static AuditEntry Entry(HttpContext http, Caller caller, string interaction, AuditEvent.AuditEventAction action, StoredReferral referral, bool success, string? entity = null) => new()
    {
        Caller = caller,
        Interaction = interaction,
        Action = action,
        Entity = entity ?? $"ServiceRequest/{referral.Id}",
        Patient = referral.Request.Subject?.Reference is { } subject ? FhirReference.Key(subject) : null,
        Success = success,
        SourceAddress = http.Connection.RemoteIpAddress?.ToString(),
    };

    internal static AuditEntry Denied(HttpContext http, Caller caller, string interaction, string entity) => new()
    {
        Caller = caller,
        Interaction = interaction,
        Action = AuditEvent.AuditEventAction.R,
        Entity = entity,
        Success = false,
        SourceAddress = http.Connection.RemoteIpAddress?.ToString(),
    };
}

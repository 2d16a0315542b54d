using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
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

namespace Referral.Functions.Referrals;

/// <summary>
/// Referrals in (<c>POST /api/fhir/ServiceRequest</c>), validated, read and searched (the Task's endpoints are
/// <see cref="TaskEndpoints"/>). Every patient-data access is audited.
/// </summary>
public static class ReferralEndpoints
{
    /// <summary>The one <c>_include</c> the inbox supports: the Task's focal ServiceRequest (with or without its target type).</summary>
    public const string IncludeFocus = "Task:focus";

    public static SearchDeclaration ServiceRequestSearch { get; } = new("ServiceRequest",
    [
        new("_id", SearchParamType.Token,
            "One referral by its id: with _revinclude=Task:focus, the referral and its Task in one call; adding _revinclude=Procedure:based-on, " +
            "_revinclude=Observation:based-on and _revinclude:iterate=Communication:part-of (the messages on its Task), its whole course."),
        new("patient", SearchParamType.Reference, "The patient; a physician sees their launched patient's referrals."),
        new("requester", SearchParamType.Reference, "The prescribing physician (defaults to the caller)."),
        new("performer", SearchParamType.Reference, "The therapist's PractitionerRole."),
        new("status", SearchParamType.Token, "active, completed, revoked, ..."),
        new("reason-code", SearchParamType.Token,
            "A diagnosis of the referral (ServiceRequest.reasonCode): [system]|[code] or [code], comma-separated for any of them."),
        new("occurrence", SearchParamType.Date,
            "ge[date] only: referrals whose validity (occurrenceTiming.repeat.boundsPeriod) still runs on that day or later."),
    ], DefaultCount: 50, MaxCount: 100)
    {
        RevIncludes = [IncludeFocus, RevIncludeProcedures, RevIncludeObservations],
        RevIncludesIterate = [RevIncludeMessages],
        TotalDocumentation = "total is exact on every page, but for a physician's own referrals (no _id, no patient), which are read one page at a time, newest first: there total is left out, and a page may hold fewer than _count (a referral filtered out by status or performer) and still have a next link.",
    };

    public const string RevIncludeProcedures = "Procedure:based-on";
    public const string RevIncludeObservations = "Observation:based-on";

    /// <summary>The messages on an included Task (<c>_revinclude:iterate</c>: they point at the Task, not the ServiceRequest).</summary>
    public const string RevIncludeMessages = "Communication:part-of";

    public static IEndpointRouteBuilder MapReferrals(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/fhir/ServiceRequest", SubmitAsync).RequireAuthorization(ApiAuthentication.PhysicianPolicy).WithName("servicerequest-create");
        app.MapPost("/api/fhir/ServiceRequest/$validate", ValidateAsync).RequireAuthorization(ApiAuthentication.PhysicianPolicy).WithName("servicerequest-validate");
        app.MapGet("/api/fhir/ServiceRequest/{id}", ReadRequestAsync).RequireAuthorization().ValidatesId().WithName("servicerequest-read");
        app.MapGet("/api/fhir/ServiceRequest", SearchRequestsAsync).RequireAuthorization().WithName("servicerequest-search").WithMetadata(ServiceRequestSearch);
        app.MapGet("/api/fhir/ServiceRequest/{id}/_history/{vid}", (HttpContext http, Caller caller, string id, string vid, [AsParameters] Services services, CancellationToken ct) =>
            VersionAsync(http, caller, "ServiceRequest", id, vid, services, ct)).RequireAuthorization().ValidatesId().WithName("servicerequest-vread");

        return app;
    }

    /// <summary>
    /// What the endpoints use, gathered so handlers stay readable. Each is marked a service: the request delegates are
    /// generated at build time (Directory.Build.props), and the generator, unsure whether a member of an
    /// <c>[AsParameters]</c> record is a service or a JSON body, would let only JSON bodies reach the endpoint (XML a 415).
    /// </summary>
    public sealed record Services(
        [FromServices] ReferralStore Store,
        [FromServices] TherapistDirectory Directory,
        [FromServices] ReferralValidator Validator,
        [FromServices] ReferralNotifications Notifications,
        [FromServices] AuditTrail Audit,
        [FromServices] TimeProvider Time,
        [FromServices] EhrRegistry WriteBackEhrs,
        [FromServices] PageTokens Pages,
        [FromServices] ReferralPackage Package);

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

    private static async Task<FhirResult> SubmitAsync(HttpContext http, Caller caller, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (json, error) = await FhirBody.ReadAsync(http.Request, cancellationToken);
        if (error is not null)
        {
            return error;
        }

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
        if (http.Request.Headers[IfNoneExist] is { Count: > 0 } conditions
            && await ExistingAsync(http, caller, request, conditions.ToString(), services, cancellationToken) is { } existing)
        {
            return existing;
        }

        MedicalMassageServiceRequest.ClaimProfile(request);
        var task = ReferralTasks.Create(request, now);
        task.Id = request.Id;

        // The transaction, the notification and the audit record are three round trips; they run at the same time
        // (DESIGN.md's submit budget). The notification consumer retries a referral it cannot read yet, so a message
        // that outruns the transaction is not lost. Also on a retry the event is queued again: the first attempt may
        // have stored the referral and failed before queuing it (the consumer sends each kind once).
        var audit = AuditEntry.Of(http, caller, "create", AuditEvent.AuditEventAction.C, $"ServiceRequest/{request.Id}",
            request.Subject?.Reference is { } subject ? FhirReference.Key(subject) : null, success: true);
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
            Location = new Uri($"{BaseUrl(http)}/api/fhir/ServiceRequest/{referral.Id}"),
            ETag = ETagOf(referral),
        };
    }

    /// <summary>The conditional create's header: create only when no referral matches these search parameters.</summary>
    public const string IfNoneExist = "If-None-Exist";

    /// <summary>What <see cref="IfNoneExist"/> may ask: the patient's referrals, narrowed as their search narrows them.</summary>
    private static readonly string[] ConditionalCreateParameters = ["patient", "requester", "status", "reason-code", "occurrence"];

    /// <summary>
    /// FHIR's conditional create: <c>If-None-Exist</c> holds search parameters over the referral's patient's referrals
    /// that the caller may see (its own attempt, by its placer identifier, excepted: a retry stays a retry). None
    /// matches: null, and the referral is created. One matches: 200 with that referral, nothing created (the read is
    /// audited). More than one: 412, nothing created. So "no second open referral for this diagnosis unless the
    /// physician says so" is decided where the referrals are, at the moment of the write, and the criteria are a
    /// client's own: the smart-app asks <c>patient</c>, <c>requester</c>, <c>status=active</c>, the diagnosis's codes
    /// (<c>reason-code</c>) and <c>occurrence=ge[today]</c>.
    /// </summary>
    private static async Task<FhirResult?> ExistingAsync(HttpContext http, Caller caller, ServiceRequest request, string conditions, Services services, CancellationToken cancellationToken)
    {
        var query = new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(conditions));
        if (query.Keys.FirstOrDefault(k => !ConditionalCreateParameters.Contains(k, StringComparer.Ordinal)) is { } unsupported)
        {
            return Outcome.BadRequest($"{IfNoneExist} supports {string.Join(", ", ConditionalCreateParameters)}; not {unsupported}.");
        }

        if (ReferralCriteria.Parse(query, out var error) is not { } criteria)
        {
            return error;
        }

        if (criteria.Patient is null || criteria.Patient != FhirReference.Key(request.Subject?.Reference ?? ""))
        {
            return Outcome.BadRequest($"{IfNoneExist} must name the referral's patient (patient=Patient/[id] of ServiceRequest.subject).");
        }

        var matches = (await services.Store.FindAsync(ReferralLookup.Patient, caller.Ehr!, criteria.Patient, cancellationToken))
            .Where(r => r.Id != request.Id && ReferralAccess.CanSee(caller, r) && criteria.Matches(r))
            .ToList();
        if (matches.Count == 0)
        {
            return null;
        }

        if (matches.Count > 1)
        {
            await services.Audit.RecordAsync(AuditEntry.Search(caller, "ServiceRequest", http, criteria.Patient), cancellationToken);
            return Outcome.Error(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Duplicate,
                $"{IfNoneExist} matches {matches.Count} referrals ({string.Join(", ", matches.Select(m => "ServiceRequest/" + m.Id))}): none was created.");
        }

        await services.Audit.RecordAsync(Entry(http, caller, "read", AuditEvent.AuditEventAction.R, matches[0], success: true), cancellationToken);
        return new FhirResult(matches[0].Request, StatusCodes.Status200OK)
        {
            Location = new Uri($"{BaseUrl(http)}/api/fhir/ServiceRequest/{matches[0].Id}"),
            ETag = ETagOf(matches[0]),
        };
    }

    private static async Task<FhirResult> ReadRequestAsync(HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var referral = await LoadAsync(caller, id, services, cancellationToken);
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

    /// <summary>
    /// <c>GET /ServiceRequest/{id}/_history/{vid}</c>: the version asked for, when it is the one this server keeps. A
    /// change replaces the referral's stored ServiceRequest, so only its current version is kept: an earlier one is a
    /// 404 that says so and names the current one. (The Task's versions are all kept: <c>GET /Task/{id}/_history/{vid}</c>.)
    /// </summary>
    private static async Task<FhirResult> VersionAsync(HttpContext http, Caller caller, string type, string id, string vid, Services services, CancellationToken cancellationToken)
    {
        var current = await ReadRequestAsync(http, caller, id, services, cancellationToken);
        if (current.StatusCode != StatusCodes.Status200OK || current.Resource.Meta?.VersionId == vid)
        {
            return current;
        }

        return Outcome.Error(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound,
            $"{type}/{id} version {vid} is not kept: this server keeps only the current version of a referral's ServiceRequest ({current.Resource.Meta?.VersionId}). " +
            $"Read {type}/{id}, or Task/{id}/_history for the referral's every version.");
    }

    /// <summary>
    /// <c>GET /api/fhir/ServiceRequest?patient=&amp;requester=&amp;performer=&amp;status=&amp;reason-code=&amp;occurrence=</c>. A physician searches
    /// their launched patient's referrals or their own; a therapist the referrals sent to them.
    /// </summary>
    private static async Task<FhirResult> SearchRequestsAsync(HttpContext http, Caller caller, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (search, searchError) = await Search.ReadAsync(http, ServiceRequestSearch, services.Pages);
        if (searchError is not null)
        {
            return searchError;
        }

        var query = search!.Query;
        if (ReferralCriteria.Parse(query, out var criteriaError) is not { } criteria)
        {
            return criteriaError!;
        }

        // _revinclude=Task:focus: each referral's Task beside it (one Task per referral, stored with it), so a list or a
        // page needs one call, not one per referral. With _id, also its sessions (Procedures, Observations) and the
        // messages on its Task: a status page or an inbox referral in one call.
        var revincludes = query.TryGetValue("_revinclude", out var revincludeValues) ? revincludeValues.Select(v => v == IncludeFocus + ":ServiceRequest" ? IncludeFocus : v).ToHashSet(StringComparer.Ordinal) : [];
        var iterates = query.TryGetValue("_revinclude:iterate", out var iterateValues) ? iterateValues.ToHashSet(StringComparer.Ordinal) : [];
        if (revincludes.FirstOrDefault(v => !ServiceRequestSearch.RevIncludes.Contains(v, StringComparer.Ordinal)) is { } unknownRevinclude)
        {
            return Outcome.BadRequest($"_revinclude supports {string.Join(", ", ServiceRequestSearch.RevIncludes)}; not {unknownRevinclude}.", "_revinclude");
        }

        if (iterates.FirstOrDefault(v => !ServiceRequestSearch.RevIncludesIterate.Contains(v, StringComparer.Ordinal)) is { } unknownIterate)
        {
            return Outcome.BadRequest($"_revinclude:iterate supports {string.Join(", ", ServiceRequestSearch.RevIncludesIterate)} (with _revinclude={IncludeFocus}); not {unknownIterate}.", "_revinclude:iterate");
        }

        var revinclude = revincludes.Contains(IncludeFocus);
        var courseIncludes = revincludes.Contains(RevIncludeProcedures) || revincludes.Contains(RevIncludeObservations) || iterates.Count > 0;

        var id = SearchQuery.Value(query, "_id");
        if (id is not null && !SearchQuery.IsFhirId(id))
        {
            return Outcome.BadRequest("_id is not a FHIR id (letters, digits, '-' and '.', at most 64).", "_id");
        }

        if (courseIncludes && id is null)
        {
            // A course's sessions and messages are one referral's: a list with them would read every referral's partition.
            return Outcome.BadRequest($"{RevIncludeProcedures}, {RevIncludeObservations} and {RevIncludeMessages} are included in a search by _id only.", "_revinclude");
        }

        var (patient, requester) = (criteria.Patient, criteria.Requester);
        if (caller.Kind == CallerKind.Therapist && criteria.Performer is { } performer && FhirReference.IdOf(performer) != caller.Id)
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

        var matches = found.Where(r => ReferralAccess.CanSee(caller, r) && criteria.Matches(r)).ToList();

        // A search by _id reads one referral, and is audited as its read is (a denial where the caller may not see it).
        await services.Audit.RecordAsync(id is null
            ? AuditEntry.Search(caller, "ServiceRequest", http, patient)
            : matches.Count == 1
                // What was included is part of what was read: the search's query goes with the entry (entity.query).
                ? Entry(http, caller, "read", AuditEvent.AuditEventAction.R, matches[0], success: true) with { Query = courseIncludes ? http.Request.QueryString.Value : null }
                : Denied(http, caller, "read", $"ServiceRequest/{id}"), cancellationToken);

        var (page, next) = stored.Paged ? (matches, stored.Next) : search.Slice(matches);
        // A search by _id serves the referral as its read does, with its EHR copy's state (the status page reads it so);
        // a list leaves it out rather than pay a point read per referral.
        IReadOnlyList<Resource> requests = id is not null && page.Count == 1
            ? [await WithEhrCopyAsync(page[0], services, cancellationToken)]
            : page.Select(r => (Resource)r.Request).ToList();
        var included = revinclude ? page.Select(r => (Resource)r.Task).ToList() : [];
        if (courseIncludes && page.Count == 1)
        {
            included.AddRange(await CourseOfAsync(page[0].Id, revincludes, revinclude && iterates.Contains(RevIncludeMessages), services.Store, cancellationToken));
        }

        return new FhirResult(await search.BundleAsync(requests, next, stored.Paged ? null : matches.Count, included));
    }

    /// <summary>
    /// A referral's sessions and messages as the search includes them, oldest first, each one partition range query, at
    /// once: its Procedures and Observations (<c>based-on</c> it) and the Communications on its Task (only when the Task
    /// is included: <c>:iterate</c> follows the included resources).
    /// </summary>
    private static async Task<IEnumerable<Resource>> CourseOfAsync(string id, HashSet<string?> revincludes, bool messages, ReferralStore store, CancellationToken cancellationToken)
    {
        var procedures = revincludes.Contains(RevIncludeProcedures) ? store.ProceduresAsync(id, cancellationToken) : null;
        var observations = revincludes.Contains(RevIncludeObservations) ? store.ObservationsAsync(id, null, cancellationToken) : null;
        var communications = messages ? store.MessagesAsync(id, cancellationToken) : null;
        return
        [
            .. procedures is null ? [] : (await procedures).Select(p => (Resource)p.Resource),
            .. observations is null ? [] : (await observations).Select(o => (Resource)o.Resource),
            .. communications is null ? [] : await communications,
        ];
    }

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

    /// <summary>A refused change: 403 when the actor may not make it, 409 when the referral's state does not allow it, else 422.</summary>
    internal static FhirResult Refused(OperationOutcome outcome)
    {
        var issues = outcome.Issue;
        var statusCode = issues.Any(i => i.Code == OperationOutcome.IssueType.Forbidden) ? StatusCodes.Status403Forbidden
            : issues.Any(i => i.Code == OperationOutcome.IssueType.BusinessRule) ? StatusCodes.Status409Conflict
            : StatusCodes.Status422UnprocessableEntity;
        return Outcome.Of(outcome, statusCode);
    }

    /// <summary>The referral, when the caller may see it (<see cref="ReferralAccess"/>); else null, as for one that does not exist.</summary>
    internal static async Task<StoredReferral?> LoadAsync(Caller caller, string id, Services services, CancellationToken cancellationToken) =>
        await services.Store.GetAsync(id, cancellationToken) is { } referral && ReferralAccess.CanSee(caller, referral) ? referral : null;

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

    internal static string ETagOf(StoredReferral referral) => FhirVersions.ETag(referral.Version);

    internal static string BaseUrl(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}";

    /// <summary>An access to <paramref name="referral"/> (its ServiceRequest, or <paramref name="entity"/>), with its patient.</summary>
    internal static AuditEntry Entry(HttpContext http, Caller caller, string interaction, AuditEvent.AuditEventAction action, StoredReferral referral, bool success, string? entity = null) =>
        AuditEntry.Of(http, caller, interaction, action, entity ?? $"ServiceRequest/{referral.Id}",
            referral.Request.Subject?.Reference is { } subject ? FhirReference.Key(subject) : null, success);

    /// <summary>A read refused (absent or not the caller's: the entry does not say which).</summary>
    internal static AuditEntry Denied(HttpContext http, Caller caller, string interaction, string entity) =>
        AuditEntry.Of(http, caller, interaction, AuditEvent.AuditEventAction.R, entity, patient: null, success: false);
}

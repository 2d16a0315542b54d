using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Referral.Functions.Audit;
using Referral.Functions.Fhir;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Functions.Telemetry;
using Referral.Functions.WriteBack;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Sessions;
using Referral.Model.Tasks;

namespace Referral.Functions.Sessions;

/// <summary>
/// Sessions and progress: <c>POST /api/fhir/Task/{id}/$record-session</c> turns the therapist's report into a
/// Procedure and Observations stored with the Task's change in one transaction, then queues the EHR write-back;
/// <c>GET /api/fhir/Observation</c> and <c>GET /api/fhir/Procedure</c> search them by <c>based-on</c> (the referral)
/// or <c>patient</c>, oldest first. Who may see them is who may see the referral; every access is audited.
/// </summary>
public static class SessionEndpoints
{
    public const string RecordSessionOperation = "record-session";

    public static SearchDeclaration ObservationSearch { get; } = new("Observation",
    [
        new("based-on", SearchParamType.Reference, "The referral (ServiceRequest/[id]): its session outcomes, oldest first."),
        new("patient", SearchParamType.Reference, "Patient/[id]: the outcomes of every referral of the patient the caller may see, oldest first."),
    ], DefaultCount: 50, MaxCount: 200)
    {
        TotalDocumentation = "total is exact on every page.",
    };

    public static SearchDeclaration ProcedureSearch { get; } = new("Procedure",
    [
        new("based-on", SearchParamType.Reference, "The referral (ServiceRequest/[id]): its sessions, oldest first."),
        new("patient", SearchParamType.Reference, "Patient/[id]: the sessions of every referral of the patient the caller may see, oldest first."),
    ], DefaultCount: 50, MaxCount: 200)
    {
        TotalDocumentation = "total is exact on every page.",
    };

    public static IEndpointRouteBuilder MapSessions(this IEndpointRouteBuilder app)
    {
        app.MapPost($"/api/fhir/Task/{{id}}/${RecordSessionOperation}", RecordAsync)
            .RequireAuthorization(ApiAuthentication.TherapistPolicy).ValidatesId().WithName("task-record-session");
        app.MapGet("/api/fhir/Observation", (HttpContext http, Caller caller, [AsParameters] Services services, CancellationToken ct) =>
            SearchAsync<Observation>(http, caller, services, ObservationSearch, ct)).RequireAuthorization().WithName("observation-search").WithMetadata(ObservationSearch);
        app.MapGet("/api/fhir/Procedure", (HttpContext http, Caller caller, [AsParameters] Services services, CancellationToken ct) =>
            SearchAsync<Procedure>(http, caller, services, ProcedureSearch, ct)).RequireAuthorization().WithName("procedure-search").WithMetadata(ProcedureSearch);
        return app;
    }

    /// <summary>
    /// What the endpoints use; each member is marked a service for the reason
    /// <see cref="Referral.Functions.Referrals.ReferralEndpoints.Services"/> gives.
    /// </summary>
    public sealed record Services(
        [FromServices] ReferralStore Store,
        [FromServices] SessionRecorder Recorder,
        [FromServices] EhrRegistry Ehrs,
        [FromServices] EhrWriteBackRequests WriteBack,
        [FromServices] AuditTrail Audit,
        [FromServices] TimeProvider Time,
        [FromServices] PageTokens Pages);

    /// <summary>
    /// Records one session. In this order: the body is read and its content checked against the referral (400/422),
    /// then <c>If-Match</c> (412), then the request's idempotency key (<see cref="SessionReplay"/>): the same request
    /// sent again answers 200 with what was stored the first time, stores and queues nothing; another request for a
    /// session already recorded at the same start is a 409 naming that session; then the Task's state and the count.
    /// </summary>
    private static async Task<FhirResult> RecordAsync(HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (parameters, session, error) = await FhirBody.ReadParametersAsync(http.Request, SessionParameters.Operation, SessionParameters.Read, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        if (SessionReplay.Read(http.Request, parameters!, out var replayError) is not { } request)
        {
            return replayError!;
        }

        var referral = await services.Store.GetAsync(id, cancellationToken);
        if (referral is null || !ReferralAccess.CanSee(caller, referral))
        {
            await services.Audit.RecordAsync(ReferralEndpoints.Denied(http, caller, "operation", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        if (ReferralEndpoints.ForeignReferences(parameters, referral.Ehr) is { } foreign)
        {
            return foreign;
        }

        // The content, whatever the Task's state: a replay with values no session may have is refused like a first try.
        var content = services.Recorder.Check(referral.Request, session!);
        if (!content.IsValid())
        {
            return Outcome.Of(SessionParameters.InTermsOfParameters(content), StatusCodes.Status422UnprocessableEntity);
        }

        // The request's key is read only where this may be the same request sent again: a stale If-Match (the replay
        // may carry the version it was applied to), a start already recorded, or a transaction refused (the key's row
        // is added in it). A new session, the usual case, costs no read of it.
        var current = ReferralEndpoints.ETagOf(referral);
        if (FhirVersions.StaleIfMatch(http.Request, current) is { } stale)
        {
            return await services.Store.SessionRequestAsync(id, request.Key, cancellationToken) is { } earlier
                && earlier.BodyHash == request.BodyHash && FhirVersions.StaleIfMatch(http.Request, current, earlier.BaseETag) is null
                ? await ReplayAsync(http, services, caller, referral, earlier.Session, cancellationToken)
                : stale;
        }

        // Stored at second precision (FHIR dateTime as the model writes it), so compared at that precision.
        var start = session!.Start.AddTicks(-(session.Start.Ticks % TimeSpan.TicksPerSecond));
        if (await RecordedAtAsync(services, referral, start, cancellationToken) is { } atStart)
        {
            // The same request sent again (or twice at once, stored after the Task's read above: the key is stored in
            // the session's transaction) is a replay, not another request.
            return await ReplayOfAsync(http, services, caller, id, request, cancellationToken)
                ?? SessionReplay.Conflict(atStart.Procedure, atStart.StartText, atStart.Session);
        }

        var result = services.Recorder.Record(referral.Request, referral.Task, session!);
        if (!result.Succeeded)
        {
            return Outcome.Of(SessionParameters.InTermsOfParameters(result.Outcome), StatusCodes.Status422UnprocessableEntity);
        }

        var now = services.Time.GetUtcNow();
        var updated = await services.Store.RecordSessionAsync(
            referral, result.Task!, result.SessionNumber, result.Procedure!, result.Observations,
            request.Key, new SessionRequest(result.SessionNumber, request.BodyHash, current), caller, now, cancellationToken);
        if (updated is null)
        {
            // The key is stored already (the same request sent again or twice at once: a replay; or a client's key used
            // for another session), or another change won the race.
            return await ReplayOfAsync(http, services, caller, id, request, cancellationToken)
                ?? Outcome.Error(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Conflict,
                    "The Task changed while the session was being recorded: read it again and retry.");
        }

        ReferralMetrics.SessionsRecorded.Add(1);
        await QueueWriteBackAsync(services, updated, result.SessionNumber, cancellationToken);
        await services.Audit.RecordAsync(ReferralEndpoints.Entry(http, caller, "operation", AuditEvent.AuditEventAction.U, updated, success: true, entity: $"Task/{id}"), cancellationToken);
        return Answer(updated, result.SessionNumber, result.Procedure!, result.Observations, StatusCodes.Status201Created);
    }

    /// <summary>
    /// The session already recorded at <paramref name="start"/>, if any. The Task read for this request knows each
    /// session's start (<see cref="ReferralTasks.SessionStarts"/>), so this costs no storage request; only a Task whose
    /// sessions were recorded before it kept their starts needs its Procedures read (one partition range query).
    /// </summary>
    private static async Task<RecordedSession?> RecordedAtAsync(Services services, StoredReferral referral, DateTimeOffset start, CancellationToken cancellationToken)
    {
        if (ReferralTasks.SessionStarts(referral.Task) is { } sessions)
        {
            return sessions.FirstOrDefault(s => s.Start == start);
        }

        var procedures = await services.Store.ProceduresAsync(referral.Id, cancellationToken);
        return procedures.FirstOrDefault(p => p.Date == start) is { } recorded
            ? new RecordedSession(recorded.Session, $"Procedure/{recorded.Resource.Id}", (recorded.Resource.Performed as Period)?.Start ?? "", recorded.Date)
            : null;
    }

    /// <summary>
    /// The answer when this request's key is stored by now: a replay when the body is the same, a 422 when a client's
    /// key names another request; else null (one point read of the key).
    /// </summary>
    private static async Task<FhirResult?> ReplayOfAsync(
        HttpContext http, Services services, Caller caller, string id, SessionRequestKey request, CancellationToken cancellationToken)
    {
        if (await services.Store.SessionRequestAsync(id, request.Key, cancellationToken) is not { } earlier)
        {
            return null;
        }

        if (earlier.BodyHash != request.BodyHash)
        {
            return Outcome.Error(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.BusinessRule,
                $"The {SessionReplay.Header} '{request.ClientKey}' was used for session {earlier.Session} of this referral with other content: " +
                "a key names one request; send a new key for a new session.");
        }

        return await services.Store.GetAsync(id, cancellationToken) is { } stored
            ? await ReplayAsync(http, services, caller, stored, earlier.Session, cancellationToken)
            : null;
    }

    /// <summary>The same request again: what was stored, read back; nothing stored, nothing queued. The read is audited.</summary>
    private static async Task<FhirResult> ReplayAsync(
        HttpContext http, Services services, Caller caller, StoredReferral referral, int session, CancellationToken cancellationToken)
    {
        var procedures = await services.Store.ProceduresAsync(referral.Id, cancellationToken);
        var procedure = procedures.First(p => p.Session == session);
        var observations = await services.Store.ObservationsAsync(referral.Id, session, cancellationToken);
        await services.Audit.RecordAsync(ReferralEndpoints.Entry(http, caller, "operation", AuditEvent.AuditEventAction.R, referral, success: true, entity: $"Task/{referral.Id}"), cancellationToken);
        return Answer(referral, session, procedure.Resource, [.. observations.Select(o => o.Resource)], StatusCodes.Status200OK);
    }

    private static async Task QueueWriteBackAsync(Services services, StoredReferral referral, int session, CancellationToken cancellationToken)
    {
        if (services.Ehrs.WritesBack(referral.Ehr))
        {
            await services.WriteBack.EnqueueAsync(new EhrWriteBackMessage(EhrWriteBackMessage.SessionKind, referral.Id, session), cancellationToken);
        }
    }

    /// <summary>The operation's answer: the changed Task, the session's Procedure and Observations, and where the course stands.</summary>
    private static FhirResult Answer(StoredReferral referral, int session, Procedure procedure, IReadOnlyList<Observation> observations, int status)
    {
        var remaining = ReferralSummary.Of(referral.Request, referral.Task).SessionsRemaining;
        var output = new Parameters();
        output.Parameter.Add(new Parameters.ParameterComponent { Name = "task", Resource = referral.Task });
        output.Parameter.Add(new Parameters.ParameterComponent { Name = "procedure", Resource = procedure });
        output.Parameter.AddRange(observations.Select(o => new Parameters.ParameterComponent { Name = "observation", Resource = o }));
        output.Parameter.Add(new Parameters.ParameterComponent { Name = "session", Value = new Integer(session) });
        output.Parameter.Add(new Parameters.ParameterComponent { Name = "remainingSessions", Value = new Integer(remaining) });
        return new FhirResult(output, status) { ETag = ReferralEndpoints.ETagOf(referral) };
    }

    /// <summary>
    /// <c>?based-on=ServiceRequest/{id}</c>: one referral's results, one partition query. <c>?patient=Patient/{id}</c>:
    /// the results of every referral of that patient the caller may see (the patient index, then each referral's
    /// partition). Both: their intersection. Oldest first, so a progress chart reads left to right.
    /// </summary>
    private static async Task<FhirResult> SearchAsync<T>(HttpContext http, Caller caller, Services services, SearchDeclaration declaration, CancellationToken cancellationToken)
        where T : Resource
    {
        var type = declaration.ResourceType;
        var (search, searchError) = await Search.ReadAsync(http, declaration, services.Pages);
        if (searchError is not null)
        {
            return searchError;
        }

        var query = search!.Query;

        var basedOn = SearchQuery.Reference(query, "based-on", "ServiceRequest", out var basedOnError);
        var patient = SearchQuery.Reference(query, "patient", "Patient", out var patientError);
        if ((basedOnError ?? patientError) is { } referenceError)
        {
            return referenceError;
        }

        if (basedOn is null && patient is null)
        {
            return Outcome.BadRequest($"Search {type} by based-on (ServiceRequest/[id]) or patient (Patient/[id]).", "based-on", "patient");
        }

        IReadOnlyList<StoredReferral> referrals;
        if (basedOn is not null)
        {
            var referral = await services.Store.GetAsync(FhirReference.IdOf(basedOn), cancellationToken);
            referrals = referral is null ? [] : [referral];
        }
        else if (caller.Kind == CallerKind.Physician)
        {
            referrals = await services.Store.FindAsync(ReferralLookup.Patient, caller.Ehr!, patient!, cancellationToken);
        }
        else if (caller.Kind == CallerKind.Therapist)
        {
            referrals = await services.Store.ForOwnerAsync(caller.Id, cancellationToken);
        }
        else
        {
            referrals = [];
        }

        var visible = referrals
            .Where(r => ReferralAccess.CanSee(caller, r))
            .Where(r => patient is null || FhirReference.Key(r.Request.Subject?.Reference ?? "") == patient)
            .ToList();
        var found = await Task.WhenAll(visible.Select(r => typeof(T) == typeof(Observation)
            ? Results(services.Store.ObservationsAsync(r.Id, null, cancellationToken))
            : Results(services.Store.ProceduresAsync(r.Id, cancellationToken))));
        var resources = found.SelectMany(f => f)
            .OrderBy(r => r.Date)
            .ThenBy(r => r.RowKey, StringComparer.Ordinal)
            .Select(r => r.Resource)
            .ToList();

        await services.Audit.RecordAsync(AuditEntry.Search(caller, type, http,
            patient ?? (visible.FirstOrDefault()?.Request.Subject?.Reference is { } subject ? FhirReference.Key(subject) : null)), cancellationToken);

        return new FhirResult(await search.PagedBundleAsync(resources));
    }

    private static async Task<IReadOnlyList<(Resource Resource, DateTimeOffset Date, string RowKey)>> Results<TResult>(Task<IReadOnlyList<StoredResult<TResult>>> results)
        where TResult : Resource =>
        [.. (await results).Select(r => ((Resource)r.Resource, r.Date, r.RowKey))];
}

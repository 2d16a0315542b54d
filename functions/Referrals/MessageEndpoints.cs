using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Functions.Security;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using Services = Referral.Functions.Referrals.ReferralEndpoints.Services;

namespace Referral.Functions.Referrals;

/// <summary>
/// Questions and answers on a referral, before and during treatment, as FHIR <c>Communication</c>s <c>about</c> the
/// ServiceRequest and <c>partOf</c> its Task, stored in the referral's partition:
/// <c>POST /api/fhir/Task/{id}/$message</c> (Parameters <c>text</c>) by the assigned therapist or the physician who
/// wrote the referral; <c>GET /api/fhir/Communication?part-of=Task/{id}</c>, oldest first, by whoever may see the
/// referral. The other party is told there is a message (no patient data, not the text); every access is audited.
/// </summary>
public static class MessageEndpoints
{
    public static SearchDeclaration CommunicationSearch { get; } = new("Communication",
    [
        new("part-of", SearchParamType.Reference, "The referral's Task (Task/[id]): the questions and answers on it, oldest first."),
    ], DefaultCount: 50, MaxCount: 200)
    {
        TotalDocumentation = "total is exact on every page.",
    };

    public static IEndpointRouteBuilder MapMessages(this IEndpointRouteBuilder app)
    {
        app.MapPost($"/api/fhir/Task/{{id}}/${TaskParameters.MessageOperation}", PostAsync)
            .RequireAuthorization().ValidatesId().WithName($"task-{TaskParameters.MessageOperation}");
        app.MapGet("/api/fhir/Communication", SearchAsync).RequireAuthorization().WithName("communication-search").WithMetadata(CommunicationSearch);
        return app;
    }

    private static async Task<FhirResult> PostAsync(HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (_, text, bodyError) = await FhirBody.ReadParametersAsync(http.Request, TaskParameters.Operation(TaskParameters.MessageOperation), TaskParameters.ReadMessage, cancellationToken);
        if (bodyError is not null)
        {
            return bodyError;
        }

        var referral = await ReferralEndpoints.LoadAsync(caller, id, services, cancellationToken);
        if (referral is null || caller.Kind is not (CallerKind.Physician or CallerKind.Therapist))
        {
            await services.Audit.RecordAsync(ReferralEndpoints.Denied(http, caller, "operation", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        var requester = referral.Request.Requester;
        if (caller.Kind == CallerKind.Physician && FhirReference.Key(requester?.Reference ?? "") != caller.Id)
        {
            await services.Audit.RecordAsync(ReferralEndpoints.Entry(http, caller, "operation", AuditEvent.AuditEventAction.C, referral, success: false, entity: $"Task/{id}"), cancellationToken);
            return Outcome.Forbidden("Only the physician who wrote the referral and the therapist it is sent to exchange messages on it.");
        }

        if (ReferralTaskStates.StateOf(referral.Task) is { } state && ReferralTaskStates.IsTerminal(state))
        {
            return Outcome.Error(StatusCodes.Status409Conflict, OperationOutcome.IssueType.BusinessRule,
                $"The referral is {state}: messages are exchanged before and during treatment.", "Task.status");
        }

        var now = services.Time.GetUtcNow();
        var fromTherapist = caller.Kind == CallerKind.Therapist;
        var message = new Communication
        {
            Id = Guid.CreateVersion7(now).ToString(),
            Status = EventStatus.Completed,
            About = [new ResourceReference("ServiceRequest/" + referral.Id)],
            PartOf = [new ResourceReference("Task/" + referral.Id)],
            Subject = (ResourceReference?)referral.Request.Subject?.DeepCopy(),
            Sender = (ResourceReference?)(fromTherapist ? referral.Task.Owner : requester)?.DeepCopy(),
            Recipient = [.. new[] { fromTherapist ? requester : referral.Task.Owner }.OfType<ResourceReference>().Select(r => (ResourceReference)r.DeepCopy())],
            Sent = FhirTime.DateTime(now),
            Payload = [new Communication.PayloadComponent { Content = new FhirString(text) }],
        };

        // The same sender, text and referral version is the same message sent again: stored (and told) once.
        var dedup = string.Join('\n', caller.Id, text, referral.Version.ToString(CultureInfo.InvariantCulture));
        var (added, stored) = await services.Store.AddMessageAsync(referral, message, dedup, now, cancellationToken);
        var audit = ReferralEndpoints.Entry(http, caller, "operation", AuditEvent.AuditEventAction.C, referral, success: true, entity: $"Communication/{stored.Id}");
        if (added)
        {
            var count = (await services.Store.MessagesAsync(referral.Id, cancellationToken)).Count;
            await Task.WhenAll(
                services.Notifications.EnqueueAsync(new ReferralEvent(ReferralEvent.MessagePosted, referral.Id)
                {
                    Recipient = fromTherapist ? "physician" : "therapist",
                    Ordinal = count,
                }, cancellationToken),
                services.Audit.RecordAsync(audit, cancellationToken));
        }
        else
        {
            await services.Audit.RecordAsync(audit with { Action = AuditEvent.AuditEventAction.R }, cancellationToken);
        }

        return new FhirResult(stored, added ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    /// <summary><c>?part-of=Task/{id}</c>: one referral's messages, oldest first (one partition range query).</summary>
    private static async Task<FhirResult> SearchAsync(HttpContext http, Caller caller, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (search, searchError) = await Search.ReadAsync(http, CommunicationSearch, services.Pages);
        if (searchError is not null)
        {
            return searchError;
        }

        var query = search!.Query;
        var partOf = SearchQuery.Reference(query, "part-of", "Task", out var error);
        if (error is not null)
        {
            return error;
        }

        if (partOf is null)
        {
            return Outcome.BadRequest("Search Communication by part-of (Task/[id]): the referral's Task.", "part-of");
        }

        var id = FhirReference.IdOf(partOf);
        var referral = await ReferralEndpoints.LoadAsync(caller, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(ReferralEndpoints.Denied(http, caller, "search-type", "Communication"), cancellationToken);
            return new FhirResult(await search.PagedBundleAsync([]));
        }

        var messages = await services.Store.MessagesAsync(referral.Id, cancellationToken);
        await services.Audit.RecordAsync(ReferralEndpoints.Entry(http, caller, "search-type", AuditEvent.AuditEventAction.R, referral, success: true, entity: "Communication"), cancellationToken);
        return new FhirResult(await search.PagedBundleAsync(messages));
    }
}

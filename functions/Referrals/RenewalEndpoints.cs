using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Functions.Security;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using Services = Referral.Functions.Referrals.ReferralEndpoints.Services;

namespace Referral.Functions.Referrals;

/// <summary>
/// The physician's answer to a renewal request: <c>POST /api/fhir/Task/{id}/$approve-renewal</c> (Parameters
/// <c>sessions</c>, <c>validUntil</c>) revises the prescription as the next version of the same ServiceRequest (why:
/// <see cref="RenewalAnswers"/>) and records the answer on the Task in one transaction; <c>$decline-renewal</c>
/// (<c>reason</c>) records the refusal. Only the physician who wrote the referral answers (403 for anyone else, also a
/// physician who sees the referral through the patient's launch); a request already answered, or a course that ended,
/// is a 409. The therapist is told (no patient data); every answer is audited.
/// </summary>
public static class RenewalEndpoints
{
    public static IEndpointRouteBuilder MapRenewals(this IEndpointRouteBuilder app)
    {
        app.MapPost($"/api/fhir/Task/{{id}}/${TaskParameters.ApproveRenewalOperation}",
                (HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken ct) => AnswerAsync(http, caller, id, approve: true, services, ct))
            .RequireAuthorization(ApiAuthentication.PhysicianPolicy).ValidatesId().WithName($"task-{TaskParameters.ApproveRenewalOperation}");
        app.MapPost($"/api/fhir/Task/{{id}}/${TaskParameters.DeclineRenewalOperation}",
                (HttpContext http, Caller caller, string id, [AsParameters] Services services, CancellationToken ct) => AnswerAsync(http, caller, id, approve: false, services, ct))
            .RequireAuthorization(ApiAuthentication.PhysicianPolicy).ValidatesId().WithName($"task-{TaskParameters.DeclineRenewalOperation}");
        return app;
    }

    private static async Task<FhirResult> AnswerAsync(HttpContext http, Caller caller, string id, bool approve, Services services, CancellationToken cancellationToken)
    {
        var (parameters, bodyError) = await FhirBody.ReadParametersAsync(
            http.Request, TaskParameters.Operation(approve ? TaskParameters.ApproveRenewalOperation : TaskParameters.DeclineRenewalOperation), cancellationToken);
        if (bodyError is not null)
        {
            return bodyError;
        }

        RenewalApprovalInput? approval = null;
        string? reason = null;
        if (approve)
        {
            (approval, var error) = TaskParameters.ReadApproval(parameters!);
            if (error is not null)
            {
                return error;
            }
        }
        else
        {
            (reason, var error) = TaskParameters.ReadRenewalDecline(parameters!);
            if (error is not null)
            {
                return error;
            }
        }

        var referral = await ReferralEndpoints.LoadAsync(caller, id, services, cancellationToken);
        if (referral is null)
        {
            await services.Audit.RecordAsync(ReferralEndpoints.Denied(http, caller, "operation", $"Task/{id}"), cancellationToken);
            return Outcome.NotFound("Task", id);
        }

        if (FhirReference.Key(referral.Request.Requester?.Reference ?? "") != caller.Id)
        {
            await services.Audit.RecordAsync(ReferralEndpoints.Entry(http, caller, "operation", AuditEvent.AuditEventAction.U, referral, success: false, entity: $"Task/{id}"), cancellationToken);
            return Outcome.Of(Outcomes.From([Outcomes.Error(ValidationRules.RenewalNotRequester, OperationOutcome.IssueType.Forbidden, "ServiceRequest.requester",
                "Only the physician who wrote the referral can answer its renewal request.")]), StatusCodes.Status403Forbidden);
        }

        if (FhirVersions.StaleIfMatch(http.Request, ReferralEndpoints.ETagOf(referral)) is { } stale)
        {
            return stale;
        }

        var now = services.Time.GetUtcNow();
        var result = approve
            ? RenewalAnswers.Approve(referral.Request, referral.Task, approval!.Sessions, approval.ValidUntil, now)
            : RenewalAnswers.Decline(referral.Request, referral.Task, reason, now);
        if (!result.Succeeded)
        {
            return ReferralEndpoints.Refused(result.Outcome);
        }

        // Told to the therapist once the answer is stored (the consumer waits for this version), as the other changes are.
        var queued = services.Notifications.EnqueueAsync(new ReferralEvent(ReferralEvent.RenewalAnswered, referral.Id)
        {
            Version = referral.Version + 1,
            Ordinal = RenewalAnswers.AnswersOf(result.Task!).Count,
        }, cancellationToken);
        var updated = await services.Store.UpdateAsync(referral, result.Task!, result.Request, caller, now, cancellationToken);
        await queued;
        if (updated is null)
        {
            return FhirVersions.ChangedMeanwhile();
        }

        await services.Audit.RecordAsync(ReferralEndpoints.Entry(http, caller, "operation", AuditEvent.AuditEventAction.U, updated, success: true, entity: $"Task/{id}"), cancellationToken);
        if (result.Request is not null)
        {
            await services.Audit.RecordAsync(ReferralEndpoints.Entry(http, caller, "operation", AuditEvent.AuditEventAction.U, updated, success: true), cancellationToken);
        }

        return new FhirResult(updated.Task) { ETag = ReferralEndpoints.ETagOf(updated) };
    }
}

using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Referral.Functions.Audit;
using Referral.Functions.Fhir;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Model.Reports;

namespace Referral.Functions.Reports;

/// <summary>
/// <c>GET /api/fhir/ServiceRequest/{id}/$progress-report?copy=chart|payer&amp;format=pdf|xhtml</c>: the referral's progress
/// report (or discharge summary, once discharged) as the therapist and the physician download it. Whoever may see the
/// referral may download it (<see cref="ReferralAccess"/>); anyone else is told it does not exist. Every download,
/// and every refusal, is audited. Nothing is emailed: the file is only ever served behind sign-in.
/// </summary>
public static class ReportEndpoints
{
    public const string Operation = "progress-report";

    public static IEndpointRouteBuilder MapReports(this IEndpointRouteBuilder app)
    {
        app.MapGet($"/api/fhir/ServiceRequest/{{id}}/${Operation}", DownloadAsync).RequireAuthorization().WithName("servicerequest-progress-report");
        return app;
    }

    /// <summary>
    /// What the endpoints use; each member is marked a service for the reason
    /// <see cref="Referral.Functions.Referrals.ReferralEndpoints.Services"/> gives.
    /// </summary>
    public sealed record Services([FromServices] ReferralStore Store, [FromServices] ReportSource Reports, [FromServices] AuditTrail Audit);

    private static async Task<IResult> DownloadAsync(string id, string? copy, string? format, HttpContext http, Caller caller, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        ReportCopy? which = copy switch
        {
            null or "chart" => ReportCopy.Chart,
            "payer" => ReportCopy.Payer,
            _ => null,
        };
        if (which is null)
        {
            return Outcome.BadRequest($"copy is 'chart' or 'payer', not '{copy}'.", "copy");
        }

        if (format is not (null or "pdf" or "xhtml"))
        {
            return Outcome.BadRequest($"format is 'pdf' or 'xhtml', not '{format}'.", "format");
        }

        var referral = await services.Store.GetAsync(id, cancellationToken);
        var entity = $"ServiceRequest/{id}/${Operation}";
        if (referral is null || !ReferralAccess.CanSee(caller, referral))
        {
            await services.Audit.RecordAsync(AuditEntry.Of(http, caller, "operation", AuditEvent.AuditEventAction.R, entity, null, success: false), cancellationToken);
            return Outcome.NotFound("ServiceRequest", id);
        }

        var report = await services.Reports.BuildAsync(referral, which.Value, cancellationToken);
        var rendition = format == "xhtml" ? ReportRenditions.Xhtml(report) : ReportRenditions.Pdf(report);
        var patient = referral.Request.Subject?.Reference is { } subject ? FhirReference.Key(subject) : null;
        await services.Audit.RecordAsync(AuditEntry.Of(http, caller, "operation", AuditEvent.AuditEventAction.R, entity, patient, success: true), cancellationToken);
        http.Response.Headers.CacheControl = "no-store";
        return Results.File(rendition.Content, rendition.ContentType, rendition.FileName);
    }
}

using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Status;

/// <summary>
/// One referral: its status (with the therapist's reason for a decline), the discharge summary of a completed course,
/// the therapist's latest renewal request, the timeline of its changes, sessions done and remaining, the pain chart
/// (server-made SVG) and the Observations as a table. The physician may cancel it while it is open.
/// </summary>
public sealed class DetailModel(LaunchContexts contexts, PatientRecordReader records, FunctionsApi functions, TimeProvider time) : LaunchedPage(contexts, records)
{
    public ServiceRequest? Referral { get; private set; }

    public ReferralStatus? Status { get; private set; }

    public IReadOnlyList<TimelineEvent> Events { get; private set; } = [];

    /// <summary>Each session in words (times in the practice's zone) and the pain series for the chart.</summary>
    public ProgressView Progress { get; private set; } = ProgressView.Empty;

    /// <summary>The therapist's discharge summary, once the course is completed with one.</summary>
    public DischargeSummary? Discharge { get; private set; }

    /// <summary>The therapist's latest request to renew the prescription, if any.</summary>
    public RenewalRequest? Renewal { get; private set; }

    public string? ServiceProblem { get; private set; }

    public bool JustSent { get; private set; }

    public string? CancelProblem { get; private set; }

    /// <summary>The referral's copy in the EHR, as the functions write-back left it; null where the EHR takes no copy.</summary>
    public (EhrCopyState State, string? Problem)? EhrCopyStatus { get; private set; }

    public async Task<IActionResult> OnGetAsync(string contextId, string id, bool sent, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        JustSent = sent;
        return await ShowAsync(id, cancellationToken);
    }

    public async Task<IActionResult> OnPostCancelAsync(string contextId, string id, string? reason, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            CancelProblem = "Say why the referral is cancelled; the therapist sees the reason.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(id, cancellationToken);
        }

        try
        {
            var (status, body) = await functions.CancelAsync(Caller, id, reason.Trim(), cancellationToken);
            if (status != System.Net.HttpStatusCode.OK)
            {
                CancelProblem = (body as OperationOutcome)?.Issue.FirstOrDefault() is { } issue ? issue.Details?.Text ?? issue.Diagnostics : "The referral could not be cancelled.";
                Response.StatusCode = StatusCodes.Status409Conflict;
                return await ShowAsync(id, cancellationToken);
            }
        }
        catch (FunctionsUnavailableException e)
        {
            CancelProblem = e.Message;
            return await ShowAsync(id, cancellationToken);
        }

        return SeeOther($"/context/{Launch.Id}/referrals/{Uri.EscapeDataString(id)}");
    }

    private async Task<IActionResult> ShowAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var request = functions.ReferralAsync(Caller, id, cancellationToken);
            var task = functions.TaskAsync(Caller, id, cancellationToken);
            var observations = functions.ResultsAsync<Observation>(Caller, id, cancellationToken);
            var procedures = functions.ResultsAsync<Procedure>(Caller, id, cancellationToken);
            await System.Threading.Tasks.Task.WhenAll(request, task, observations, procedures);
            Referral = await request;
            if (Referral is null)
            {
                return NotFound();
            }

            Status = ReferralStatus.Of(Referral, await task, time.GetUtcNow());
            EhrCopyStatus = EhrCopy.Of(Referral);
            if (await task is { } stored)
            {
                Discharge = ReferralTasks.DischargeSummaryOf(stored);
                Renewal = ReferralTasks.RenewalRequestOf(stored);
            }

            Events = Timeline.Of(Referral, await task, await procedures);
            Progress = ProgressView.Of(Referral, await procedures, await observations);
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }
}

using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Referral.Model.Fhir;
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

    /// <summary>The therapist's renewal request waiting for the physician's answer, if any (none once answered or the course ended).</summary>
    public RenewalRequest? Renewal { get; private set; }

    /// <summary>What the approval form starts with: the sessions asked for and a validity that fits them; or what was typed, when refused.</summary>
    public string? ApproveSessions { get; private set; }

    public string? ApproveValidUntil { get; private set; }

    public string? DeclineRenewalReason { get; private set; }

    public string? RenewalProblem { get; private set; }

    /// <summary>The latest answer given to a renewal request, for the notice after answering.</summary>
    public RenewalAnswer? LastAnswer { get; private set; }

    /// <summary>Whether the course is over (declined, cancelled, completed): sessions "remaining" then mean nothing.</summary>
    public bool Ended { get; private set; }

    public string? Answered { get; private set; }

    /// <summary>The questions and answers with the therapist, oldest first.</summary>
    public IReadOnlyList<MessageLine> Messages { get; private set; } = [];

    public string? MessageText { get; private set; }

    public string? MessageProblem { get; private set; }

    /// <summary>Only the physician who wrote the referral writes on it, and only while it is open.</summary>
    public bool CanWriteMessages => Referral is not null && !Ended
        && Referral.Requester?.Reference is { } requester && TypeAndId(requester) == TypeAndId(Launch.FhirUser);

    public MessagesView MessagesSection => new(Messages, CanWriteMessages, "Message to the therapist", MessageText, MessageProblem);

    /// <summary>"Practitioner/id" of a relative or absolute reference (the API checks the same on every message).</summary>
    private static string TypeAndId(string reference) => string.Join('/', reference.Split('/')[^2..]);

    public string? ServiceProblem { get; private set; }

    public bool JustSent { get; private set; }

    public string? CancelProblem { get; private set; }

    /// <summary>The referral's copy in the EHR, as the functions write-back left it; null where the EHR takes no copy.</summary>
    public (EhrCopyState State, string? Problem)? EhrCopyStatus { get; private set; }

    public async Task<IActionResult> OnGetAsync(string contextId, string id, bool sent, string? answered, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        JustSent = sent;
        Answered = answered is "approved" or "declined" ? answered : null;
        return await ShowAsync(id, cancellationToken);
    }

    /// <summary>
    /// The referral's progress report (<c>?handler=Report&amp;copy=chart|payer&amp;format=pdf|xhtml</c>), fetched from the API
    /// as the launched physician: the API decides who may see it and audits the download; a referral not theirs is a 404.
    /// </summary>
    public async Task<IActionResult> OnGetReportAsync(string contextId, string id, string? copy, string? format, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        try
        {
            var (status, file) = await functions.ReportAsync(Caller, id, copy == "payer", format == "xhtml", cancellationToken);
            return file is null ? StatusCode((int)status) : File(file.Content, file.ContentType, file.FileName);
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
            return StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>Approves the pending renewal with the sessions and last day given (prefilled from the request, editable).</summary>
    public async Task<IActionResult> OnPostApproveRenewalAsync(string contextId, string id, string? sessions, string? validUntil, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        (ApproveSessions, ApproveValidUntil) = (sessions, validUntil);
        if (!int.TryParse(sessions, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) || count < 1)
        {
            RenewalProblem = "Sessions to add: a whole number, 1 or more.";
        }
        else if (!DateOnly.TryParseExact(validUntil, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _))
        {
            RenewalProblem = "Valid until: a date (year, month, day).";
        }

        if (RenewalProblem is not null)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(id, cancellationToken, keepTyped: true);
        }

        return await AnswerAsync(id, "approve-renewal", FunctionsApi.Parameters(("sessions", new Integer(count)), ("validUntil", new Date(validUntil))), "approved", cancellationToken);
    }

    /// <summary>Declines the pending renewal; the therapist reads the reason on their page.</summary>
    public async Task<IActionResult> OnPostDeclineRenewalAsync(string contextId, string id, string? reason, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        DeclineRenewalReason = reason;
        if (string.IsNullOrWhiteSpace(reason))
        {
            RenewalProblem = "Say why you decline the renewal; the therapist reads the reason.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(id, cancellationToken, keepTyped: true);
        }

        return await AnswerAsync(id, "decline-renewal", FunctionsApi.Parameters(("reason", new FhirString(reason.Trim()))), "declined", cancellationToken);
    }

    /// <summary>Sends a question or answer to the therapist.</summary>
    public async Task<IActionResult> OnPostMessageAsync(string contextId, string id, string? text, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        MessageText = text;
        if (string.IsNullOrWhiteSpace(text))
        {
            MessageProblem = "Write the message first.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(id, cancellationToken, keepTyped: true);
        }

        try
        {
            var response = await functions.OperationAsync(Caller, id, "message", FunctionsApi.Parameters(("text", new FhirString(text.Trim()))), null, cancellationToken);
            if (response.Status is not (System.Net.HttpStatusCode.Created or System.Net.HttpStatusCode.OK))
            {
                MessageProblem = response.Problem ?? "The message could not be sent.";
                Response.StatusCode = (int)response.Status;
                return await ShowAsync(id, cancellationToken, keepTyped: true);
            }
        }
        catch (FunctionsUnavailableException e)
        {
            MessageProblem = e.Message;
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return await ShowAsync(id, cancellationToken, keepTyped: true);
        }

        return SeeOther($"/context/{Launch.Id}/referrals/{Uri.EscapeDataString(id)}#messages-title");
    }

    private async Task<IActionResult> AnswerAsync(string id, string operation, Parameters parameters, string answered, CancellationToken cancellationToken)
    {
        try
        {
            var response = await functions.OperationAsync(Caller, id, operation, parameters, null, cancellationToken);
            if (response.Status != System.Net.HttpStatusCode.OK)
            {
                RenewalProblem = response.Problem ?? "The renewal could not be answered.";
                Response.StatusCode = (int)response.Status;
                return await ShowAsync(id, cancellationToken, keepTyped: true);
            }
        }
        catch (FunctionsUnavailableException e)
        {
            RenewalProblem = e.Message;
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return await ShowAsync(id, cancellationToken, keepTyped: true);
        }

        return SeeOther($"/context/{Launch.Id}/referrals/{Uri.EscapeDataString(id)}?answered={answered}");
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

    private async Task<IActionResult> ShowAsync(string id, CancellationToken cancellationToken, bool keepTyped = false)
    {
        try
        {
            var course = await functions.ReferralCourseAsync(Caller, id, cancellationToken);
            var task = course.Task;
            Referral = course.Request;
            if (Referral is null)
            {
                return NotFound();
            }

            Status = ReferralStatus.Of(Referral, task, time.GetUtcNow());
            var summary = Status.Summary;
            EhrCopyStatus = EhrCopy.Of(Referral);
            if (summary.Task is { } stored)
            {
                Discharge = ReferralTasks.DischargeSummaryOf(stored);
                Renewal = RenewalAnswers.Pending(stored);
                LastAnswer = RenewalAnswers.LatestOf(stored);
                Ended = summary.IsClosed;
                if (Renewal is not null && !keepTyped)
                {
                    var (sessions, until) = RenewalAnswers.Suggestion(Referral, Renewal, PracticeTime.Today(time, summary.Zone));
                    ApproveSessions = sessions.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    ApproveValidUntil = until.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            Events = Timeline.Of(summary, course.Procedures);
            Progress = ProgressView.Of(summary, course.Procedures, course.Observations);
            Messages = MessagesView.Of(course.Messages, summary, Referral.Requester?.Reference);
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Referral.Model.Tasks;
using Referral.SmartApp.Referrals;
using Referral.SmartApp.Status;

namespace Referral.SmartApp.Inbox;

/// <summary>
/// One referral for the therapist (<c>/inbox/referrals/{id}</c>, the id of its ServiceRequest and Task, as the
/// notification links it): everything the physician sent, the training it needs, its history and progress; accept or
/// decline it while new. Each change carries the Task's ETag as read, so a referral changed meanwhile is a 412 that the
/// page explains ("reload"), not an error.
/// </summary>
public sealed class DetailModel(FunctionsApi functions, IOptions<InboxOptions> options, TimeProvider time) : InboxPage(functions, options, time)
{
    public const string ChangedMessage = "This referral changed since you opened it (the physician may have cancelled it, or you changed it in another window). Reload it to see where it stands, then try again.";

    public ReferralView? Referral { get; private set; }

    public string? ETag { get; private set; }

    public IReadOnlyList<TimelineEvent> Events { get; private set; } = [];

    /// <summary>Each session in words (times in the practice's zone) and the pain series for the chart.</summary>
    public ProgressView Progress { get; private set; } = ProgressView.Empty;

    /// <summary>What the last action did ("accepted", "declined", "session") for the notice at the top.</summary>
    public string? Done { get; private set; }

    public string? DeclineProblem { get; private set; }

    public string? ActionProblem { get; private set; }

    /// <summary>The reason as typed, kept when the decline is refused.</summary>
    public string? DeclineReason { get; private set; }

    public string? CompleteProblem { get; private set; }

    public string? RenewalProblem { get; private set; }

    /// <summary>The discharge form and the renewal form as typed, kept when refused.</summary>
    public string? Outcome { get; private set; }

    public string? Recommendations { get; private set; }

    public string? RenewalReason { get; private set; }

    public string? RenewalSessions { get; private set; }

    /// <summary>The discharge summary, once the course is completed with one (the model reads it from the Task).</summary>
    public DischargeSummary? Discharge => Referral is null ? null : ReferralTasks.DischargeSummaryOf(Referral.Task);

    /// <summary>The latest renewal the therapist asked for, if any.</summary>
    public RenewalRequest? Renewal => Referral is null ? null : ReferralTasks.RenewalRequestOf(Referral.Task);

    /// <summary>The questions and answers with the physician, oldest first.</summary>
    public IReadOnlyList<MessageLine> Messages { get; private set; } = [];

    public string? MessageText { get; private set; }

    public string? MessageProblem { get; private set; }

    /// <summary>The messages section: the therapist writes while the referral is new or under treatment.</summary>
    public MessagesView MessagesSection => new(Messages, Referral is not null && (Referral.IsNew || Referral.IsActive),
        "Message to the physician (a question before you accept, or during treatment)", MessageText, MessageProblem);

    /// <summary>The physician's answer to the latest renewal request, once they gave one (null while it waits).</summary>
    public RenewalAnswer? RenewalAnswer => Referral is null || Renewal is null || RenewalAnswers.Pending(Referral.Task) is not null
        ? null
        : RenewalAnswers.LatestOf(Referral.Task) is { } answer && answer.When >= Renewal.When ? answer : null;

    /// <summary>Whether completing needs an outcome: once a session was recorded, the physician is owed a word on how it went.</summary>
    public bool OutcomeRequired => Referral is not null && ReferralTasks.RequiresDischargeOutcome(Referral.Task);

    public DateTimeOffset Now => Time.GetUtcNow();

    public async Task<IActionResult> OnGetAsync(string id, string? done, CancellationToken cancellationToken)
    {
        Done = done;
        return await ShowAsync(await CallerAsync(), id, cancellationToken);
    }

    /// <summary>
    /// The referral's progress report (<c>?handler=Report&amp;copy=chart|payer&amp;format=pdf|xhtml</c>), fetched from the API
    /// with the therapist's token: the API decides who may see it and audits the download; another's referral is a 404.
    /// </summary>
    public async Task<IActionResult> OnGetReportAsync(string id, string? copy, string? format, CancellationToken cancellationToken)
    {
        try
        {
            var (status, file) = await Functions.ReportAsync(await CallerAsync(), id, copy == "payer", format == "xhtml", cancellationToken);
            if (status == HttpStatusCode.Unauthorized)
            {
                return SignInAgain();
            }

            return file is null ? StatusCode((int)status) : File(file.Content, file.ContentType, file.FileName);
        }
        catch (FunctionsUnavailableException)
        {
            return StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
    }

    public Task<IActionResult> OnPostAcceptAsync(string id, string? etag, CancellationToken cancellationToken) =>
        ChangeAsync(id, "accept", null, etag, "accepted", cancellationToken);

    public async Task<IActionResult> OnPostDeclineAsync(string id, string? etag, string? reason, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            DeclineProblem = "Say why you decline the referral: the physician sees the reason.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(await CallerAsync(), id, cancellationToken);
        }

        DeclineReason = reason;
        return await ChangeAsync(id, "decline", FunctionsApi.Parameters(("reason", new FhirString(reason.Trim()))), etag, "declined", cancellationToken,
            problem => DeclineProblem = problem);
    }

    public async Task<IActionResult> OnPostCompleteAsync(string id, string? etag, string? outcome, string? recommendations, CancellationToken cancellationToken)
    {
        (Outcome, Recommendations) = (outcome, recommendations);
        var caller = await CallerAsync();
        if (string.IsNullOrWhiteSpace(outcome))
        {
            await ShowAsync(caller, id, cancellationToken);
            if (OutcomeRequired)
            {
                CompleteProblem = "Describe the outcome of the course: the physician reads it in the discharge summary.";
                Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
                return Page();
            }
        }

        return await ChangeAsync(id, "complete", FunctionsApi.Parameters(
                ("outcome", string.IsNullOrWhiteSpace(outcome) ? null : new FhirString(outcome.Trim())),
                ("recommendations", string.IsNullOrWhiteSpace(recommendations) ? null : new FhirString(recommendations.Trim()))),
            etag, "completed", cancellationToken, problem => CompleteProblem = problem);
    }

    public async Task<IActionResult> OnPostRenewalAsync(string id, string? etag, string? reason, string? sessions, CancellationToken cancellationToken)
    {
        (RenewalReason, RenewalSessions) = (reason, sessions);
        int? additional = null;
        if (!string.IsNullOrWhiteSpace(sessions))
        {
            if (!int.TryParse(sessions, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
                || count is < 1 or > ReferralTasks.MaxRenewalSessions)
            {
                RenewalProblem = $"Additional sessions: a number from 1 to {ReferralTasks.MaxRenewalSessions}, or leave it empty.";
            }
            else
            {
                additional = count;
            }
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            RenewalProblem = "Say why the patient needs more sessions: the physician decides on it.";
        }

        if (RenewalProblem is not null)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(await CallerAsync(), id, cancellationToken);
        }

        return await ChangeAsync(id, "request-renewal", FunctionsApi.Parameters(
                ("reason", new FhirString(reason!.Trim())),
                ("sessions", additional is { } n ? new Integer(n) : null)),
            etag, "renewal", cancellationToken, problem => RenewalProblem = problem);
    }

    public async Task<IActionResult> OnPostMessageAsync(string id, string? text, CancellationToken cancellationToken)
    {
        MessageText = text;
        var caller = await CallerAsync();
        if (string.IsNullOrWhiteSpace(text))
        {
            MessageProblem = "Write the message first.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(caller, id, cancellationToken);
        }

        FunctionsResponse response;
        try
        {
            response = await Functions.OperationAsync(caller, id, "message", FunctionsApi.Parameters(("text", new FhirString(text.Trim()))), null, cancellationToken);
        }
        catch (FunctionsUnavailableException e)
        {
            MessageProblem = e.Message;
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return await ShowAsync(caller, id, cancellationToken);
        }

        if (IsUnauthorized(response))
        {
            return SignInAgain();
        }

        if (response.Status is HttpStatusCode.Created or HttpStatusCode.OK)
        {
            return SeeOther(DetailPath(id) + "?done=message");
        }

        MessageProblem = response.Problem ?? "The message could not be sent.";
        Response.StatusCode = (int)response.Status;
        return await ShowAsync(caller, id, cancellationToken);
    }

    public string? HoldProblem { get; private set; }

    /// <summary>The hold's reason as typed, kept when the hold is refused.</summary>
    public string? HoldReason { get; private set; }

    /// <summary>Puts a new referral on hold while the therapist waits for an answer; the reason is required (the physician sees it).</summary>
    public async Task<IActionResult> OnPostHoldAsync(string id, string? etag, string? reason, CancellationToken cancellationToken)
    {
        HoldReason = reason;
        if (string.IsNullOrWhiteSpace(reason))
        {
            HoldProblem = "Say what you are waiting for: the physician sees it.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await ShowAsync(await CallerAsync(), id, cancellationToken);
        }

        return await ChangeAsync(id, "hold", FunctionsApi.Parameters(("reason", new FhirString(reason.Trim()))), etag, "held", cancellationToken,
            problem => HoldProblem = problem);
    }

    public Task<IActionResult> OnPostResumeAsync(string id, string? etag, CancellationToken cancellationToken) =>
        ChangeAsync(id, "resume", null, etag, "resumed", cancellationToken);

    /// <summary>Runs a Task operation; on success back to the page (303), else the page again with the API's reason.</summary>
    private async Task<IActionResult> ChangeAsync(
        string id, string operation, Parameters? parameters, string? etag, string done, CancellationToken cancellationToken, Action<string>? onProblem = null)
    {
        var caller = await CallerAsync();
        FunctionsResponse response;
        try
        {
            response = await Functions.OperationAsync(caller, id, operation, parameters, string.IsNullOrEmpty(etag) ? null : etag, cancellationToken);
        }
        catch (FunctionsUnavailableException e)
        {
            ActionProblem = e.Message;
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return await ShowAsync(caller, id, cancellationToken);
        }

        if (IsUnauthorized(response))
        {
            return SignInAgain();
        }

        if (response.Status == HttpStatusCode.OK)
        {
            return SeeOther(DetailPath(id) + "?done=" + done);
        }

        var problem = response.Status == HttpStatusCode.PreconditionFailed ? ChangedMessage : response.Problem ?? "The referral could not be changed.";
        if (onProblem is null || response.Status == HttpStatusCode.PreconditionFailed)
        {
            ActionProblem = problem;
        }
        else
        {
            onProblem(problem);
        }

        Response.StatusCode = (int)response.Status;
        return await ShowAsync(caller, id, cancellationToken);
    }

    private async Task<IActionResult> ShowAsync(TherapistCaller caller, string id, CancellationToken cancellationToken)
    {
        try
        {
            var (view, course) = await LoadCourseAsync(caller, id, cancellationToken);
            if (view is null)
            {
                return Page();
            }

            Referral = view;
            ETag = course.ETag;
            Events = Timeline.Of(view.Summary, course.Procedures);
            Progress = ProgressView.Of(view.Summary, course.Procedures, course.Observations);
            Messages = MessagesView.Of(course.Messages, view.Summary, view.Task.Owner?.Reference);
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }
}

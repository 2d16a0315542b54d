using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Referrals;

/// <summary>
/// The summary to review, checked by the form and then by the API (<c>ServiceRequest/$validate</c>), and "Sign and send"
/// when neither finds an error. A send is idempotent: the form's placer id goes with every attempt.
/// </summary>
public sealed class ReviewModel(
    LaunchContexts contexts,
    PatientRecordReader records,
    AppSession session,
    FunctionsApi functions,
    FormChecks checks,
    ReferralSender sender,
    TimeProvider time) : LaunchedPage(contexts, records)
{
    public ServiceRequest? Referral { get; private set; }

    public IReadOnlyList<FieldIssue> Issues { get; private set; } = [];

    public string? ServiceProblem { get; private set; }

    /// <summary>The physician's open referrals for this patient and a diagnosis of this one: sending needs <see cref="ConfirmDuplicate"/>.</summary>
    public IReadOnlyList<OpenReferral> Duplicates { get; private set; } = [];

    /// <summary>"Send it anyway": the physician saw the open referral and sends this one as well.</summary>
    [BindProperty]
    public bool ConfirmDuplicate { get; set; }

    public async Task<IActionResult> OnGetAsync(string contextId, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        var state = await session.GetAsync<FormState>(SessionId, FormState.Key(Launch.Id), cancellationToken);
        if (state is null)
        {
            return SeeOther($"/context/{Launch.Id}/referral");
        }

        if (state.SentId is not null)
        {
            return SeeOther($"/context/{Launch.Id}/referrals/{state.SentId}");
        }

        try
        {
            var therapists = await functions.TherapistsAsync(Caller, cancellationToken);
            Referral = checks.Build(state, Launch, Record, therapists);
            Issues = checks.Check(state, Referral, Record, therapists);
            // One call for both questions (a FHIR batch): the open referrals and, when the form's own checks pass, the
            // API's judgement of the draft as it would judge the send ($validate), so a referral it would refuse shows
            // its errors here and is not offered for sending.
            var (open, judged) = await functions.ReviewAsync(Caller, Issues.Any(i => i.Blocking) ? null : Referral, cancellationToken);
            if (judged is not null)
            {
                Issues = [.. Issues, .. FieldIssue.From(judged)];
            }

            Duplicates = OpenReferrals.Matching(open, state, time.GetUtcNow());
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }

    public async Task<IActionResult> OnPostSendAsync(string contextId, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        SendResult result;
        try
        {
            // One call: the API creates the referral only if no open one of the physician's for this diagnosis exists,
            // unless the physician confirmed a second one (a conditional create, decided at the moment of the write).
            result = await sender.SendAsync(SessionId, Launch, Record, ConfirmDuplicate, cancellationToken);
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
            return await OnGetAsync(contextId, cancellationToken);
        }

        if (result.ReferralId is not null)
        {
            return SeeOther($"/context/{Launch.Id}/referrals/{Uri.EscapeDataString(result.ReferralId)}?sent=true");
        }

        if (result.Duplicate)
        {
            // Not without the physician's say-so: the page again, the open referral shown, the refusal named.
            await OnGetAsync(contextId, cancellationToken);
            Issues = [.. Issues, new FieldIssue(OpenReferrals.ConfirmField, OpenReferrals.Refusal(Duplicates), true)];
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }

        if (result.Refused is null)
        {
            return SeeOther($"/context/{Launch.Id}/referral");
        }

        await OnGetAsync(contextId, cancellationToken);
        Issues = [.. Issues.Concat(FieldIssue.From(result.Refused)).Distinct()];
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }
}

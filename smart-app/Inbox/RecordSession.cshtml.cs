using System.Globalization;
using System.Net;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Inbox;

/// <summary>
/// Recording one session (<c>/inbox/referrals/{id}/sessions/new</c>): date and time, minutes, the prescribed body sites
/// treated, techniques, pain before and after, an optional range of motion and functional score, a SOAP note. It posts
/// <c>$record-session</c>; what the referral's rules refuse (past the session count, outside the validity, a site not
/// prescribed) comes back in the API's words next to its field, with everything typed kept.
/// </summary>
public sealed class RecordSessionModel(FunctionsApi functions, IOptions<InboxOptions> options, TimeProvider time) : InboxPage(functions, options, time)
{
    private readonly InboxOptions inbox = options.Value;

    [BindProperty]
    public SessionInput Input { get; set; } = new();

    public ReferralView? Referral { get; private set; }

    /// <summary>Problems by field (<see cref="SessionForm.FormLevel"/> for the form as a whole).</summary>
    public IReadOnlyDictionary<string, string> Problems { get; private set; } = new Dictionary<string, string>();

    public bool Changed { get; private set; }

    /// <summary>The practice's time zone: the date and time typed here are its local time.</summary>
    public string ZoneId => inbox.Zone.Id;

    public string? ProblemOf(string field) => Problems.GetValueOrDefault(field);

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(id, cancellationToken))
        {
            return Page();
        }

        // A session usually ends shortly before it is recorded: today, starting one prescribed session length ago.
        var minutes = Referral!.Minutes ?? 60;
        var local = TimeZoneInfo.ConvertTime(Time.GetUtcNow(), inbox.Zone).AddMinutes(-minutes);
        var start = local.AddMinutes(-(local.Minute % 5));
        Input = new SessionInput
        {
            Date = start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Time = start.ToString("HH:mm", CultureInfo.InvariantCulture),
            Minutes = minutes.ToString(CultureInfo.InvariantCulture),
            Sites = [.. Referral.BodySites.Select(SessionForm.SiteValue)],
            ETag = Input.ETag,
        };
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string id, CancellationToken cancellationToken)
    {
        var etag = Input.ETag;
        if (!await LoadAsync(id, cancellationToken))
        {
            return Page();
        }

        Input.ETag = etag;
        var problems = SessionForm.Check(Input);
        if (problems.Count > 0)
        {
            return Refused(problems, StatusCodes.Status422UnprocessableEntity);
        }

        FunctionsResponse response;
        try
        {
            response = await Functions.OperationAsync(await CallerAsync(), id, "record-session", SessionForm.ToParameters(Input, inbox.Zone),
                string.IsNullOrEmpty(etag) ? null : etag, cancellationToken);
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
            return Refused(new Dictionary<string, string>(), StatusCodes.Status503ServiceUnavailable);
        }

        if (IsUnauthorized(response))
        {
            return SignInAgain();
        }

        if (response.Status is HttpStatusCode.Created or HttpStatusCode.OK)
        {
            return SeeOther(DetailPath(id) + "?done=session");
        }

        if (response.Status == HttpStatusCode.PreconditionFailed)
        {
            Changed = true;
            return Refused(new Dictionary<string, string> { [SessionForm.FormLevel] = DetailModel.ChangedMessage }, StatusCodes.Status412PreconditionFailed);
        }

        var refused = response.Body is OperationOutcome outcome ? SessionForm.FieldsOf(outcome) : [];
        if (refused.Count == 0)
        {
            refused[SessionForm.FormLevel] = response.Problem ?? "The session was refused.";
        }

        return Refused(refused, (int)response.Status);
    }

    private Microsoft.AspNetCore.Mvc.RazorPages.PageResult Refused(Dictionary<string, string> problems, int status)
    {
        Problems = problems;
        Response.StatusCode = status;
        return Page();
    }

    /// <summary>The referral the session is for (its ETag kept for the post); false with a not-found page when it is not this therapist's.</summary>
    private async Task<bool> LoadAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var (view, etag) = await LoadReferralAsync(await CallerAsync(), id, cancellationToken);
            Referral = view;
            Input.ETag = etag;
            return view is not null;
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
            return false;
        }
    }
}

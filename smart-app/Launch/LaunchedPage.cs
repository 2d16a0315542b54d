using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Referrals;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Launch;

/// <summary>
/// A page of one launched patient context (<c>/context/{contextId}/...</c>): the context must belong to this
/// browser's session; its token is refreshed if it is about to expire; the layout gets the banner and EHR style.
/// </summary>
public abstract class LaunchedPage(LaunchContexts contexts, PatientRecordReader records) : PageModel
{
    public LaunchContext Launch { get; private set; } = null!;

    public PatientRecord Record { get; private set; } = null!;

    public LaunchProblem? Problem { get; private set; }

    /// <summary>The launched physician, as the functions API is called for them.</summary>
    protected PhysicianCaller Caller => new(Launch);

    protected string SessionId => AppSession.IdOf(HttpContext)!;

    /// <summary>Loads the context; false (with <see cref="Problem"/> set and the status code) when there is none to load.</summary>
    protected async Task<bool> LoadAsync(string contextId, CancellationToken cancellationToken)
    {
        LaunchContext? launch;
        try
        {
            launch = await contexts.GetAsync(AppSession.IdOf(HttpContext), contextId, cancellationToken);
        }
        catch (TokenRequestException)
        {
            launch = null;
        }

        var record = launch is null ? null : await records.LoadAsync(SessionId, contextId, cancellationToken);
        if (launch is null || record is null)
        {
            Problem = LaunchProblem.For(LaunchProblemKind.SessionEnded);
            Response.StatusCode = Problem.StatusCode;
            return false;
        }

        Launch = launch;
        Record = record;
        ViewData["ContextId"] = launch.Id;
        ViewData["PatientBanner"] = launch.NeedPatientBanner ? record : null;
        ViewData["EhrStyle"] = record.StyleCss is not null;
        return true;
    }

    protected IActionResult SeeOther(string location)
    {
        Response.Headers.Location = location;
        return StatusCode(StatusCodes.Status303SeeOther);
    }
}

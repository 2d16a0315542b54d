using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Inbox;

/// <summary>
/// A page of the signed-in therapist (<c>/inbox/**</c>, behind the inbox's cookie and OpenID Connect): the functions
/// API is called with their access token, and the layout shows who is signed in and the sign-out button.
/// </summary>
public abstract class InboxPage(FunctionsApi functions, IOptions<InboxOptions> options, TimeProvider time) : PageModel
{
    protected FunctionsApi Functions => functions;

    protected TimeProvider Time => time;

    /// <summary>Set when the functions API could not be reached or failed: the page says so instead of failing.</summary>
    public string? ServiceProblem { get; protected set; }

    /// <summary>The referral is absent or another therapist's: the page says "not found" (404), whatever the reason.</summary>
    public bool ReferralNotFound { get; protected set; }

    /// <summary>The therapist's PractitionerRole id, from the claim the provider puts in the id_token.</summary>
    protected string? TherapistId => InboxAuthentication.PractitionerRoleId(User, options.Value);

    public override void OnPageHandlerExecuting(PageHandlerExecutingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ViewData["Therapist"] = User.Identity?.Name ?? TherapistId ?? "Therapist";
        base.OnPageHandlerExecuting(context);
    }

    /// <summary>The therapist as the functions API is called for them: their access token, refreshed if it was about to expire.</summary>
    protected async Task<TherapistCaller> CallerAsync() =>
        new(await HttpContext.GetTokenAsync(InboxAuthentication.CookieScheme, OpenIdConnectParameterNames.AccessToken) ?? "");

    /// <summary>
    /// A referral with its Task (and the Task's ETag, for a change guarded by If-Match); null, with <see cref="ReferralNotFound"/>
    /// set and a 404, when the API knows none for this therapist.
    /// </summary>
    protected async Task<(ReferralView? View, string? ETag)> LoadReferralAsync(TherapistCaller caller, string id, CancellationToken cancellationToken)
    {
        var (request, fhirTask, etag) = await Functions.ReferralWithTaskAsync(caller, id, cancellationToken);
        return (ViewOf(request, fhirTask), etag);
    }

    /// <summary>As <see cref="LoadReferralAsync"/>, with the referral's sessions and messages: one call for the whole course.</summary>
    protected async Task<(ReferralView? View, ReferralCourse Course)> LoadCourseAsync(TherapistCaller caller, string id, CancellationToken cancellationToken)
    {
        var course = await Functions.ReferralCourseAsync(caller, id, cancellationToken);
        return (ViewOf(course.Request, course.Task), course);
    }

    private ReferralView? ViewOf(Hl7.Fhir.Model.ServiceRequest? request, Hl7.Fhir.Model.Task? fhirTask)
    {
        if (request is null || fhirTask is null)
        {
            ReferralNotFound = true;
            Response.StatusCode = StatusCodes.Status404NotFound;
            return null;
        }

        return ReferralView.Of(request, fhirTask, time.GetUtcNow());
    }

    /// <summary>The API refused the therapist's token (expired beyond refresh, revoked): sign in again and come back here.</summary>
    protected IActionResult SignInAgain() =>
        Challenge(new AuthenticationProperties { RedirectUri = Request.Path + Request.QueryString }, InboxAuthentication.OidcScheme);

    protected static bool IsUnauthorized(FunctionsResponse response) => response?.Status == HttpStatusCode.Unauthorized;

    protected IActionResult SeeOther(string location)
    {
        Response.Headers.Location = location;
        return StatusCode(StatusCodes.Status303SeeOther);
    }

    public static string DetailPath(string id) => "/inbox/referrals/" + Uri.EscapeDataString(id);
}

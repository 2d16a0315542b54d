using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Referral.SmartApp.Inbox;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Admin;

/// <summary>The installation self-check; not found unless <c>Admin:Enabled</c> (default: Development only).</summary>
public sealed class SelfCheckModel(SelfCheck check, IOptions<AdminOptions> options, IHostEnvironment environment) : PageModel
{
    public SelfCheckReport Report { get; private set; } = null!;

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.IsEnabled(environment))
        {
            return NotFound();
        }

        // The administrator signed in with the inbox's provider: the functions API is asked with their access token
        // (kept on the server in the inbox's ticket, refreshed there before it expires), as the inbox asks for a therapist.
        var token = await HttpContext.GetTokenAsync(InboxAuthentication.CookieScheme, OpenIdConnectParameterNames.AccessToken);
        Report = await check.RunAsync(string.IsNullOrEmpty(token) ? null : new TherapistCaller(token), cancellationToken);
        return Page();
    }
}

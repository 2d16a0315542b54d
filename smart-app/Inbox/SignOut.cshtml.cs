using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Referral.SmartApp.Inbox;

/// <summary>
/// Sign-out: the inbox cookie and its server-side ticket go, then the provider ends its session (RP-initiated logout,
/// with the id_token as hint) and sends the browser back to <c>/signout-callback-oidc</c>, then to the signed-out page.
/// </summary>
public sealed class SignOutModel : PageModel
{
    public void OnGet()
    {
    }

    public IActionResult OnPost() =>
        SignOut(new Microsoft.AspNetCore.Authentication.AuthenticationProperties { RedirectUri = InboxAuthentication.SignedOutPath },
            InboxAuthentication.CookieScheme, InboxAuthentication.OidcScheme);
}

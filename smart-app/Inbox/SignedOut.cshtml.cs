using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Referral.SmartApp.Inbox;

/// <summary>Where sign-out ends, and where a refused or broken sign-in lands (<c>?failed=true</c>); open to everyone.</summary>
public sealed class SignedOutModel : PageModel
{
    public bool Failed { get; private set; }

    public void OnGet(bool failed) => Failed = failed;
}

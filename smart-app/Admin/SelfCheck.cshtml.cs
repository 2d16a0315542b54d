using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

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

        Report = await check.RunAsync(cancellationToken);
        return Page();
    }
}

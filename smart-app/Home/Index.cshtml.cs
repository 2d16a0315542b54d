using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Referral.SmartApp.Home;

public sealed class IndexModel : PageModel
{
    public string LaunchUrl { get; private set; } = "/launch";

    public void OnGet() => LaunchUrl = $"{Request.Scheme}://{Request.Host}{Request.PathBase}/launch";
}

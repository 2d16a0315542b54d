using Microsoft.AspNetCore.Mvc.RazorPages;
using Referral.SmartApp.Launch;

namespace Referral.SmartApp.Admin;

/// <summary>The installation pack as a page: what to register in the EHR and which EHRs the app accepts.</summary>
public sealed class InstallModel(RegistrationDocumentBuilder builder, EhrRegistry ehrs) : PageModel
{
    public ClientRegistrationDocument Document { get; private set; } = null!;

    public IReadOnlyList<EhrOptions> Ehrs => ehrs.All;

    public void OnGet() => Document = builder.Build();
}

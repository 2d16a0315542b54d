using System.Security.Claims;
using Claim = System.Security.Claims.Claim;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using SandboxEhr.Auth;
using SandboxEhr.Clients;
using SandboxEhr.Fhir;

namespace SandboxEhr.Ehr;

/// <summary>The EHR home: sign in as a physician, then the patient list, and the standalone launch links.</summary>
public sealed class IndexModel(FhirStore store, SandboxUsers users, ClientRegistry clients, SandboxUrls urls) : PageModel
{
    public IReadOnlyList<SandboxUser> Physicians { get; private set; } = [];

    public IReadOnlyList<PatientRow> Patients { get; private set; } = [];

    public IReadOnlyList<(string Name, string Url)> StandaloneLaunches { get; private set; } = [];

    public bool SignedIn => User.Identity?.IsAuthenticated == true;

    public void OnGet()
    {
        Physicians = users.Physicians;
        var conditions = store.All<Condition>().ToLookup(c => PatientCompartment.PatientOf(c) ?? "");
        var coverage = store.All<Coverage>().ToLookup(c => PatientCompartment.PatientOf(c) ?? "");
        Patients =
        [
            .. store.All<Patient>().OrderBy(p => p.Name.FirstOrDefault()?.Family, StringComparer.Ordinal).Select(p => new PatientRow(
                p,
                [.. conditions[p.Id ?? ""].Where(c => c.ClinicalStatus?.Coding.Any(x => x.Code == "active") == true).Select(c => c.Code?.Text).OfType<string>()],
                coverage[p.Id ?? ""].FirstOrDefault()?.Type?.Coding.FirstOrDefault()?.Display)),
        ];
        var fhirBase = urls.For(Request).Fhir;
        StandaloneLaunches =
        [
            .. clients.All.Where(c => c.LaunchUrl is not null && c.UserType == UserTypes.Physician)
                .Select(c => (c.ClientName, QueryHelpers.AddQueryString(c.LaunchUrl!, "iss", fhirBase))),
        ];
    }

    public async Task<IActionResult> OnPostSignInAsync(string? practitionerId)
    {
        var physician = users.Find(UserTypes.Physician, practitionerId);
        if (physician is null)
        {
            return BadRequest();
        }

        var identity = new ClaimsIdentity(
            [new Claim(EhrSession.PractitionerClaim, physician.Id), new Claim(ClaimTypes.Name, physician.Name)],
            EhrSession.Scheme);
        await HttpContext.SignInAsync(EhrSession.Scheme, new ClaimsPrincipal(identity));
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(EhrSession.Scheme);
        return RedirectToPage();
    }

    public sealed record PatientRow(Patient Patient, IReadOnlyList<string> Problems, string? CoverageType);
}

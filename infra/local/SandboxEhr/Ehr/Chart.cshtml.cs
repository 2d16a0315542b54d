using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using SandboxEhr.Auth;
using SandboxEhr.Clients;
using SandboxEhr.Fhir;

namespace SandboxEhr.Ehr;

/// <summary>A patient's chart: banner, problem list, medications, coverage, and the apps to launch in the frame.</summary>
[Authorize]
public sealed class ChartModel(FhirStore store, ClientRegistry clients, AuthorizationStore authorizations, SandboxUrls urls, IOptions<SandboxOptions> options, CdsHooksClient cds) : PageModel
{
    public const string AppFrame = "app-frame";

    public Patient Patient { get; private set; } = null!;

    public IReadOnlyList<Condition> Problems { get; private set; } = [];

    public IReadOnlyList<MedicationRequest> Medications { get; private set; } = [];

    public IReadOnlyList<(Coverage Coverage, string? Payor)> Coverages { get; private set; } = [];

    public Encounter? Visit { get; private set; }

    public IReadOnlyList<RegisteredClient> Apps { get; private set; } = [];

    /// <summary>The cards the CDS services answered <c>patient-view</c> with, shown above the chart.</summary>
    public IReadOnlyList<CdsCard> Cards { get; private set; } = [];

    /// <summary>The app a card's SMART link launches: the registered client with that launch URL, if any.</summary>
    public RegisteredClient? AppFor(CdsLink link) => link.Type == "smart"
        ? clients.All.FirstOrDefault(c => c.LaunchUrl is not null && c.UserType == UserTypes.Physician && string.Equals(c.LaunchUrl, link.Url, StringComparison.Ordinal))
        : null;

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        var patient = store.Read<Patient>(id);
        if (patient is null)
        {
            return NotFound();
        }

        Patient = patient;
        Problems = [.. store.All<Condition>().Where(c => PatientCompartment.PatientOf(c) == id)];
        Medications = [.. store.All<MedicationRequest>().Where(m => PatientCompartment.PatientOf(m) == id)];
        Coverages =
        [
            .. store.All<Coverage>().Where(c => PatientCompartment.PatientOf(c) == id)
                .Select(c => (c, store.Read<Organization>(PatientCompartment.IdIn(c.Payor.FirstOrDefault()?.Reference, "Organization") ?? "")?.Name)),
        ];
        Visit = store.CurrentEncounter(id);
        Apps = [.. clients.All.Where(c => c.LaunchUrl is not null && c.UserType == UserTypes.Physician)];
        if (User.FindFirst(EhrSession.PractitionerClaim)?.Value is { } practitioner)
        {
            Cards = await cds.CallAsync(urls.For(Request), "patient-view", id, practitioner, cancellationToken);
        }

        return Page();
    }

    /// <summary>
    /// The launch button, or a CDS card's SMART link (with its appContext): binds a new opaque launch to this patient, the current visit and the signed-in physician,
    /// then sends the frame to the app's launch URL with <c>iss</c> and <c>launch</c> (SMART EHR launch).
    /// </summary>
    public IActionResult OnPostLaunch(string id, string? clientId, string? appContext)
    {
        var client = clients.Find(clientId);
        var practitioner = User.FindFirst(EhrSession.PractitionerClaim)?.Value;
        if (client?.LaunchUrl is null || practitioner is null || store.Read<Patient>(id) is null)
        {
            return BadRequest();
        }

        // A card's link hands its appContext to the app through the launch (SMART: returned beside the token).
        var launch = authorizations.CreateLaunch(client.ClientId, id, store.CurrentEncounter(id)?.Id, practitioner, options.Value.LaunchLifetime,
            string.IsNullOrEmpty(appContext) ? null : appContext);
        var target = QueryHelpers.AddQueryString(client.LaunchUrl, new Dictionary<string, string?>
        {
            ["iss"] = urls.For(Request).Fhir,
            ["launch"] = launch.Id,
        });
        Response.Headers.Location = target;
        return StatusCode(StatusCodes.Status303SeeOther);
    }
}

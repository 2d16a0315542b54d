using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SandboxEhr.Clients;
using SandboxEhr.Data;
using SandboxEhr.Fhir;

namespace SandboxEhr.Ehr;

/// <summary>
/// A minimal order screen, the EHR's own: the physician picks an order and, as they do, the EHR calls the CDS
/// services' <c>order-select</c> with the draft ServiceRequest (nothing is stored) and shows their cards.
/// </summary>
[Authorize]
public sealed class OrderModel(FhirStore store, ClientRegistry clients, SandboxUrls urls, CdsHooksClient cds) : PageModel
{
    public const string DraftId = "draft-order";

    /// <summary>The orderable procedures: the massage codes a referral service reacts to, and one it does not.</summary>
    public static IReadOnlyList<(string Value, string System, string Code, string Display)> Orderables { get; } =
    [
        ("97124", "http://www.ama-assn.org/go/cpt", "97124", "Massage therapy (CPT 97124)"),
        ("97140", "http://www.ama-assn.org/go/cpt", "97140", "Manual therapy techniques (CPT 97140)"),
        ("387854002", CodeSystems.Snomed, "387854002", "Therapeutic massage (SNOMED CT)"),
        ("97110", "http://www.ama-assn.org/go/cpt", "97110", "Therapeutic exercise (CPT 97110)"),
    ];

    public Patient Patient { get; private set; } = null!;

    public IReadOnlyList<Condition> Problems { get; private set; } = [];

    public IReadOnlyList<CdsCard> Cards { get; private set; } = [];

    [BindProperty]
    public string? Procedure { get; set; }

    [BindProperty]
    public string? Diagnosis { get; set; }

    [BindProperty]
    public string? BodySite { get; set; }

    [BindProperty]
    public string? Note { get; set; }

    public bool Checked { get; private set; }

    public RegisteredClient? AppFor(CdsLink link) => link.Type == "smart"
        ? clients.All.FirstOrDefault(c => c.LaunchUrl is not null && c.UserType == UserTypes.Physician && string.Equals(c.LaunchUrl, link.Url, StringComparison.Ordinal))
        : null;

    public IActionResult OnGet(string id) => Load(id) ? Page() : NotFound();

    public async Task<IActionResult> OnPostAsync(string id, CancellationToken cancellationToken)
    {
        if (!Load(id))
        {
            return NotFound();
        }

        var practitioner = User.FindFirst(EhrSession.PractitionerClaim)?.Value;
        var orderable = Orderables.FirstOrDefault(o => o.Value == Procedure);
        if (practitioner is null || orderable.Code is null)
        {
            return BadRequest();
        }

        var draft = new ServiceRequest
        {
            Id = DraftId,
            Status = RequestStatus.Draft,
            Intent = RequestIntent.Order,
            Subject = new ResourceReference($"Patient/{id}"),
            Requester = new ResourceReference($"Practitioner/{practitioner}"),
            Code = new CodeableConcept(orderable.System, orderable.Code, orderable.Display, orderable.Display),
        };
        if (Problems.FirstOrDefault(p => p.Id == Diagnosis) is { Code: not null } problem)
        {
            draft.ReasonCode.Add(problem.Code);
            draft.ReasonReference.Add(new ResourceReference($"Condition/{problem.Id}"));
        }

        if (!string.IsNullOrWhiteSpace(BodySite))
        {
            draft.BodySite.Add(new CodeableConcept { Text = BodySite.Trim() });
        }

        if (!string.IsNullOrWhiteSpace(Note))
        {
            draft.Note.Add(new Annotation { Text = Note.Trim() });
        }

        var drafts = new Bundle { Type = Bundle.BundleType.Collection };
        drafts.Entry.Add(new Bundle.EntryComponent { Resource = draft });
        Cards = await cds.CallAsync(urls.For(Request), "order-select", id, practitioner, cancellationToken, context =>
        {
            context["selections"] = new System.Text.Json.Nodes.JsonArray($"ServiceRequest/{DraftId}");
            context["draftOrders"] = System.Text.Json.Nodes.JsonNode.Parse(FhirJson.Serialize(drafts));
        });
        Checked = true;
        return Page();
    }

    private bool Load(string id)
    {
        if (store.Read<Patient>(id) is not { } patient)
        {
            return false;
        }

        Patient = patient;
        Problems = [.. store.All<Condition>().Where(c => PatientCompartment.PatientOf(c) == id)];
        return true;
    }
}

using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SandboxEhr.Fhir;

namespace SandboxEhr.Auth;

/// <summary>The authorization server's sign-in (a picker: it is a sandbox), patient picker, and Approve / Deny.</summary>
public sealed class ConsentModel(AuthorizationStore store, AuthorizationResponder responder, SandboxUsers users, FhirStore fhir) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "request")]
    public string? RequestId { get; set; }

    [BindProperty]
    public string? UserId { get; set; }

    [BindProperty]
    public string? PatientId { get; set; }

    public AuthorizationRequest? Pending { get; private set; }

    public IReadOnlyList<SandboxUser> Users { get; private set; } = [];

    public IReadOnlyList<Patient> Patients { get; private set; } = [];

    public string? Problem { get; private set; }

    public bool ForTherapists => Pending?.Client.UserType == UserTypes.Therapist;

    public IActionResult OnGet()
    {
        Load();
        return Pending is null ? Expired() : Page();
    }

    public IActionResult OnPostApprove()
    {
        Load();
        if (Pending is null)
        {
            return Expired();
        }

        var user = users.Find(Pending.Client.UserType, UserId);
        if (user is null)
        {
            Problem = "Choose who you are.";
            return Page();
        }

        string? patientId = null;
        string? encounterId = null;
        if (Pending.NeedsPatient)
        {
            patientId = Patients.FirstOrDefault(p => p.Id == PatientId)?.Id;
            if (patientId is null)
            {
                Problem = "Choose a patient.";
                return Page();
            }

            if (Pending.Scopes.Contains(Scopes.LaunchEncounter))
            {
                encounterId = fhir.CurrentEncounter(patientId)?.Id;
            }
        }

        var request = store.TakePending(RequestId);
        return request is null ? Expired() : new HttpResultAction(responder.Approve(request.Request, user, patientId, encounterId).ToResult());
    }

    public IActionResult OnPostDeny()
    {
        var request = store.TakePending(RequestId);
        return request is null ? Expired() : new HttpResultAction(AuthorizationResponder.Deny(request.Request).ToResult());
    }

    /// <summary>What a scope lets the app do, in words a clinician reads before approving.</summary>
    public static string Describe(string scope)
    {
        if (ResourceScope.TryParse(scope, out var parsed))
        {
            var actions = new List<string>();
            foreach (var (permission, verb) in new[] { (FhirPermissions.Create, "create"), (FhirPermissions.Read, "read"), (FhirPermissions.Update, "update"), (FhirPermissions.Delete, "delete"), (FhirPermissions.Search, "search") })
            {
                if (parsed.Permissions.HasFlag(permission))
                {
                    actions.Add(verb);
                }
            }

            var what = parsed.ResourceType == "*" ? "all" : parsed.ResourceType;
            var whose = parsed.Level switch
            {
                ResourceScope.PatientLevel => "of the chosen patient",
                ResourceScope.UserLevel => "that you can see",
                _ => "of any patient",
            };
            return $"{string.Join(", ", actions)} {what} records {whose}";
        }

        return scope switch
        {
            Scopes.OpenId => "know who you are",
            Scopes.FhirUser => "read your own record",
            Scopes.Profile => "know your name",
            Scopes.Launch => "know the patient and visit open in the EHR",
            Scopes.LaunchPatient => "work with one patient you choose",
            Scopes.LaunchEncounter => "know the patient's current visit",
            Scopes.OnlineAccess => "stay connected while you are online",
            Scopes.OfflineAccess => "stay connected when you are not using it",
            "referral.inbox" => "work with the referrals sent to you",
            _ => $"use '{scope}'",
        };
    }

    private void Load()
    {
        Pending = store.FindPending(RequestId)?.Request;
        if (Pending is not null)
        {
            Users = users.For(Pending.Client.UserType);
            Patients = [.. fhir.All<Patient>().OrderBy(p => p.Name.FirstOrDefault()?.Family, StringComparer.Ordinal)];
        }
    }

    private PageResult Expired()
    {
        Pending = null;
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }
}

/// <summary>Lets a Razor page answer with the same protocol response the minimal-API endpoints return.</summary>
public sealed class HttpResultAction(IResult result) : IActionResult
{
    public System.Threading.Tasks.Task ExecuteResultAsync(ActionContext context) => result.ExecuteAsync(context.HttpContext);
}

using Microsoft.AspNetCore.Mvc;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Prescription;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Status;

/// <summary>
/// The printable prescription of a referral, from the physician's status page
/// (<c>/context/{contextId}/referrals/{id}/prescription</c>): read through the functions API with the launch's identity,
/// so only the physician's own referrals or their launched patient's, each read audited there.
/// </summary>
public sealed class PrescriptionModel(LaunchContexts contexts, PatientRecordReader records, FunctionsApi functions, TimeProvider time) : LaunchedPage(contexts, records)
{
    public PrescriptionView? Prescription { get; private set; }

    public string? ServiceProblem { get; private set; }

    public async Task<IActionResult> OnGetAsync(string contextId, string id, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        try
        {
            var (request, task, _) = await functions.ReferralWithTaskAsync(Caller, id, cancellationToken);
            if (request is not { } referral || task is not { } fulfilment)
            {
                return NotFound();
            }

            Prescription = PrescriptionView.Of(referral, fulfilment, time.GetUtcNow(),
                $"/context/{Launch.Id}/referrals/{Uri.EscapeDataString(id)}", "Back to the referral");
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }
}

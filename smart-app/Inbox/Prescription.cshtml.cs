using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Referral.SmartApp.Prescription;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Inbox;

/// <summary>
/// The printable prescription of one of the therapist's referrals (<c>/inbox/referrals/{id}/prescription</c>), for the
/// patient and the insurer. Read through the functions API as the referral's page is: only the assigned therapist's,
/// and each read audited there.
/// </summary>
public sealed class PrescriptionModel(FunctionsApi functions, IOptions<InboxOptions> options, TimeProvider time) : InboxPage(functions, options, time)
{
    public PrescriptionView? Prescription { get; private set; }

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var (view, _) = await LoadReferralAsync(await CallerAsync(), id, cancellationToken);
            if (view is not null)
            {
                Prescription = PrescriptionView.Of(view.Request, view.Task, Time.GetUtcNow(), DetailPath(view.Id), "Back to the referral");
            }
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }
}

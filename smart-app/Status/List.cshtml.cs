using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Status;

/// <summary>The launched patient's medical-massage referrals with where each stands; each with its Task, in one search.</summary>
public sealed class ListModel(LaunchContexts contexts, PatientRecordReader records, FunctionsApi functions, TimeProvider time) : LaunchedPage(contexts, records)
{
    public IReadOnlyList<(ServiceRequest Request, ReferralStatus Status)> Referrals { get; private set; } = [];

    public string? ServiceProblem { get; private set; }

    public async Task<IActionResult> OnGetAsync(string contextId, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(contextId, cancellationToken))
        {
            return Page();
        }

        try
        {
            var referrals = await functions.ReferralsWithTasksAsync(Caller, cancellationToken);
            var now = time.GetUtcNow();
            Referrals = [.. referrals.Select(r => (r.Request, ReferralStatus.Of(r.Request, r.Task, now))).OrderByDescending(x => x.Request.AuthoredOn, StringComparer.Ordinal)];
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }
}

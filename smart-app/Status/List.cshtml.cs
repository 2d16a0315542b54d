using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Referrals;

namespace Referral.SmartApp.Status;

/// <summary>The launched patient's medical-massage referrals with where each stands; their Tasks read in parallel.</summary>
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
            var requests = (await functions.ReferralsAsync(Caller, cancellationToken)).Where(r => r.Id is not null).ToList();
            var tasks = await System.Threading.Tasks.Task.WhenAll(requests.Select(r => functions.TaskAsync(Caller, r.Id!, cancellationToken)));
            var now = time.GetUtcNow();
            Referrals = [.. requests.Select((r, i) => (r, ReferralStatus.Of(r, tasks[i], now))).OrderByDescending(x => x.r.AuthoredOn, StringComparer.Ordinal)];
        }
        catch (FunctionsUnavailableException e)
        {
            ServiceProblem = e.Message;
        }

        return Page();
    }
}

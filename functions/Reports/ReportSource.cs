using Referral.Functions.Referrals;
using Referral.Functions.Therapists;
using Referral.Model.Referrals;
using Referral.Model.Reports;

namespace Referral.Functions.Reports;

/// <summary>
/// Reads what a report needs for one referral (its sessions' Procedures and Observations, one partition each, and the
/// therapist's directory entry for their NPI and licence) and builds the <see cref="ProgressReport"/>: the API's
/// downloads and the worker's EHR documents both start here.
/// </summary>
public sealed class ReportSource(ReferralStore store, TherapistDirectory directory, TimeProvider time)
{
    public async Task<ProgressReport> BuildAsync(StoredReferral referral, ReportCopy copy, CancellationToken cancellationToken, ReportOccasion? occasion = null)
    {
        ArgumentNullException.ThrowIfNull(referral);
        var procedures = store.ProceduresAsync(referral.Id, cancellationToken);
        var observations = store.ObservationsAsync(referral.Id, null, cancellationToken);
        var therapist = directory.FindAsync(referral.Owner, cancellationToken);
        await Task.WhenAll(procedures, observations, therapist);
        return ProgressReport.Build(
            ReferralSummary.Of(referral.Request, referral.Task),
            (await procedures).Select(p => p.Resource),
            [.. (await observations).Select(o => o.Resource)],
            await therapist,
            copy,
            time.GetUtcNow(),
            occasion);
    }
}

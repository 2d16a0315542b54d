using Hl7.Fhir.Model;
using Referral.Model.Referrals;

namespace Referral.SmartApp.Status;

/// <summary>What the progress section shows: the sessions in order, and the pain series for the chart.</summary>
public sealed record ProgressView(IReadOnlyList<SessionSummary> Sessions, IReadOnlyList<PainPoint> Pain)
{
    public static ProgressView Empty { get; } = new([], []);

    public static ProgressView Of(ReferralSummary referral, IEnumerable<Procedure> procedures, IEnumerable<Observation> observations)
    {
        var observed = observations.ToList();
        return new ProgressView(SessionSummaries.Of(referral, procedures, observed), PainSeries.Of(observed));
    }
}

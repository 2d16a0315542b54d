using Hl7.Fhir.Model;
using Referral.Functions.Referrals;
using Referral.Model;
using Referral.Model.Referrals;

namespace Referral.Functions.WriteBack;

/// <summary>
/// What the <c>ehr-writeback</c> function (the worker) notes on a referral's work row, and how the API shows it: the
/// one record of the EHR copy both deployables read, so it lives here and the worker compiles it as linked source.
/// </summary>
public static class EhrWriteBackWork
{
    public const string ServiceRequestWritten = "EhrServiceRequest";

    /// <summary>Work flags of a failed ServiceRequest write: what the EHR answered, on which try, and whether it was the last.</summary>
    public const string ServiceRequestProblem = "EhrServiceRequestProblem";
    public const string ServiceRequestAttempts = "EhrServiceRequestAttempts";
    public const string ServiceRequestGaveUp = "EhrServiceRequestGaveUp";

    /// <summary>Our id of each Observation, as an identifier on the EHR's copy: the key of a conditional create.</summary>
    public const string ObservationIdentifierSystem = Canonicals.Base + "/sid/session-observation";

    /// <summary>The copy's state for the status page: written, refused (retrying or given up), or not yet written.</summary>
    public static Coding CopyTag(ReferralWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (work.Text(ServiceRequestWritten) is { Length: > 0 })
        {
            return EhrCopy.Tag(EhrCopyState.Written, null);
        }

        return work.Text(ServiceRequestProblem) is { Length: > 0 } problem
            ? EhrCopy.Tag(work.Flag(ServiceRequestGaveUp) ? EhrCopyState.Failed : EhrCopyState.Retrying, problem)
            : EhrCopy.Tag(EhrCopyState.Pending, null);
    }
}

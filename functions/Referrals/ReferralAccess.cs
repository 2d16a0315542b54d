using Referral.Functions.Security;

namespace Referral.Functions.Referrals;

/// <summary>
/// Who may see a referral (DESIGN.md §6): the therapist it is assigned to; the physician who wrote it, or who
/// has its patient open in a launch from the same EHR. Everyone else is told it does not exist.
/// </summary>
public static class ReferralAccess
{
    public static bool CanSee(Caller caller, StoredReferral referral)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(referral);
        return caller.Kind switch
        {
            CallerKind.Therapist => string.Equals(referral.Owner, caller.Id, StringComparison.Ordinal),
            CallerKind.Physician => string.Equals(referral.Ehr, caller.Ehr, StringComparison.Ordinal)
                && (IsRequester(caller, referral) || IsLaunchedPatient(caller, referral)),
            _ => false,
        };
    }

    private static bool IsRequester(Caller caller, StoredReferral referral) =>
        referral.Request.Requester?.Reference is { } requester && FhirReference.Key(requester) == caller.Id;

    private static bool IsLaunchedPatient(Caller caller, StoredReferral referral) =>
        caller.Patient is not null && referral.Request.Subject?.Reference is { } subject && FhirReference.Key(subject) == caller.Patient;
}

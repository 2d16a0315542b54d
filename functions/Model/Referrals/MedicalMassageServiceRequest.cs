using Referral.Model.Terminology;

namespace Referral.Model.Referrals;

/// <summary>The fixed parts and limits of the MedicalMassageServiceRequest profile (DESIGN.md §4).</summary>
public static class MedicalMassageServiceRequest
{
    public const string Profile = Canonicals.MedicalMassageServiceRequestProfile;

    public const int MinSessions = 1;
    public const int MaxSessions = 52;

    /// <summary>CPT bills massage in 15-minute units; sessions run 30-90 minutes in practice.</summary>
    public const int MinMinutesPerSession = 15;
    public const int MaxMinutesPerSession = 120;

    /// <summary>A prescription for medical massage is renewed at least yearly.</summary>
    public const int MaxValidityDays = 366;

    /// <summary>The id of the Coverage the builder contains; ServiceRequest.insurance points to it as "#coverage".</summary>
    public const string ContainedCoverageId = "coverage";

    /// <summary>
    /// The referral as it is stored: its meta is the server's, so it claims this profile (the one it was checked
    /// against) and only it; a client's meta (another profile, tags, labels, versions) is replaced, not kept.
    /// </summary>
    public static void ClaimProfile(Hl7.Fhir.Model.ServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Meta = new Hl7.Fhir.Model.Meta { Profile = [Profile] };
    }

    public static Concept Category { get; } = new(Canonicals.Snomed, "3457005", "Patient referral");

    public static Concept PerformerType { get; } = new(Canonicals.Snomed, "1172950003", "Massage therapist");

    public static Concept PlacerIdentifierType { get; } = new(Canonicals.V2IdentifierType, "PLAC", "Placer Identifier");
}

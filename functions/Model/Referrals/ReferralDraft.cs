using Referral.Model.Fhir;
using Referral.Model.Terminology;

namespace Referral.Model.Referrals;

/// <summary>What the physician fills in: everything a medical-massage referral says, typed.</summary>
public sealed record ReferralDraft
{
    /// <summary>The app's own id for this order (the placer identifier); a retried submission reuses it.</summary>
    public required string PlacerId { get; init; }

    public required ResourceRef Patient { get; init; }

    /// <summary>The prescribing physician: the launch's fhirUser (Practitioner or PractitionerRole).</summary>
    public required ResourceRef Requester { get; init; }

    public required IReadOnlyList<Diagnosis> Diagnoses { get; init; }

    public required IReadOnlyList<BodyArea> BodySites { get; init; }

    public MassageProcedure Procedure { get; init; } = MassageProcedure.MassageTherapy;

    public required int Sessions { get; init; }

    public required SessionFrequency Frequency { get; init; }

    public required int MinutesPerSession { get; init; }

    public required DateOnly ValidFrom { get; init; }

    public required DateOnly ValidUntil { get; init; }

    /// <summary>The prescribing practice's IANA time zone: <see cref="ValidFrom"/> and <see cref="ValidUntil"/> are days in it.</summary>
    public required string TimeZone { get; init; }

    public IReadOnlyList<Precaution> Precautions { get; init; } = [];

    public CoverageDraft? Coverage { get; init; }

    /// <summary>The chosen therapist's PractitionerRole.</summary>
    public required ResourceRef Therapist { get; init; }

    /// <summary>Free text for the therapist (ServiceRequest.note).</summary>
    public string? Note { get; init; }

    /// <summary>Home care for the patient (ServiceRequest.patientInstruction).</summary>
    public string? HomeCare { get; init; }

    /// <summary>Imaging or reports the therapist should see (ServiceRequest.supportingInfo).</summary>
    public IReadOnlyList<ResourceRef> SupportingInfo { get; init; } = [];

    /// <summary>How to reach the patient, as the EHR holds it (a contained Patient); null when the EHR holds none.</summary>
    public PatientContact? PatientContact { get; init; }

    /// <summary>The prescriber's NPI, phone and fax, as the EHR holds them (a contained Practitioner).</summary>
    public PrescriberContact? PrescriberContact { get; init; }
}

/// <summary>A diagnosis by its ICD-10-CM code, optionally tied to the patient's Condition on the problem list.</summary>
public sealed record Diagnosis(string Icd10CmCode, ResourceRef? ProblemListEntry = null);

/// <summary>"<see cref="Times"/> sessions per <see cref="Period"/> <see cref="Unit"/>", e.g. 2 per 1 week.</summary>
public sealed record SessionFrequency(int Times, int Period, FrequencyUnit Unit);

/// <summary>Who pays, as a Coverage contained in the referral.</summary>
public sealed record CoverageDraft
{
    public required CoverageType Type { get; init; }

    public required string PayorName { get; init; }

    /// <summary>The payor's Organization, when the EHR has one.</summary>
    public ResourceRef? Payor { get; init; }

    /// <summary>Required for workers' compensation and auto: the claim the insurer pays against.</summary>
    public string? ClaimNumber { get; init; }

    public string? SubscriberId { get; init; }

    /// <summary>The payer's and its adjuster's contact (a contained Organization); carried only for auto and workers' compensation.</summary>
    public PayorContact? PayorContact { get; init; }
}

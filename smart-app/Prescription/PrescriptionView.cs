using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;
using Referral.SmartApp.Inbox;

namespace Referral.SmartApp.Prescription;

/// <summary>
/// The signed referral as a prescription the patient and the insurer can be handed: what was prescribed (the same
/// reading of the ServiceRequest the therapist's page uses), who prescribed it with their NPI and contact, the day it
/// was written in the practice's zone, and where it goes back to (the physician's page or the therapist's).
/// </summary>
public sealed record PrescriptionView
{
    public required ReferralView Referral { get; init; }

    public required ContactsView Contacts { get; init; }

    /// <summary>The day the physician signed and sent it, in the practice's zone; null when the referral does not say.</summary>
    public required DateOnly? Written { get; init; }

    public required string BackHref { get; init; }

    public required string BackLabel { get; init; }

    public string Therapist => Referral.Request.Performer.FirstOrDefault()?.Display ?? "";

    public string Insurance
    {
        get
        {
            var coverage = Referral.Coverage;
            if (coverage is null)
            {
                return "None stated";
            }

            var type = CoverageTypes.Codes.TryFind(coverage.Type, out var known) ? CoverageTypes.Label(known) : coverage.Type?.Text ?? "Insurance";
            return coverage.Payor.FirstOrDefault()?.Display is { Length: > 0 } payor ? $"{type}: {payor}" : type;
        }
    }

    public static PrescriptionView Of(ServiceRequest request, Hl7.Fhir.Model.Task task, DateTimeOffset now, string backHref, string backLabel)
    {
        ArgumentNullException.ThrowIfNull(request);
        var referral = ReferralView.Of(request, task, now);
        var zone = referral.Summary.Zone;
        return new PrescriptionView
        {
            Referral = referral,
            Contacts = ContactsView.Of(request, referral.Today),
            Written = FhirTime.TryDateTime(request.AuthoredOn, out var authored) ? PracticeTime.DateIn(authored, zone) : null,
            BackHref = backHref,
            BackLabel = backLabel,
        };
    }
}

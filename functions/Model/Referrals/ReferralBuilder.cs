using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;

namespace Referral.Model.Referrals;

/// <summary>
/// Turns a typed draft into a MedicalMassageServiceRequest. It builds what it is given, even an incomplete draft:
/// judging it is the validator's job, so the physician sees every problem at once.
/// </summary>
public sealed class ReferralBuilder(TimeProvider time)
{
    public ServiceRequest Build(ReferralDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var request = new ServiceRequest
        {
            Meta = new Meta { Profile = [MedicalMassageServiceRequest.Profile] },
            Identifier =
            [
                new Identifier(Canonicals.PlacerIdentifierSystem, draft.PlacerId)
                {
                    Type = MedicalMassageServiceRequest.PlacerIdentifierType.ToCodeableConcept(),
                },
            ],
            Status = RequestStatus.Active,
            Intent = RequestIntent.Order,
            Category = [MedicalMassageServiceRequest.Category.ToCodeableConcept()],
            Code = MassageProcedures.ToCodeableConcept(draft.Procedure),
            Subject = draft.Patient.ToReference(),
            Requester = draft.Requester.ToReference(),
            AuthoredOn = FhirTime.DateTime(time.GetUtcNow()),
            ReasonCode = [.. draft.Diagnoses.Select(DiagnosisConcept)],
            ReasonReference = [.. draft.Diagnoses.Where(d => d.ProblemListEntry is not null).Select(d => d.ProblemListEntry!.ToReference())],
            BodySite = [.. draft.BodySites.Select(BodyRegions.ToCodeableConcept)],
            Occurrence = Timing(draft),
            PerformerType = MedicalMassageServiceRequest.PerformerType.ToCodeableConcept(),
            Performer = [draft.Therapist.ToReference()],
            OrderDetail = [.. draft.Precautions.Select(p => Precautions.Codes.For(p).ToCodeableConcept())],
            SupportingInfo = [.. draft.SupportingInfo.Select(s => s.ToReference())],
            PatientInstruction = string.IsNullOrWhiteSpace(draft.HomeCare) ? null : draft.HomeCare,
        };

        if (!string.IsNullOrWhiteSpace(draft.Note))
        {
            request.Note.Add(new Annotation { Text = draft.Note });
        }

        if (draft.Coverage is { } coverage)
        {
            request.Contained.Add(Coverage(coverage, request.Subject));
            request.Insurance.Add(new ResourceReference("#" + MedicalMassageServiceRequest.ContainedCoverageId));
            if (coverage.PayorContact is { IsEmpty: false } payorContact && CoverageTypes.NeedsClaimNumber(coverage.Type))
            {
                request.Contained.Add(ReferralContacts.ToOrganization(payorContact, coverage.PayorName));
                ((Coverage)request.Contained[0]).Payor[0] = new ResourceReference("#" + ReferralContacts.PayorId, coverage.PayorName);
            }
        }

        if (draft.PatientContact is { IsEmpty: false } patient)
        {
            request.Contained.Add(ReferralContacts.ToPatient(patient));
            request.SupportingInfo.Add(new ResourceReference("#" + ReferralContacts.PatientId));
        }

        if (draft.PrescriberContact is { IsEmpty: false } prescriber)
        {
            request.Contained.Add(ReferralContacts.ToPractitioner(prescriber));
            request.SupportingInfo.Add(new ResourceReference("#" + ReferralContacts.RequesterId));
        }

        return request;
    }

    private static CodeableConcept DiagnosisConcept(Diagnosis diagnosis)
    {
        var condition = MassageConditions.Find(Canonicals.Icd10Cm, diagnosis.Icd10CmCode);
        var icd = MassageConditions.FindIcd10Cm(diagnosis.Icd10CmCode);
        var concept = new CodeableConcept
        {
            // An unknown code is kept as given, without a display: the validator names it.
            Coding = [icd?.ToCoding() ?? new Coding(Canonicals.Icd10Cm, diagnosis.Icd10CmCode)],
            Text = condition?.Display ?? diagnosis.Icd10CmCode,
        };
        if (condition?.Snomed is { } snomed)
        {
            concept.Coding.Add(snomed.ToCoding());
        }

        return concept;
    }

    private static Timing Timing(ReferralDraft draft) => new()
    {
        Repeat = new Timing.RepeatComponent
        {
            Count = draft.Sessions,
            Frequency = draft.Frequency.Times,
            Period = draft.Frequency.Period,
            PeriodUnit = FrequencyUnits.ToUnitsOfTime(draft.Frequency.Unit),
            Duration = draft.MinutesPerSession,
            DurationUnit = Hl7.Fhir.Model.Timing.UnitsOfTime.Min,
            Bounds = new Period
            {
                StartElement = PracticeTime.Date(draft.ValidFrom, draft.TimeZone),
                EndElement = PracticeTime.Date(draft.ValidUntil, draft.TimeZone),
            },
        },
    };

    private static Coverage Coverage(CoverageDraft draft, ResourceReference patient)
    {
        var coverage = new Coverage
        {
            Id = MedicalMassageServiceRequest.ContainedCoverageId,
            Status = FinancialResourceStatusCodes.Active,
            Type = CoverageTypes.Codes.For(draft.Type).ToCodeableConcept(),
            Beneficiary = (ResourceReference)patient.DeepCopy(),
            Payor = [draft.Payor is { } payor ? payor.ToReference() : new ResourceReference { Display = draft.PayorName }],
            SubscriberId = string.IsNullOrWhiteSpace(draft.SubscriberId) ? null : draft.SubscriberId,
        };
        if (draft.Payor is not null && coverage.Payor[0].Display is null)
        {
            coverage.Payor[0].Display = draft.PayorName;
        }

        if (!string.IsNullOrWhiteSpace(draft.ClaimNumber))
        {
            coverage.Identifier.Add(new Identifier(Canonicals.ClaimNumberSystem, draft.ClaimNumber)
            {
                Assigner = new ResourceReference { Display = draft.PayorName },
            });
        }

        return coverage;
    }
}

using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Referral.Model.Referrals;

/// <summary>
/// The training a registered therapist holds, by the reference the referral names them with; null when the
/// reference is not a registered therapist.
/// </summary>
public delegate IReadOnlyCollection<TherapistTraining>? TherapistTrainingLookup(string performerReference);

public sealed record ReferralValidationResult
{
    /// <summary>Every problem, each with the FHIRPath of its element; or one "all OK" information issue.</summary>
    public required OperationOutcome Outcome { get; init; }

    /// <summary>The parsed referral; null when the body did not parse strictly as a ServiceRequest.</summary>
    public ServiceRequest? Request { get; init; }

    /// <summary>False: the body is not a strictly valid ServiceRequest (a 400). True with errors: it breaks the profile (a 422).</summary>
    public bool Parsed => Request is not null;

    public bool IsValid => Parsed && Outcome.IsValid();
}

/// <summary>
/// Checks a ServiceRequest against the MedicalMassageServiceRequest profile, as submitted: every rule runs and
/// every problem is reported, each with its FHIRPath in issue.expression and its rule in issue.details.
/// </summary>
public sealed class ReferralValidator(TimeProvider time, ReferralTimeRules? rules = null)
{
    private readonly ReferralTimeRules rules = rules ?? new ReferralTimeRules();

    private static readonly HashSet<string> RequesterTypes = ["Practitioner", "PractitionerRole"];

    public ReferralValidationResult Validate(string json, TherapistTrainingLookup trainingOf)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!FhirJson.TryParse<ServiceRequest>(json, out var request, out var parseOutcome))
        {
            return new ReferralValidationResult { Outcome = parseOutcome };
        }

        return new ReferralValidationResult { Outcome = Validate(request!, trainingOf), Request = request };
    }

    public OperationOutcome Validate(ServiceRequest request, TherapistTrainingLookup trainingOf)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(trainingOf);
        var now = time.GetUtcNow();
        var issues = new List<OperationOutcome.IssueComponent>();

        var authored = CheckOrder(request, now, issues);
        var conditions = CheckDiagnoses(request, issues);
        var sites = CheckBodySites(request, issues);
        CheckDiagnosisSides(request, sites, issues);
        CheckTiming(request, now, authored, issues);
        var precautions = CheckPrecautions(request, issues);
        CheckPerformer(request, conditions, precautions, trainingOf, issues);
        CheckInsurance(request, issues);
        CheckContained(request, now, issues);

        return Outcomes.From(issues);
    }

    /// <summary>The order's own elements; returns when it says it was written, where that can be read.</summary>
    private DateTimeOffset? CheckOrder(ServiceRequest request, DateTimeOffset now, List<OperationOutcome.IssueComponent> issues)
    {
        if (request.Status != RequestStatus.Active)
        {
            issues.Add(Outcomes.Error(ValidationRules.Status, IssueType.Value, "ServiceRequest.status",
                $"A submitted referral is active, not '{request.Status}'."));
        }

        // The intent, doNotPerform, the placer identifier, the category and the presence of code, subject, requester and
        // authoredOn are the profile's (ReferralProfiles: fixed value, invariants mmr-1 to mmr-3, cardinalities), judged by
        // Firely's validator before these rules run.
        if (request.Code is { Coding.Count: 0 })
        {
            issues.Add(Outcomes.Error(ValidationRules.CodeMissing, IssueType.Required, "ServiceRequest.code",
                "The referral must name the ordered procedure (CPT 97124 or 97140)."));
        }
        else if (request.Code is not null)
        {
            for (var j = 0; j < request.Code.Coding.Count; j++)
            {
                var coding = request.Code.Coding[j];
                var known = MassageProcedures.All.FirstOrDefault(c => c.Matches(coding));
                var path = $"ServiceRequest.code.coding[{j}]";
                if (known is null)
                {
                    issues.Add(Outcomes.Error(ValidationRules.CodeUnknown, IssueType.CodeInvalid, path,
                        $"{coding.System}|{coding.Code} is not a medical-massage procedure."));
                }
                else
                {
                    CheckDisplay(known, coding, path, issues);
                }
            }
        }

        CheckReference(request.Subject, "ServiceRequest.subject", ["Patient"], ValidationRules.SubjectType, issues);
        CheckReference(request.Requester, "ServiceRequest.requester", RequesterTypes, ValidationRules.RequesterType, issues);

        if (string.IsNullOrEmpty(request.AuthoredOn))
        {
            return null;
        }

        if (!FhirTime.TryDateTime(request.AuthoredOn, out var authored))
        {
            return null;
        }

        if (authored > now + rules.ClockSkew)
        {
            issues.Add(Outcomes.Error(ValidationRules.AuthoredOnFuture, IssueType.Value, "ServiceRequest.authoredOn",
                $"The referral says it was written at {request.AuthoredOn}, but this server's clock reads {FhirTime.DateTime(now)}: "
                + $"that is in the future by more than the {Minutes(rules.ClockSkew)} two clocks may disagree."));
        }

        return authored;
    }

    private static string Minutes(TimeSpan span) =>
        span.TotalMinutes == 1 ? "1 minute" : $"{span.TotalMinutes:0.##} minutes";

    private static List<MassageCondition> CheckDiagnoses(ServiceRequest request, List<OperationOutcome.IssueComponent> issues)
    {
        // At least one diagnosis, each with an ICD-10-CM code: the profile's (cardinality, invariant mmr-5).
        var conditions = new List<MassageCondition>();

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.ReasonCode.Count; i++)
        {
            var path = $"ServiceRequest.reasonCode[{i}]";
            var concept = request.ReasonCode[i];
            MassageCondition? condition = null;
            for (var j = 0; j < concept.Coding.Count; j++)
            {
                var coding = concept.Coding[j];
                var codingPath = $"{path}.coding[{j}]";
                var found = MassageConditions.Find(coding);
                if (found is null)
                {
                    issues.Add(Outcomes.Error(ValidationRules.DiagnosisUnknown, IssueType.CodeInvalid, codingPath,
                        $"{coding.System}|{coding.Code} is not one of the medical-massage conditions."));
                    continue;
                }

                if (condition is not null && condition != found)
                {
                    issues.Add(Outcomes.Error(ValidationRules.DiagnosisCodesDisagree, IssueType.Value, codingPath,
                        $"{coding.System}|{coding.Code} is {found.Display}, but this diagnosis is {condition.Display}; put each diagnosis in its own reasonCode."));
                    continue;
                }

                condition = found;
                CheckDisplay(found.Concepts.First(c => c.Matches(coding)), coding, codingPath, issues);
            }

            var icd = concept.Coding.FirstOrDefault(c => c.System == Canonicals.Icd10Cm);
            if (icd?.Code is not null && !seen.Add(icd.Code))
            {
                issues.Add(Outcomes.Error(ValidationRules.DiagnosisDuplicate, IssueType.Duplicate, path,
                    $"ICD-10-CM {icd.Code} is listed more than once."));
            }

            if (condition is not null)
            {
                conditions.Add(condition);
            }
        }

        for (var i = 0; i < request.ReasonReference.Count; i++)
        {
            if (ResourceRef.TypeOf(request.ReasonReference[i].Reference) != "Condition")
            {
                issues.Add(Outcomes.Error(ValidationRules.ConditionReferenceType, IssueType.Value, $"ServiceRequest.reasonReference[{i}]",
                    "A diagnosis reference must point to the patient's Condition."));
            }
        }

        return conditions;
    }

    private static List<BodyArea> CheckBodySites(ServiceRequest request, List<OperationOutcome.IssueComponent> issues)
    {
        // At least one body site: the profile's cardinality.
        var sites = new List<BodyArea>();

        for (var i = 0; i < request.BodySite.Count; i++)
        {
            var path = $"ServiceRequest.bodySite[{i}]";
            var concept = request.BodySite[i];
            BodyRegion? region = null;
            if (concept.Coding.Count == 0)
            {
                issues.Add(Outcomes.Error(ValidationRules.BodySiteUnknown, IssueType.Required, path,
                    "A body site needs a SNOMED CT body structure code."));
            }

            for (var j = 0; j < concept.Coding.Count; j++)
            {
                var coding = concept.Coding[j];
                if (BodyRegions.Regions.TryFind(coding, out var found))
                {
                    region ??= found;
                    CheckDisplay(BodyRegions.Regions.For(found), coding, $"{path}.coding[{j}]", issues);
                }
                else
                {
                    issues.Add(Outcomes.Error(ValidationRules.BodySiteUnknown, IssueType.CodeInvalid, $"{path}.coding[{j}]",
                        $"{coding.System}|{coding.Code} is not one of the body regions."));
                }
            }

            var lateralityPath = $"{path}.extension('{Canonicals.LateralityExtension}')";
            var extensions = concept.GetExtensions(Canonicals.LateralityExtension).ToList();
            Laterality? laterality = null;
            if (extensions.Count > 1)
            {
                issues.Add(Outcomes.Error(ValidationRules.LateralityUnknown, IssueType.Structure, lateralityPath,
                    "A body site has one laterality."));
            }
            else if (extensions.Count == 1)
            {
                if (BodyRegions.Lateralities.TryFind(extensions[0].Value as CodeableConcept, out var found))
                {
                    laterality = found;
                }
                else
                {
                    issues.Add(Outcomes.Error(ValidationRules.LateralityUnknown, IssueType.CodeInvalid, lateralityPath,
                        "The laterality must be SNOMED CT 7771000 left, 24028007 right or 51440002 both."));
                }
            }

            if (region is not { } known)
            {
                continue;
            }

            var paired = BodyRegions.IsPaired(known);
            if (paired && extensions.Count == 0)
            {
                issues.Add(Outcomes.Error(ValidationRules.LateralityMissing, IssueType.Required, path,
                    $"{BodyRegions.Regions.For(known).Display} has a left and a right: say which (or both)."));
            }
            else if (!paired && extensions.Count > 0)
            {
                issues.Add(Outcomes.Error(ValidationRules.LateralityNotApplicable, IssueType.Value, lateralityPath,
                    $"{BodyRegions.Regions.For(known).Display} is a midline region: it has no side."));
            }

            var site = new BodyArea(known, paired ? laterality : null);
            if (sites.Contains(site))
            {
                issues.Add(Outcomes.Error(ValidationRules.BodySiteDuplicate, IssueType.Duplicate, path,
                    $"{site.Display} is listed more than once."));
            }
            else
            {
                sites.Add(site);
            }
        }

        return sites;
    }

    /// <summary>A right-sided diagnosis with only left-sided body sites is most likely a slip of the mouse: warn.</summary>
    private static void CheckDiagnosisSides(ServiceRequest request, List<BodyArea> sites, List<OperationOutcome.IssueComponent> issues)
    {
        var sided = sites.Where(s => s.Laterality is not null).Select(s => s.Laterality!.Value).ToHashSet();
        if (sided.Count == 0)
        {
            return;
        }

        for (var i = 0; i < request.ReasonCode.Count; i++)
        {
            var icd = request.ReasonCode[i].Coding.FirstOrDefault(c => c.System == Canonicals.Icd10Cm);
            var concept = icd?.Code is null ? null : MassageConditions.FindIcd10Cm(icd.Code);
            var side = concept is null ? null : MassageConditions.LateralityOf(concept);
            var consistent = side switch
            {
                Laterality.Right => sided.Contains(Laterality.Right) || sided.Contains(Laterality.Both),
                Laterality.Left => sided.Contains(Laterality.Left) || sided.Contains(Laterality.Both),
                Laterality.Both => sided.Contains(Laterality.Both) || (sided.Contains(Laterality.Left) && sided.Contains(Laterality.Right)),
                _ => true,
            };
            if (!consistent)
            {
                issues.Add(Outcomes.Warning(ValidationRules.DiagnosisLaterality, IssueType.BusinessRule, $"ServiceRequest.reasonCode[{i}]",
                    $"ICD-10-CM {icd!.Code} is {side?.ToString().ToUpperInvariant()}-sided, but no body site is on that side."));
            }
        }
    }

    private void CheckTiming(ServiceRequest request, DateTimeOffset now, DateTimeOffset? authored, List<OperationOutcome.IssueComponent> issues)
    {
        // A Timing with count, frequency, period, periodUnit, duration, durationUnit and bounds, and 1-52 sessions: the
        // profile's (types, cardinalities, minValue/maxValue).
        if (request.Occurrence is not Timing timing)
        {
            return;
        }

        const string path = "ServiceRequest.occurrence.repeat";
        var repeat = timing.Repeat ?? new Timing.RepeatComponent();

        var count = repeat.Count is >= MedicalMassageServiceRequest.MinSessions and <= MedicalMassageServiceRequest.MaxSessions ? repeat.Count : null;

        var frequency = CheckFrequency(repeat, path, issues);
        CheckMinutes(repeat, path, issues);
        var validity = CheckValidity(repeat, path, now, authored, issues);

        if (count is { } sessions && frequency is { } perPeriod && validity is { } days)
        {
            var periods = (int)Math.Ceiling(days / perPeriod.PeriodDays);
            var capacity = perPeriod.Times * periods;
            if (sessions > capacity)
            {
                issues.Add(Outcomes.Error(ValidationRules.SessionsExceedValidity, IssueType.BusinessRule, path,
                    $"{sessions} sessions at {perPeriod.Times} per {perPeriod.PeriodDays:0.##} days do not fit in a validity of {days} days (at most {capacity})."));
            }
        }
    }

    private static (int Times, decimal PeriodDays)? CheckFrequency(Timing.RepeatComponent repeat, string path, List<OperationOutcome.IssueComponent> issues)
    {
        var ok = true;
        if (repeat.Frequency is null)
        {
            ok = false;
        }
        else if (repeat.Frequency < 1)
        {
            issues.Add(Outcomes.Error(ValidationRules.FrequencyInvalid, IssueType.Value, path + ".frequency", "The frequency must be at least 1 session per period."));
            ok = false;
        }

        if (repeat.Period is null)
        {
            ok = false;
        }
        else if (repeat.Period <= 0)
        {
            issues.Add(Outcomes.Error(ValidationRules.FrequencyInvalid, IssueType.Value, path + ".period", "The period must be positive."));
            ok = false;
        }

        var unit = FrequencyUnits.FromUnitsOfTime(repeat.PeriodUnit);
        if (repeat.PeriodUnit is null)
        {
            ok = false;
        }
        else if (unit is null)
        {
            issues.Add(Outcomes.Error(ValidationRules.FrequencyInvalid, IssueType.CodeInvalid, path + ".periodUnit",
                $"Sessions are counted per day, week or month, not per '{repeat.PeriodUnit}'."));
            ok = false;
        }

        if (!ok)
        {
            return null;
        }

        var periodDays = repeat.Period!.Value * FrequencyUnits.Days(unit!.Value);
        if (repeat.Frequency!.Value > periodDays)
        {
            issues.Add(Outcomes.Error(ValidationRules.FrequencyTooHigh, IssueType.BusinessRule, path + ".frequency",
                $"{repeat.Frequency} sessions per {periodDays:0.##} days is more than one a day."));
            return null;
        }

        return (repeat.Frequency.Value, periodDays);
    }

    private static void CheckMinutes(Timing.RepeatComponent repeat, string path, List<OperationOutcome.IssueComponent> issues)
    {
        if (repeat.Duration is null || repeat.DurationUnit is null)
        {
            return;
        }

        decimal? minutes = repeat.DurationUnit switch
        {
            Timing.UnitsOfTime.Min => repeat.Duration,
            Timing.UnitsOfTime.H => repeat.Duration * 60,
            _ => null,
        };
        if (minutes is null)
        {
            issues.Add(Outcomes.Error(ValidationRules.MinutesMissing, IssueType.Required, path + ".durationUnit",
                "The session length must be given in minutes (min) or hours (h)."));
        }
        else if (minutes is < MedicalMassageServiceRequest.MinMinutesPerSession or > MedicalMassageServiceRequest.MaxMinutesPerSession)
        {
            issues.Add(Outcomes.Error(ValidationRules.MinutesRange, IssueType.Value, path + ".duration",
                $"{minutes:0.##} minutes per session: a session lasts {MedicalMassageServiceRequest.MinMinutesPerSession} to {MedicalMassageServiceRequest.MaxMinutesPerSession} minutes."));
        }
    }

    /// <summary>The validity in days (both ends included), or null when it cannot be used.</summary>
    private int? CheckValidity(Timing.RepeatComponent repeat, string path, DateTimeOffset now, DateTimeOffset? authored, List<OperationOutcome.IssueComponent> issues)
    {
        var boundsPath = path + ".bounds";
        if (repeat.Bounds is not Period bounds)
        {
            issues.Add(Outcomes.Error(ValidationRules.ValidityMissing, IssueType.Required, boundsPath,
                "The referral must state its validity as a period (boundsPeriod) with a start and an end date."));
            return null;
        }

        var hasStart = FhirTime.TryDate(bounds.Start, out var start);
        var hasEnd = FhirTime.TryDate(bounds.End, out var end);
        if (!hasStart)
        {
            issues.Add(Outcomes.Error(ValidationRules.ValidityMissing, IssueType.Required, boundsPath + ".start", "The validity period needs a start date."));
        }

        if (!hasEnd)
        {
            issues.Add(Outcomes.Error(ValidationRules.ValidityMissing, IssueType.Required, boundsPath + ".end", "The validity period needs an end date."));
        }

        var zone = hasStart ? CheckZone(bounds, boundsPath, issues) : null;
        var today = PracticeTime.DateIn(now, zone ?? TimeZoneInfo.Utc);
        if (hasEnd && end < today)
        {
            issues.Add(Outcomes.Error(ValidationRules.ValidityExpired, IssueType.BusinessRule, boundsPath + ".end",
                $"The validity period ended on {FhirTime.Date(end)}; today is {FhirTime.Date(today)} in {(zone ?? TimeZoneInfo.Utc).Id}."));
        }

        // Judged only when the day of writing and the zone are known and believable: a missing zone or authoredOn,
        // or one in the future, is named on its own.
        if (hasStart && zone is not null && authored is { } written && written <= now + rules.ClockSkew)
        {
            var writtenOn = PracticeTime.DateIn(written, zone);
            var earliest = writtenOn.AddDays(-rules.ValidityBackdateDays);
            if (start < earliest)
            {
                issues.Add(Outcomes.Error(ValidationRules.ValidityBackdated, IssueType.BusinessRule, boundsPath + ".start",
                    $"The validity starts on {FhirTime.Date(start)}, before the referral was written on {FhirTime.Date(writtenOn)} ({zone.Id}): "
                    + (rules.ValidityBackdateDays == 0
                        ? "a prescription is valid from the day it is written."
                        : $"it may start at most {rules.ValidityBackdateDays} days before that.")));
            }
        }

        if (!hasStart || !hasEnd)
        {
            return null;
        }

        if (end < start)
        {
            issues.Add(Outcomes.Error(ValidationRules.ValidityOrder, IssueType.Value, boundsPath + ".end",
                $"The validity period ends ({FhirTime.Date(end)}) before it starts ({FhirTime.Date(start)})."));
            return null;
        }

        var days = end.DayNumber - start.DayNumber + 1;
        if (days > MedicalMassageServiceRequest.MaxValidityDays)
        {
            issues.Add(Outcomes.Error(ValidationRules.ValidityTooLong, IssueType.BusinessRule, boundsPath,
                $"A validity of {days} days is longer than a year."));
        }

        return days;
    }

    /// <summary>
    /// The practice zone the validity dates are in (tz-code on the start, and the same on the end where given);
    /// null, with the problem named, when it is missing or not an IANA zone.
    /// </summary>
    private static TimeZoneInfo? CheckZone(Period bounds, string boundsPath, List<OperationOutcome.IssueComponent> issues)
    {
        var extension = $".extension('{PracticeTime.TzCodeExtension}')";
        var id = PracticeTime.ZoneIdOf(bounds.StartElement);
        if (id is null)
        {
            // A start without tz-code is the profile's (invariant mmr-6).
            return null;
        }

        if (!PracticeTime.TryFindZone(id, out var zone))
        {
            issues.Add(Outcomes.Error(ValidationRules.ValidityZone, IssueType.CodeInvalid, boundsPath + ".start" + extension,
                $"'{id}' is not an IANA time zone id (such as America/Chicago)."));
            return null;
        }

        var endId = PracticeTime.ZoneIdOf(bounds.EndElement);
        if (endId is not null && !string.Equals(endId, id, StringComparison.Ordinal))
        {
            issues.Add(Outcomes.Error(ValidationRules.ValidityZone, IssueType.Value, boundsPath + ".end" + extension,
                $"The validity starts in {id} but ends in {endId}: both dates are in the prescribing practice's one time zone."));
            return null;
        }

        return zone;
    }

    private static List<Precaution> CheckPrecautions(ServiceRequest request, List<OperationOutcome.IssueComponent> issues)
    {
        var precautions = new List<Precaution>();
        for (var i = 0; i < request.OrderDetail.Count; i++)
        {
            var path = $"ServiceRequest.orderDetail[{i}]";
            var concept = request.OrderDetail[i];
            if (concept.Coding.Count == 0)
            {
                issues.Add(Outcomes.Error(ValidationRules.PrecautionUnknown, IssueType.Required, path, "A precaution needs a code."));
            }

            for (var j = 0; j < concept.Coding.Count; j++)
            {
                var coding = concept.Coding[j];
                if (Precautions.Codes.TryFind(coding, out var precaution))
                {
                    precautions.Add(precaution);
                    CheckDisplay(Precautions.Codes.For(precaution), coding, $"{path}.coding[{j}]", issues);
                }
                else
                {
                    issues.Add(Outcomes.Error(ValidationRules.PrecautionUnknown, IssueType.CodeInvalid, $"{path}.coding[{j}]",
                        $"{coding.System}|{coding.Code} is not one of the precautions."));
                }
            }
        }

        return precautions;
    }

    private static void CheckPerformer(
        ServiceRequest request,
        List<MassageCondition> conditions,
        List<Precaution> precautions,
        TherapistTrainingLookup trainingOf,
        List<OperationOutcome.IssueComponent> issues)
    {
        // The performer type and exactly one performer: the profile's (invariant mmr-4, cardinality 1..1).
        if (request.Performer.Count == 0)
        {
            return;
        }

        const string path = "ServiceRequest.performer[0]";
        var reference = request.Performer[0].Reference;
        if (reference is null || !RequesterTypes.Contains(ResourceRef.TypeOf(reference) ?? string.Empty))
        {
            issues.Add(Outcomes.Error(ValidationRules.PerformerReferenceType, IssueType.Value, path,
                "The therapist must be referenced as a PractitionerRole or Practitioner."));
            return;
        }

        var held = trainingOf(reference);
        if (held is null)
        {
            issues.Add(Outcomes.Error(ValidationRules.PerformerUnknown, IssueType.NotFound, path,
                $"{reference} is not a therapist registered with the service."));
            return;
        }

        foreach (var unmet in TrainingRules.Unmet(TrainingRules.Requirements(conditions, precautions), held))
        {
            issues.Add(Outcomes.Error(ValidationRules.TrainingMissing, IssueType.BusinessRule, path,
                $"{unmet.Reason} needs a therapist trained in {TherapistTrainings.Codes.For(unmet.Training).Display}, which {reference} is not."));
        }
    }

    private static void CheckInsurance(ServiceRequest request, List<OperationOutcome.IssueComponent> issues)
    {
        for (var i = 0; i < request.Insurance.Count; i++)
        {
            var path = $"ServiceRequest.insurance[{i}]";
            var reference = request.Insurance[i].Reference;
            if (reference is null || !reference.StartsWith('#'))
            {
                if (ResourceRef.TypeOf(reference) != "Coverage")
                {
                    issues.Add(Outcomes.Error(ValidationRules.InsuranceUnresolved, IssueType.Value, path, "Insurance must reference a Coverage."));
                }

                continue;
            }

            var index = request.Contained.FindIndex(r => r.Id == reference[1..]);
            if (index < 0 || request.Contained[index] is not Coverage coverage)
            {
                issues.Add(Outcomes.Error(ValidationRules.InsuranceUnresolved, IssueType.NotFound, path,
                    $"{reference} is not a Coverage contained in the referral."));
                continue;
            }

            var coveragePath = $"ServiceRequest.contained[{index}]";
            if (coverage.Type is null || coverage.Type.Coding.Count == 0)
            {
                issues.Add(Outcomes.Error(ValidationRules.CoverageTypeMissing, IssueType.Required, coveragePath + ".type",
                    "The coverage must say whether it is workers' compensation, auto or a health plan."));
                continue;
            }

            if (!CoverageTypes.Codes.TryFind(coverage.Type, out var type))
            {
                issues.Add(Outcomes.Error(ValidationRules.CoverageTypeUnknown, IssueType.CodeInvalid, coveragePath + ".type",
                    "The coverage type must be v3 ActCode WCBPOL, AUTOPOL or HIP."));
                continue;
            }

            if (CoverageTypes.NeedsClaimNumber(type)
                && !coverage.Identifier.Any(id => id.System == Canonicals.ClaimNumberSystem && !string.IsNullOrWhiteSpace(id.Value)))
            {
                issues.Add(Outcomes.Error(ValidationRules.ClaimNumberMissing, IssueType.Required, coveragePath + ".identifier",
                    $"{CoverageTypes.Codes.For(type).Display} pays against a claim: the coverage needs its claim number."));
            }
        }
    }

    /// <summary>
    /// The profile allows these contained resources, each once and each referenced where it belongs: the Coverage
    /// (<c>#coverage</c>) that <c>insurance</c> references; the patient's and the prescriber's contact details
    /// (<c>#patient</c>, <c>#requester</c>) that <c>supportingInfo</c> references; and, for auto and workers'
    /// compensation only, the payer's contact (<c>#payor</c>) that the Coverage's <c>payor</c> references.
    /// </summary>
    private static void CheckContained(ServiceRequest request, DateTimeOffset now, List<OperationOutcome.IssueComponent> issues)
    {
        const string coverageRef = "#" + MedicalMassageServiceRequest.ContainedCoverageId;
        var insured = request.Insurance.Any(i => i.Reference == coverageRef);
        var supporting = request.SupportingInfo.Select(s => s.Reference).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var coverage = request.Contained.OfType<Coverage>().FirstOrDefault(c => c.Id == MedicalMassageServiceRequest.ContainedCoverageId);
        var payorReferenced = coverage is not null
            && coverage.Payor.Any(p => p.Reference == "#" + ReferralContacts.PayorId)
            && CoverageTypes.Codes.TryFind(coverage.Type, out var type) && CoverageTypes.NeedsClaimNumber(type);
        for (var i = 0; i < request.Contained.Count; i++)
        {
            var contained = request.Contained[i];
            var path = $"ServiceRequest.contained[{i}]";
            var first = request.Contained.FindIndex(r => r.Id == contained.Id) == i;
            switch (contained)
            {
                case Coverage when contained.Id == MedicalMassageServiceRequest.ContainedCoverageId && insured && first:
                    continue;
                case Patient patient when contained.Id == ReferralContacts.PatientId && supporting.Contains("#" + ReferralContacts.PatientId) && first:
                    ContactRules.CheckPatient(patient, path, now, issues);
                    continue;
                case Practitioner practitioner when contained.Id == ReferralContacts.RequesterId && supporting.Contains("#" + ReferralContacts.RequesterId) && first:
                    ContactRules.CheckPrescriber(practitioner, path, issues);
                    continue;
                case Organization payor when contained.Id == ReferralContacts.PayorId && payorReferenced && first:
                    ContactRules.CheckPayor(payor, path, issues);
                    continue;
            }

            issues.Add(Outcomes.Error(ValidationRules.ContainedNotAllowed, IssueType.Structure, path,
                $"A referral contains only the Coverage that insurance references ('{coverageRef}'), the patient's and the prescriber's contact details "
                + $"that supportingInfo references ('#{ReferralContacts.PatientId}', '#{ReferralContacts.RequesterId}') and, for auto and workers' compensation, "
                + $"the payer's contact that the Coverage's payor references ('#{ReferralContacts.PayorId}'); not this {contained.TypeName}."));
        }
    }

    private static void CheckReference(
        ResourceReference? reference, string path, IReadOnlyCollection<string> types, string typeRule,
        List<OperationOutcome.IssueComponent> issues)
    {
        // A missing reference is the profile's (cardinality); one of the wrong type is judged here.
        if (!string.IsNullOrWhiteSpace(reference?.Reference) && !types.Contains(ResourceRef.TypeOf(reference.Reference) ?? string.Empty))
        {
            issues.Add(Outcomes.Error(typeRule, IssueType.Value, path,
                $"{reference.Reference} is not a {string.Join(" or ", types)} reference."));
        }
    }

    private static void CheckDisplay(Concept known, Coding coding, string path, List<OperationOutcome.IssueComponent> issues)
    {
        if (coding.Display is not null && !string.Equals(coding.Display, known.Display, StringComparison.OrdinalIgnoreCase))
        {
            issues.Add(Outcomes.Warning(ValidationRules.DisplayMismatch, IssueType.Value, path + ".display",
                $"'{coding.Display}' is not the display of {known.System}|{known.Code}; expected '{known.Display}'."));
        }
    }
}

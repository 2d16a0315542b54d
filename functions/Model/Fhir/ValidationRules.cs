using Referral.Model.Terminology;

namespace Referral.Model.Fhir;

/// <summary>
/// The codes of every rule the model checks (the local validation-rule code system). Each issue carries its rule in
/// issue.details.coding, so a client can react to a rule without parsing messages.
/// </summary>
public static class ValidationRules
{
    // Parsing.
    public const string Unparseable = "unparseable";
    public const string ResourceType = "resource-type";

    // Every resource a client sends (InputRules).
    public const string StringCharacters = "string-characters";
    public const string PlainText = "plain-text";
    public const string ContainedNested = "dom-2";
    public const string ContainedUnreferenced = "dom-3";
    public const string ContainedMeta = "dom-4";
    public const string ContainedSecurity = "dom-5";

    /// <summary>What Firely's validator finds against the FHIR package (cardinality, types, fixed values, invariants).</summary>
    public const string Profile = "profile";

    // The MedicalMassageServiceRequest profile.
    public const string Status = "status";
    public const string CodeMissing = "code-missing";
    public const string CodeUnknown = "code-unknown";
    public const string SubjectType = "subject-type";
    public const string RequesterType = "requester-type";
    public const string ReferenceForeign = "reference-foreign";
    public const string AuthoredOnFuture = "authored-on-future";
    public const string DiagnosisUnknown = "diagnosis-unknown";
    public const string DiagnosisCodesDisagree = "diagnosis-codes-disagree";
    public const string DiagnosisDuplicate = "diagnosis-duplicate";
    public const string DiagnosisLaterality = "diagnosis-laterality";
    public const string ConditionReferenceType = "condition-reference-type";
    public const string DisplayMismatch = "display-mismatch";
    public const string BodySiteUnknown = "body-site-unknown";
    public const string BodySiteDuplicate = "body-site-duplicate";
    public const string LateralityMissing = "laterality-missing";
    public const string LateralityNotApplicable = "laterality-not-applicable";
    public const string LateralityUnknown = "laterality-unknown";
    public const string FrequencyInvalid = "frequency-invalid";
    public const string FrequencyTooHigh = "frequency-too-high";
    public const string MinutesMissing = "minutes-missing";
    public const string MinutesRange = "minutes-range";
    public const string ValidityMissing = "validity-missing";
    public const string ValidityOrder = "validity-order";
    public const string ValidityExpired = "validity-expired";
    public const string ValidityTooLong = "validity-too-long";
    public const string ValidityBackdated = "validity-backdated";
    public const string ValidityZone = "validity-zone";
    public const string SessionsExceedValidity = "sessions-exceed-validity";
    public const string PerformerReferenceType = "performer-reference-type";
    public const string PerformerUnknown = "performer-unknown";
    public const string TrainingMissing = "training-missing";
    public const string PrecautionUnknown = "precaution-unknown";
    public const string InsuranceUnresolved = "insurance-unresolved";
    public const string CoverageTypeMissing = "coverage-type-missing";
    public const string CoverageTypeUnknown = "coverage-type-unknown";
    public const string ClaimNumberMissing = "claim-number-missing";
    public const string ContainedNotAllowed = "contained-not-allowed";
    public const string ContactNotMinimal = "contact-not-minimal";
    public const string ContactPointInvalid = "contact-point-invalid";
    public const string NpiInvalid = "npi-invalid";
    public const string BirthDateInvalid = "birth-date-invalid";
    public const string LanguageInvalid = "language-invalid";

    // The Task state machine.
    public const string TaskStateUnknown = "task-state-unknown";
    public const string TaskTransitionInvalid = "task-transition-invalid";
    public const string TaskActorNotAllowed = "task-actor-not-allowed";
    public const string TaskNotOwner = "task-not-owner";
    public const string TaskReasonRequired = "task-reason-required";

    // The course's close and renewal.
    public const string DischargeOutcomeRequired = "discharge-outcome-required";
    public const string RenewalNotUnderTreatment = "renewal-not-under-treatment";
    public const string RenewalNotPending = "renewal-not-pending";
    public const string RenewalSessionsRange = "renewal-sessions-range";
    public const string RenewalValidity = "renewal-validity";
    public const string RenewalNotRequester = "renewal-not-requester";

    // Session results.
    public const string SessionTaskNotAccepted = "session-task-not-accepted";
    public const string SessionTaskFocus = "session-task-focus";
    public const string SessionPrescriptionUnreadable = "session-prescription-unreadable";
    public const string SessionCountExceeded = "session-count-exceeded";
    public const string SessionBeforeValidity = "session-before-validity";
    public const string SessionAfterValidity = "session-after-validity";
    public const string SessionInFuture = "session-in-future";
    public const string SessionBeforeReferral = "session-before-referral";
    public const string SessionMinutesRange = "session-minutes-range";
    public const string SessionBodySiteMissing = "session-body-site-missing";
    public const string SessionBodySiteNotPrescribed = "session-body-site-not-prescribed";
    public const string SessionTechniqueMissing = "session-technique-missing";
    public const string SessionPainRange = "session-pain-range";
    public const string SessionRangeOfMotion = "session-range-of-motion";
    public const string SessionFunctionalScoreRange = "session-functional-score-range";

    private static readonly Dictionary<string, string> Displays = new(StringComparer.Ordinal)
    {
        [Unparseable] = "The body is not a strictly valid FHIR resource",
        [ResourceType] = "The resource is of the wrong type",
        [Profile] = "The resource conforms to the product's FHIR package (StructureDefinitions, judged by Firely's validator)",
        [StringCharacters] = "A string holds no control characters but tab, carriage return and line feed",
        [PlainText] = "Free text is plain text: no markup, no narrative",
        [ContainedNested] = "A contained resource contains no resources (dom-2)",
        [ContainedUnreferenced] = "A contained resource is referenced from elsewhere in the resource (dom-3)",
        [ContainedMeta] = "A contained resource has no meta.versionId or meta.lastUpdated (dom-4)",
        [ContainedSecurity] = "A contained resource has no security labels (dom-5)",
        [Status] = "A submitted referral is active",
        [CodeMissing] = "A referral names the ordered procedure",
        [CodeUnknown] = "The ordered procedure is a medical-massage procedure",
        [SubjectType] = "The subject is a Patient",
        [RequesterType] = "The requester is a Practitioner or PractitionerRole",
        [ReferenceForeign] = "A reference is relative, contained, or on the launching EHR",
        [AuthoredOnFuture] = "A referral is not authored in the future",
        [DiagnosisUnknown] = "Each diagnosis code is a medical-massage condition",
        [DiagnosisCodesDisagree] = "The codes of one diagnosis name the same condition",
        [DiagnosisDuplicate] = "A diagnosis is listed once",
        [DiagnosisLaterality] = "A sided diagnosis has a body site on that side",
        [ConditionReferenceType] = "A diagnosis reference points to a Condition",
        [DisplayMismatch] = "A known code carries its own display",
        [BodySiteUnknown] = "Each body site is a known body region",
        [BodySiteDuplicate] = "A body site is listed once",
        [LateralityMissing] = "A paired body region has a laterality",
        [LateralityNotApplicable] = "A midline body region has no laterality",
        [LateralityUnknown] = "The laterality is left, right or both",
        [FrequencyInvalid] = "The frequency is a positive count per day, week or month",
        [FrequencyTooHigh] = "At most one session a day",
        [MinutesMissing] = "A referral states the minutes per session",
        [MinutesRange] = "Minutes per session are between 15 and 120",
        [ValidityMissing] = "A referral states its validity period",
        [ValidityOrder] = "The validity period ends after it starts",
        [ValidityExpired] = "The validity period has not ended",
        [ValidityTooLong] = "The validity period is at most a year",
        [ValidityBackdated] = "The validity period does not start before the referral was written",
        [ValidityZone] = "The validity dates name the prescribing practice's IANA time zone",
        [SessionsExceedValidity] = "The frequency and validity can hold the sessions",
        [PerformerReferenceType] = "The therapist is a PractitionerRole or Practitioner",
        [PerformerUnknown] = "The therapist is registered with the service",
        [TrainingMissing] = "The therapist has the training the diagnoses and precautions require",
        [PrecautionUnknown] = "Each precaution is a known precaution",
        [InsuranceUnresolved] = "An insurance reference resolves to a Coverage",
        [CoverageTypeMissing] = "A contained Coverage states its type",
        [CoverageTypeUnknown] = "The coverage type is workers' compensation, auto or health plan",
        [ClaimNumberMissing] = "Workers' compensation and auto coverage carry a claim number",
        [ContainedNotAllowed] = "The contained resources are the Coverage the insurance references and the contact details (#patient, #requester, #payor)",
        [ContactNotMinimal] = "The contact details carry only what the therapist needs to reach people (minimum necessary)",
        [ContactPointInvalid] = "A contact point names its system (cpt-2) and holds a phone or fax number or an email address",
        [NpiInvalid] = "An NPI is ten digits with its check digit",
        [BirthDateInvalid] = "A date of birth is a calendar date not in the future",
        [LanguageInvalid] = "The preferred language is a BCP-47 code",
        [TaskStateUnknown] = "The Task's status and business status form a known state",
        [TaskTransitionInvalid] = "The Task can move from its state to the requested one",
        [TaskActorNotAllowed] = "The actor may make this transition",
        [TaskNotOwner] = "Only the assigned therapist acts as the therapist",
        [TaskReasonRequired] = "A decline or cancellation states its reason",
        [DischargeOutcomeRequired] = "Completing a course with sessions recorded states its outcome",
        [RenewalNotUnderTreatment] = "A renewal is requested only while the referral is accepted or under treatment",
        [RenewalNotPending] = "A renewal is answered only while a request waits for an answer",
        [RenewalSessionsRange] = "An approved renewal adds 1 or more sessions, at most 52 in all",
        [RenewalValidity] = "An approved renewal's validity ends today or later, within 366 days of its start, with room for its sessions",
        [RenewalNotRequester] = "Only the physician who wrote the referral answers its renewal",
        [SessionTaskNotAccepted] = "Sessions are recorded only on an accepted referral",
        [SessionTaskFocus] = "The Task is the one for this referral",
        [SessionPrescriptionUnreadable] = "The referral's prescription can be read",
        [SessionCountExceeded] = "No session beyond the prescribed count",
        [SessionBeforeValidity] = "No session before the validity period starts",
        [SessionAfterValidity] = "No session after the validity period ends",
        [SessionInFuture] = "A session is recorded after it happened",
        [SessionBeforeReferral] = "No session starts before the referral was written",
        [SessionMinutesRange] = "A session lasts between 1 and 180 minutes",
        [SessionBodySiteMissing] = "A session names the body sites treated",
        [SessionBodySiteNotPrescribed] = "Body sites treated are among those prescribed",
        [SessionTechniqueMissing] = "A session names at least one technique",
        [SessionPainRange] = "Pain is scored 0 to 10",
        [SessionRangeOfMotion] = "A range of motion is 0 to 360 degrees on a known joint",
        [SessionFunctionalScoreRange] = "A functional score lies within its instrument's scale",
    };

    /// <summary>Every rule, as concepts of the local validation-rule code system.</summary>
    public static IReadOnlyList<Concept> All { get; } =
        [.. Displays.Select(d => new Concept(Canonicals.ValidationRuleSystem, d.Key, d.Value))];

    public static string Describe(string rule) =>
        Displays.TryGetValue(rule, out var display) ? display : throw new ArgumentOutOfRangeException(nameof(rule), rule, "Unknown rule.");
}

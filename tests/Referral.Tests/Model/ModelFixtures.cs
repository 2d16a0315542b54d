using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.Tests.Model;

/// <summary>A clock that stands still, so every "now" in a test is known.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>A referral that passes every rule, and the pieces tests break it with.</summary>
internal static class ModelFixtures
{
    public static readonly DateTimeOffset Now = new(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);

    public const string Therapist = "PractitionerRole/t1";
    public const string LymphedemaTherapist = "PractitionerRole/mld";
    public const string OncologyTherapist = "PractitionerRole/onc";

    public static TimeProvider Time { get; } = new FixedTime(Now);

    /// <summary>Carpal tunnel, right: right wrist and hand, 8 sessions, 2 a week, 45 minutes, March and April, workers' comp.</summary>
    public static ReferralDraft Draft() => new()
    {
        PlacerId = "7f1c9a52-4d8e-4e0b-9a39-0c2a1d7e5b11",
        Patient = new ResourceRef("Patient/p1", "Alex Doe"),
        Requester = new ResourceRef("Practitioner/dr1", "Dr. Rivera"),
        Diagnoses = [new Diagnosis("G56.01", new ResourceRef("Condition/c1"))],
        BodySites = [new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Hand, Laterality.Right)],
        Sessions = 8,
        Frequency = new SessionFrequency(2, 1, FrequencyUnit.Week),
        MinutesPerSession = 45,
        ValidFrom = new DateOnly(2025, 3, 1),
        ValidUntil = new DateOnly(2025, 4, 30),
        TimeZone = "UTC",
        Precautions = [Precaution.Anticoagulants],
        Coverage = new CoverageDraft
        {
            Type = CoverageType.WorkersCompensation,
            PayorName = "State Fund",
            ClaimNumber = "WC-2025-0042",
        },
        Therapist = new ResourceRef(Therapist, "Sam Lee, LMT"),
        Note = "Night-time numbness; avoid deep pressure over the carpal tunnel.",
        HomeCare = "Wrist splint at night; nerve glides twice a day.",
        SupportingInfo = [new ResourceRef("DiagnosticReport/emg1")],
    };

    public static ServiceRequest Referral() => new ReferralBuilder(Time).Build(Draft());

    /// <summary>The same referral, prescribed by a practice in another IANA time zone.</summary>
    public static ServiceRequest ReferralIn(string zoneId) => new ReferralBuilder(Time).Build(Draft() with { TimeZone = zoneId });

    public static IReadOnlyCollection<TherapistTraining>? TrainingOf(string reference) => reference switch
    {
        Therapist => [],
        LymphedemaTherapist => [TherapistTraining.ManualLymphDrainage],
        OncologyTherapist => [TherapistTraining.OncologyMassage, TherapistTraining.ManualLymphDrainage, TherapistTraining.Prenatal],
        _ => null,
    };

    public static ReferralValidator Validator(TimeProvider? time = null) => new(time ?? Time);

    /// <summary>(rule, expression) of every problem, ordered, for exact comparison.</summary>
    /// <summary>
    /// A referral judged as the API judges a submission: the package's profile by Firely's validator, then the business
    /// rules of <see cref="ReferralValidator"/>.
    /// </summary>
    public static OperationOutcome Judge(ServiceRequest request) => Outcomes.From(
    [
        .. global::Referral.Functions.Conformance.ReferralPackage.Instance.Check(request, MedicalMassageServiceRequest.Profile),
        .. Validator().Validate(request, TrainingOf).Problems(),
    ]);

    public static List<(string? Rule, string? Expression)> Problems(OperationOutcome outcome) =>
        [.. outcome.Problems().Select(i => (i.RuleOf(), i.Expression.SingleOrDefault())).Order()];

    public static List<(string? Rule, string? Expression)> Expect(params (string Rule, string Expression)[] issues) =>
        [.. issues.Select(i => ((string?)i.Rule, (string?)i.Expression)).Order()];

    /// <summary>Moves the Task to <paramref name="to"/> as its therapist, an hour later on <paramref name="time"/>; the move must be allowed.</summary>
    public static Hl7.Fhir.Model.Task MoveTask(Microsoft.Extensions.Time.Testing.FakeTimeProvider time, Hl7.Fhir.Model.Task task, global::Referral.Model.Tasks.ReferralTaskState to, string? reason = null)
    {
        time.Advance(TimeSpan.FromHours(1));
        var result = global::Referral.Model.Tasks.ReferralTaskStateMachine.Apply(task, new global::Referral.Model.Tasks.TaskChange
        {
            To = to,
            Actor = global::Referral.Model.Tasks.TaskActor.Therapist,
            ActorReference = task.Owner?.Reference,
            Reason = reason,
        }, time.GetUtcNow());
        Assert.True(result.Succeeded, string.Join("; ", result.Outcome.Issue.Select(i => i.Details?.Text)));
        return result.Task!;
    }
}

using BenchmarkDotNet.Attributes;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.Benchmarks;

/// <summary>
/// The model's hot paths: what the smart-app does on submit, what the functions app does on every POSTed referral,
/// and one keystroke of the diagnosis type-ahead.
/// </summary>
[MemoryDiagnoser]
public class ReferralModelBenchmarks
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly ReferralBuilder builder = new(new FixedTime(Now));
    private readonly ReferralValidator validator = new(new FixedTime(Now));
    private readonly ValueSetExpander expander = new(new FixedTime(Now));
    private readonly string conditions = ReferralValueSets.Conditions.Canonical;
    private ReferralDraft draft = null!;
    private string json = null!;
    private ServiceRequest request = null!;

    [GlobalSetup]
    public void Setup()
    {
        draft = new ReferralDraft
        {
            PlacerId = "7f1c9a52-4d8e-4e0b-9a39-0c2a1d7e5b11",
            Patient = new ResourceRef("Patient/p1", "Alex Doe"),
            Requester = new ResourceRef("Practitioner/dr1", "Dr. Rivera"),
            Diagnoses = [new Diagnosis("G56.01", new ResourceRef("Condition/c1")), new Diagnosis("M54.2")],
            BodySites = [new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Hand, Laterality.Right), new BodyArea(BodyRegion.Neck)],
            Sessions = 8,
            Frequency = new SessionFrequency(2, 1, FrequencyUnit.Week),
            MinutesPerSession = 45,
            ValidFrom = new DateOnly(2025, 3, 1),
            ValidUntil = new DateOnly(2025, 4, 30),
            TimeZone = "UTC",
            Precautions = [Precaution.Anticoagulants],
            Coverage = new CoverageDraft { Type = CoverageType.WorkersCompensation, PayorName = "State Fund", ClaimNumber = "WC-2025-0042" },
            Therapist = new ResourceRef("PractitionerRole/t1", "Sam Lee, LMT"),
            Note = "Night-time numbness; avoid deep pressure over the carpal tunnel.",
            HomeCare = "Wrist splint at night.",
        };
        request = builder.Build(draft);
        json = FhirJson.Serialize(request);
        var result = validator.Validate(json, TrainingOf);
        if (Referral.Functions.Conformance.ReferralPackage.Instance.Check(request, MedicalMassageServiceRequest.Profile) is { Count: > 0 } profile)
        {
            throw new InvalidOperationException("The benchmark referral must conform to the package: " + string.Join("; ", profile.Select(i => i.Details?.Text)));
        }

        if (!result.IsValid || result.Outcome.Problems().Count > 0)
        {
            throw new InvalidOperationException("The benchmark referral must be valid: " + FhirJson.Serialize(result.Outcome));
        }
    }

    [Benchmark(Description = "Build + serialize a ServiceRequest")]
    public string BuildAndSerialize() => FhirJson.Serialize(builder.Build(draft));

    [Benchmark(Description = "Parse (strict) + validate a ServiceRequest")]
    public OperationOutcome ParseAndValidate() => validator.Validate(json, TrainingOf).Outcome;

    // The two halves of the one above, to show where its time goes.
    [Benchmark(Description = "  of which: strict parse only")]
    public bool ParseOnly() => FhirJson.TryParse<ServiceRequest>(json, out _, out _);

    [Benchmark(Description = "  of which: profile rules only")]
    public OperationOutcome ValidateOnly() => validator.Validate(request, TrainingOf);

    // Issue 20: the submit path now also runs Firely's validator with the FHIR package (loaded once per process, as
    // the API's singleton). "Parse (strict) + validate" above is the path without it (the business rules, which held
    // the structural checks before); this one is what a submission costs now.
    [Benchmark(Description = "Parse (strict) + package profile (Firely) + business rules: the submit path")]
    public int ParseProfileAndValidate()
    {
        var result = validator.Validate(json, TrainingOf);
        return Referral.Functions.Conformance.ReferralPackage.Instance.Check(result.Request!, MedicalMassageServiceRequest.Profile).Count
            + result.Outcome.Issue.Count;
    }

    [Benchmark(Description = "  of which: package profile only (Firely's validator)")]
    public int ProfileOnly() => Referral.Functions.Conformance.ReferralPackage.Instance.Check(request, MedicalMassageServiceRequest.Profile).Count;

    [Benchmark(Description = "$expand conditions, filter \"car\"")]
    public ValueSet? ExpandThreeLetters() => expander.Expand(conditions, "car", 20);

    private static IReadOnlyCollection<TherapistTraining>? TrainingOf(string reference) => [];

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

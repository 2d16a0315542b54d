using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Therapists;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// One test's cast against the real functions app: its own therapists, physician and patient (fresh ids, so
/// tests sharing Azurite never see each other's data), and helpers to speak FHIR to the API.
/// </summary>
public sealed class ReferralScenario : IAsyncDisposable
{
    public ReferralScenario(AzuriteFixture azurite, TestIdentity identity)
    {
        Identity = identity;
        App = new FunctionsApp(azurite.ConnectionString, identity);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        Therapist = $"t-{suffix}";
        OtherTherapist = $"t2-{suffix}";
        MldTherapist = $"mld-{suffix}";
        Physician = $"dr-{suffix}";
        Patient = $"pat-{suffix}";
    }

    public FunctionsApp App { get; }

    public TestIdentity Identity { get; }

    public string Therapist { get; }

    public string OtherTherapist { get; }

    public string MldTherapist { get; }

    public string Physician { get; }

    public string Patient { get; }

    public HttpClient AsPhysician(string? patient = null) => App.ClientWith(Identity.Physician(Physician, patient ?? Patient));

    public HttpClient AsTherapist(string? therapist = null) => App.ClientWith(Identity.Therapist(therapist ?? Therapist));

    public HttpClient AsAdmin() => App.ClientWith(Identity.Admin());

    /// <summary>Registers this scenario's therapists in the app's directory.</summary>
    public async Task SeedTherapistsAsync()
    {
        var directory = App.Services.GetRequiredService<TherapistDirectory>();
        var ct = TestContext.Current.CancellationToken;
        await directory.UpsertAsync(Role(Therapist, "Sam Lee, LMT"), ct);
        await directory.UpsertAsync(Role(OtherTherapist, "Kim Park, LMT"), ct);
        await directory.UpsertAsync(Role(MldTherapist, "Ada Berg, CLT", TherapistTraining.ManualLymphDrainage), ct);
    }

    public static PractitionerRole Role(string id, string name, params TherapistTraining[] trainings) => new()
    {
        Id = id,
        Active = true,
        Practitioner = new ResourceReference($"Practitioner/{id}", name),
        Code = [MedicalMassageServiceRequest.PerformerType.ToCodeableConcept()],
        Specialty = [.. trainings.Select(t => TherapistTrainings.Codes.For(t).ToCodeableConcept())],
        Extension =
        [
            new Extension(TherapistDirectory.AcceptingNewReferralsExtension, new FhirBoolean(true)),
            new Extension(TherapistDirectory.CoverageTypeAcceptedExtension, CoverageTypes.Codes.For(CoverageType.WorkersCompensation).ToCoding()),
        ],
    };

    /// <summary>A referral that passes every rule: carpal tunnel, right wrist and hand, to <see cref="Therapist"/>.</summary>
    public ReferralDraft Draft(string? placerId = null, string? therapist = null)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        return new ReferralDraft
        {
            PlacerId = placerId ?? Guid.NewGuid().ToString(),
            Patient = new ResourceRef($"Patient/{Patient}", "Alex Doe"),
            Requester = new ResourceRef($"Practitioner/{Physician}", "Dr. Rivera"),
            Diagnoses = [new Diagnosis("G56.01")],
            BodySites = [new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Hand, Laterality.Right)],
            Sessions = 6,
            Frequency = new SessionFrequency(1, 1, FrequencyUnit.Week),
            MinutesPerSession = 60,
            ValidFrom = today,
            ValidUntil = today.AddDays(90),
            Coverage = new CoverageDraft { Type = CoverageType.WorkersCompensation, PayorName = "State Fund", ClaimNumber = "WC-1" },
            Therapist = new ResourceRef($"PractitionerRole/{therapist ?? Therapist}", "Sam Lee, LMT"),
            Note = "Night-time numbness.",
        };
    }

    public static string Json(ReferralDraft draft) => FhirJson.Serialize(new ReferralBuilder(TimeProvider.System).Build(draft));

    public static StringContent Body(string json) => new(json, Encoding.UTF8, new MediaTypeHeaderValue("application/fhir+json"));

    public static StringContent Body(Resource resource) => Body(FhirJson.Serialize(resource));

    public static Parameters Reason(string reason) => new() { Parameter = [new Parameters.ParameterComponent { Name = "reason", Value = new FhirString(reason) }] };

    public async Task<(HttpResponseMessage Response, ServiceRequest? Request)> SubmitAsync(ReferralDraft draft, HttpClient? client = null)
    {
        using var own = client is null ? AsPhysician() : null;
        var response = await (client ?? own!).PostAsync(new Uri("/api/fhir/ServiceRequest", UriKind.Relative), Body(Json(draft)), TestContext.Current.CancellationToken);
        return (response, response.IsSuccessStatusCode ? await ReadAsync<ServiceRequest>(response) : null);
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response) where T : Resource
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return FhirJsonDeserializer.STRICT.Deserialize<T>(body);
    }

    public static Uri Url(string path) => new(path, UriKind.Relative);

    public ValueTask DisposeAsync() => App.DisposeAsync();

    /// <summary>The scenario's valid draft for tests that need no functions app.</summary>
    public static class DraftFactory
    {
        public static ReferralDraft Draft()
        {
            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            return new ReferralDraft
            {
                PlacerId = Guid.NewGuid().ToString(),
                Patient = new ResourceRef("Patient/pat-1", "Alex Doe"),
                Requester = new ResourceRef("Practitioner/dr-1", "Dr. Rivera"),
                Diagnoses = [new Diagnosis("G56.01")],
                BodySites = [new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Hand, Laterality.Right)],
                Sessions = 6,
                Frequency = new SessionFrequency(1, 1, FrequencyUnit.Week),
                MinutesPerSession = 60,
                ValidFrom = today,
                ValidUntil = today.AddDays(89),
                Therapist = new ResourceRef("PractitionerRole/t-1", "Sam Lee, LMT"),
            };
        }
    }
}

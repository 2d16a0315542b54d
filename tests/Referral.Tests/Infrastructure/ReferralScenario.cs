using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referral.Functions.Therapists;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// One test's cast against the real functions app: its own therapists, physician and patient (fresh ids, so
/// tests sharing Azurite never see each other's data), and helpers to speak FHIR to the API. Everything it dates (drafts,
/// referrals' authoring, sessions, tokens) reads <see cref="Time"/>, the clock it gave its functions app.
/// </summary>
public sealed class ReferralScenario : IAsyncDisposable
{
    public ReferralScenario(
        AzuriteFixture azurite, TestIdentity identity, string? ehr = null, IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? time = null,
        string? physician = null, Action<IServiceCollection>? services = null)
        : this(identity, ehr, physician,
            new FunctionsApp((azurite ?? throw new ArgumentNullException(nameof(azurite))).ConnectionString, identity, settings, time) { TestServices = services }, ownsApp: true)
    {
    }

    /// <summary>A scenario of its own ids on the class's one app (<see cref="SharedFunctions"/>), which it leaves running.</summary>
    public ReferralScenario(SharedFunctions shared)
        : this((shared ?? throw new ArgumentNullException(nameof(shared))).Identity, null, null, shared.App, ownsApp: false)
    {
    }

    private ReferralScenario(TestIdentity identity, string? ehr, string? physician, FunctionsApp app, bool ownsApp)
    {
        Identity = identity;
        Ehr = ehr ?? TestIdentity.Ehr;
        App = app;
        this.ownsApp = ownsApp;
        var suffix = Guid.NewGuid().ToString("N")[..8];
        Therapist = $"t-{suffix}";
        OtherTherapist = $"t2-{suffix}";
        MldTherapist = $"mld-{suffix}";
        Physician = physician ?? $"dr-{suffix}";
        Patient = $"pat-{suffix}";
    }

    private readonly bool ownsApp;

    public FunctionsApp App { get; }

    /// <summary>The functions app's clock: the one given, else the test run's.</summary>
    public TimeProvider Time => App.Time;

    private DateOnly Today => DateOnly.FromDateTime(Time.GetUtcNow().UtcDateTime);

    /// <summary>The EHR the physician launched from (the FHIR base in their token's <c>ehr</c>).</summary>
    public string Ehr { get; }

    public TestIdentity Identity { get; }

    public string Therapist { get; }

    public string OtherTherapist { get; }

    public string MldTherapist { get; }

    public string Physician { get; }

    public string Patient { get; }

    public HttpClient AsPhysician(string? patient = null) => App.ClientWith(Identity.Physician(Physician, patient ?? Patient, ehr: Ehr, at: Time.GetUtcNow()));

    public HttpClient AsTherapist(string? therapist = null) => App.ClientWith(Identity.Therapist(therapist ?? Therapist, at: Time.GetUtcNow()));

    public HttpClient AsAdmin() => App.ClientWith(Identity.Admin(at: Time.GetUtcNow()));

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
        Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Work, $"{id}@therapists.test")],
        Extension =
        [
            new Extension(TherapistDirectory.AcceptingNewReferralsExtension, new FhirBoolean(true)),
            new Extension(TherapistDirectory.CoverageTypeAcceptedExtension, CoverageTypes.Codes.For(CoverageType.WorkersCompensation).ToCoding()),
        ],
    };

    /// <summary>A referral that passes every rule: carpal tunnel, right wrist and hand, to <see cref="Therapist"/>.</summary>
    public ReferralDraft Draft(string? placerId = null, string? therapist = null)
    {
        var today = Today;
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
            TimeZone = "UTC",
            Coverage = new CoverageDraft { Type = CoverageType.WorkersCompensation, PayorName = "State Fund", ClaimNumber = "WC-1" },
            Therapist = new ResourceRef($"PractitionerRole/{therapist ?? Therapist}", "Sam Lee, LMT"),
            Note = "Night-time numbness.",
        };
    }

    /// <summary>The draft as the smart-app builds it, written (authoredOn) at <paramref name="writtenAt"/>, else the test run's now.</summary>
    public static string Json(ReferralDraft draft, DateTimeOffset? writtenAt = null) =>
        FhirJson.Serialize(new ReferralBuilder(new FakeTimeProvider(writtenAt ?? TestClock.Now)).Build(draft));

    /// <summary>
    /// When a referral is taken to have been written: on the day its validity starts when that day is past (at this
    /// time of day; a referral valid since last week was written last week), else now.
    /// </summary>
    public DateTimeOffset WrittenAt(ReferralDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var now = Time.GetUtcNow();
        var daysAgo = Today.DayNumber - draft.ValidFrom.DayNumber;
        return daysAgo > 0 ? now.AddDays(-daysAgo) : now;
    }

    public static StringContent Body(string json) => new(json, Encoding.UTF8, new MediaTypeHeaderValue("application/fhir+json"));

    public static StringContent Body(Resource resource) => Body(FhirJson.Serialize(resource));

    public static Parameters Reason(string reason) => new() { Parameter = [new Parameters.ParameterComponent { Name = "reason", Value = new FhirString(reason) }] };

    /// <summary>Submits the draft as the physician, written at <paramref name="writtenAt"/> (by default <see cref="WrittenAt"/>).</summary>
    public async Task<(HttpResponseMessage Response, ServiceRequest? Request)> SubmitAsync(ReferralDraft draft, HttpClient? client = null, DateTimeOffset? writtenAt = null)
    {
        ArgumentNullException.ThrowIfNull(draft);
        using var own = client is null ? AsPhysician() : null;
        var body = Body(Json(draft, writtenAt ?? WrittenAt(draft)));
        var response = await (client ?? own!).PostAsync(new Uri("/api/fhir/ServiceRequest", UriKind.Relative), body, TestContext.Current.CancellationToken);
        return (response, response.IsSuccessStatusCode ? await ReadAsync<ServiceRequest>(response) : null);
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response) where T : Resource
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return FhirJsonDeserializer.STRICT.Deserialize<T>(body);
    }

    public static Uri Url(string path) => new(path, UriKind.Relative);

    /// <summary>
    /// A referral valid since a week ago (and, submitted, written then: <see cref="WrittenAt"/>), so a session earlier
    /// today is after its writing and within its validity whatever the time of day.
    /// </summary>
    public ReferralDraft DraftValidSinceLastWeek() => Draft() with { ValidFrom = Today.AddDays(-7) };

    /// <summary>
    /// Submits a valid referral (by default <see cref="DraftValidSinceLastWeek"/>, written a week ago) and has the
    /// therapist accept it; the referral's id.
    /// </summary>
    public async Task<string> SubmitAndAcceptAsync(ReferralDraft? draft = null, DateTimeOffset? writtenAt = null)
    {
        var (submitted, request) = await SubmitAsync(draft ?? DraftValidSinceLastWeek(), writtenAt: writtenAt);
        Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        using var therapist = AsTherapist();
        using var accepted = await therapist.PostAsync(Url($"/api/fhir/Task/{request!.Id}/$accept"), null, TestContext.Current.CancellationToken);
        Assert.True(accepted.IsSuccessStatusCode, await accepted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return request.Id!;
    }

    /// <summary>
    /// A <c>$record-session</c> body: the right wrist treated with myofascial release, pain 6 then 3, wrist extension
    /// 55 degrees, a QuickDASH score, 45 minutes from <paramref name="start"/> (by default two hours before the test run's now).
    /// </summary>
    public static Parameters Session(DateTimeOffset? start = null, IReadOnlyList<BodyArea>? sites = null, int painBefore = 6, int painAfter = 3)
    {
        var begin = start ?? TestClock.Now.AddHours(-2);
        var parameters = new Parameters();
        parameters.Add("start", new FhirDateTime(begin));
        parameters.Add("minutes", new Integer(45));
        foreach (var site in sites ?? [new BodyArea(BodyRegion.Wrist, Laterality.Right)])
        {
            parameters.Add("bodySite", BodyRegions.ToCodeableConcept(site));
        }

        parameters.Add("technique", MassageTechniques.Codes.For(MassageTechnique.MyofascialRelease).ToCoding());
        parameters.Add("painBefore", new Integer(painBefore));
        parameters.Add("painAfter", new Integer(painAfter));
        parameters.Parameter.Add(new Parameters.ParameterComponent
        {
            Name = "rangeOfMotion",
            Part =
            [
                new Parameters.ParameterComponent { Name = "joint", Value = BodyRegions.ToCodeableConcept(new BodyArea(BodyRegion.Wrist, Laterality.Right)) },
                new Parameters.ParameterComponent { Name = "movement", Value = OutcomeMeasures.RangeOfMotion.For(JointMovement.Extension).ToCoding() },
                new Parameters.ParameterComponent { Name = "degrees", Value = new FhirDecimal(55) },
            ],
        });
        parameters.Parameter.Add(new Parameters.ParameterComponent
        {
            Name = "functionalScore",
            Part =
            [
                new Parameters.ParameterComponent { Name = "instrument", Value = OutcomeMeasures.Instruments.For(FunctionalInstrument.QuickDash).ToCoding() },
                new Parameters.ParameterComponent { Name = "score", Value = new FhirDecimal(40.9m) },
            ],
        });
        parameters.Add("note", new FhirString("Tingling eased."));
        return parameters;
    }

    /// <summary>Records a session as the therapist; the answer.</summary>
    public async Task<HttpResponseMessage> RecordSessionAsync(string id, Parameters session, HttpClient? client = null, string? ifMatch = null)
    {
        using var own = client is null ? AsTherapist() : null;
        using var request = new HttpRequestMessage(HttpMethod.Post, Url($"/api/fhir/Task/{id}/$record-session")) { Content = Body(session) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await (client ?? own!).SendAsync(request, TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => ownsApp ? App.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>The scenario's valid draft for tests that need no functions app.</summary>
    public static class DraftFactory
    {
        /// <summary>Valid from <paramref name="validFrom"/> (by default the test run's today) for 90 days.</summary>
        public static ReferralDraft Draft(DateOnly? validFrom = null)
        {
            var today = validFrom ?? TestClock.Today;
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
                TimeZone = "UTC",
                Therapist = new ResourceRef("PractitionerRole/t-1", "Sam Lee, LMT"),
            };
        }
    }
}

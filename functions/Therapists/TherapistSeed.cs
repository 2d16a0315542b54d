using Hl7.Fhir.Model;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.Functions.Therapists;

/// <summary>
/// The local run's therapists, the same people (and PractitionerRole ids) the sandbox EHR signs in, so a
/// referral sent from the sandbox reaches an inbox a sandbox therapist can open. On only where
/// <c>Therapists:Seed</c> is true (Development settings); a real deployment's directory is its own.
/// </summary>
public sealed partial class TherapistSeed(TherapistDirectory directory, IConfiguration configuration, ILogger<TherapistSeed> logger) : BackgroundService
{
    public static IReadOnlyList<PractitionerRole> Therapists { get; } =
    [
        Role("therapist-olivia-hart", "Olivia Hart, LMT, CLT", "97201", 45.5152m, -122.6784m, true,
            [TherapistTraining.OncologyMassage, TherapistTraining.ManualLymphDrainage], [CoverageType.HealthPlan, CoverageType.Auto]),
        Role("therapist-nadia-kowalski", "Nadia Kowalski, LMT", "97205", 45.5200m, -122.6900m, true,
            [TherapistTraining.Prenatal, TherapistTraining.TraumaInformed], [CoverageType.HealthPlan]),
        Role("therapist-sam-rivera", "Sam Rivera, LMT", "97209", 45.5280m, -122.6850m, true,
            [TherapistTraining.Sports], [CoverageType.WorkersCompensation, CoverageType.Auto, CoverageType.HealthPlan]),
        Role("therapist-margaret-lee", "Margaret Lee, LMT", "97214", 45.5140m, -122.6430m, true,
            [TherapistTraining.Geriatric, TherapistTraining.TraumaInformed], [CoverageType.HealthPlan, CoverageType.Auto]),
        Role("therapist-kai-nakamura", "Kai Nakamura, LMT", "97232", 45.5290m, -122.6370m, false,
            [TherapistTraining.Pediatric, TherapistTraining.Sports], [CoverageType.WorkersCompensation, CoverageType.HealthPlan]),
    ];

    /// <summary>In the background, so a storage account that is slow or down never holds up the app's start.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!configuration.GetValue<bool>("Therapists:Seed"))
        {
            return;
        }

        try
        {
            foreach (var role in Therapists)
            {
                await directory.UpsertAsync(role, stoppingToken);
            }

            LogSeeded(Therapists.Count);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException or AggregateException)
        {
            // The app still starts: health reports storage down, and the next start seeds again.
            LogNotSeeded(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Seeded {Count} therapists into the directory.")]
    private partial void LogSeeded(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not seed the therapist directory.")]
    private partial void LogNotSeeded(Exception exception);

    private static PractitionerRole Role(string id, string name, string postalCode, decimal latitude, decimal longitude, bool accepting,
        TherapistTraining[] trainings, CoverageType[] coverages) => new()
    {
        Id = id,
        Active = true,
        Practitioner = new ResourceReference($"Practitioner/{id}", name),
        Organization = new ResourceReference { Display = "Harbor Medical Massage" },
        Code = [MedicalMassageServiceRequest.PerformerType.ToCodeableConcept()],
        Specialty = [.. trainings.Select(t => TherapistTrainings.Codes.For(t).ToCodeableConcept())],
        Contained =
        [
            new Location
            {
                Id = "practice",
                Name = "Harbor Medical Massage",
                Address = new Address { Line = ["100 Harbor Way"], City = "Portland", State = "OR", PostalCode = postalCode, Country = "US" },
                Position = new Location.PositionComponent { Latitude = latitude, Longitude = longitude },
            },
        ],
        Location = [new ResourceReference("#practice")],
        Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Work, $"{id}@harbor-massage.example")],
        Extension =
        [
            new Extension(TherapistDirectory.AcceptingNewReferralsExtension, new FhirBoolean(accepting)),
            .. coverages.Select(c => new Extension(TherapistDirectory.CoverageTypeAcceptedExtension, CoverageTypes.Codes.For(c).ToCoding())),
        ],
    };
}

using Hl7.Fhir.Model;
using Referral.Model;
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
    /// <summary>
    /// Each at their own practice, with their NPI and state licence: real Portland streets, positions to about a block (read off a map, not geocoded by a
    /// service), phone numbers in the 555-01xx range reserved for fiction. The form measures the distance from the
    /// patient's address (its FHIR geolocation extension) to each practice's position.
    /// </summary>
    public static IReadOnlyList<PractitionerRole> Therapists { get; } =
    [
        Role("therapist-olivia-hart", "1245789031", "LMT-020417", "Olivia Hart, LMT, CLT", new Practice("Pearl Lymphatic and Oncology Massage", "1120 NW Couch St", "97209", 45.5238m, -122.6829m, "+1 503 555 0101"),
            true, ["en"], [TherapistTraining.OncologyMassage, TherapistTraining.ManualLymphDrainage], [CoverageType.HealthPlan, CoverageType.Auto]),
        Role("therapist-nadia-kowalski", "1245789049", "LMT-031288", "Nadia Kowalski, LMT", new Practice("Hawthorne Prenatal Massage", "3550 SE Hawthorne Blvd", "97214", 45.5121m, -122.6266m, "+1 503 555 0102"),
            true, ["en", "pl"], [TherapistTraining.Prenatal, TherapistTraining.TraumaInformed], [CoverageType.HealthPlan]),
        Role("therapist-sam-rivera", "1245789056", "LMT-044156", "Sam Rivera, LMT", new Practice("Downtown Sports Massage", "1000 SW Broadway", "97205", 45.5166m, -122.6811m, "+1 503 555 0103"),
            true, ["en", "es"], [TherapistTraining.Sports], [CoverageType.WorkersCompensation, CoverageType.Auto, CoverageType.HealthPlan]),
        Role("therapist-margaret-lee", "1245789064", "LMT-057903", "Margaret Lee, LMT", new Practice("Sellwood Massage for Seniors", "1606 SE Bybee Blvd", "97202", 45.4744m, -122.6491m, "+1 503 555 0104"),
            true, ["en", "zh"], [TherapistTraining.Geriatric, TherapistTraining.TraumaInformed], [CoverageType.HealthPlan, CoverageType.Auto]),
        Role("therapist-kai-nakamura", "1245789072", "LMT-062741", "Kai Nakamura, LMT", new Practice("Hollywood Family Massage", "4340 NE Sandy Blvd", "97213", 45.5354m, -122.6197m, "+1 503 555 0105"),
            false, ["en", "ja"], [TherapistTraining.Pediatric, TherapistTraining.Sports], [CoverageType.WorkersCompensation, CoverageType.HealthPlan]),
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
        catch (Exception e) when (Storage.StorageFaults.IsUnavailable(e) || e is Azure.RequestFailedException or HttpRequestException or AggregateException)
        {
            // The app still starts: health reports storage down, and the next start seeds again.
            LogNotSeeded(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Seeded {Count} therapists into the directory.")]
    private partial void LogSeeded(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not seed the therapist directory.")]
    private partial void LogNotSeeded(Exception exception);

    private static PractitionerRole Role(string id, string npi, string license, string name, Practice practice, bool accepting, string[] languages,
        TherapistTraining[] trainings, CoverageType[] coverages)
    {
        return new()
        {
            Id = id,
            Active = true,
            // Made up, but each passes the NPI's check digit; the licence numbers are the sandbox EHR's for the same people.
            Identifier = [new Identifier(Canonicals.Npi, npi), new Identifier(Canonicals.MassageLicenseSystem, license)],
            Practitioner = new ResourceReference($"Practitioner/{id}", name),
            Organization = new ResourceReference { Display = practice.Name },
            Code = [MedicalMassageServiceRequest.PerformerType.ToCodeableConcept()],
            Specialty = [.. trainings.Select(t => TherapistTrainings.Codes.For(t).ToCodeableConcept())],
            Contained =
            [
                new Location
                {
                    Id = "practice",
                    Name = practice.Name,
                    Address = new Address { Line = [practice.Street], City = "Portland", State = "OR", PostalCode = practice.PostalCode, Country = "US" },
                    Position = new Location.PositionComponent { Latitude = practice.Latitude, Longitude = practice.Longitude },
                },
            ],
            Location = [new ResourceReference("#practice")],
            Telecom =
            [
                new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Work, practice.Phone),
                new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Work, $"{id}@harbor-massage.example"),
            ],
            Extension =
            [
                new Extension(TherapistDirectory.AcceptingNewReferralsExtension, new FhirBoolean(accepting)),
                .. coverages.Select(c => new Extension(TherapistDirectory.CoverageTypeAcceptedExtension, CoverageTypes.Codes.For(c).ToCoding())),
                .. languages.Select(l => new Extension(Languages.PractitionerRoleCommunicationExtension, Languages.Of(l))),
            ],
        };
    }

    private sealed record Practice(string Name, string Street, string PostalCode, decimal Latitude, decimal Longitude, string Phone);
}

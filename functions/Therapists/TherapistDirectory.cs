using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Referral.Functions.Storage;
using Referral.Model;
using Referral.Model.Referrals;

namespace Referral.Functions.Therapists;

/// <summary>
/// The massage therapists referrals can go to, as FHIR PractitionerRoles: their training (specialty), whether
/// they take new referrals, which insurance they bill, and where they practise (a contained Location).
/// The directory is small (one partition); it is read whole and kept for a minute, so ranking and the
/// submit path's "does this therapist exist, what training do they hold" cost no storage round trip.
/// </summary>
public sealed class TherapistDirectory(StorageAccount storage, TimeProvider time) : IDisposable
{
    public const string TableName = "Therapists";
    private const string Partition = "therapist";

    public const string AcceptingNewReferralsExtension = "https://medical-massage-referral.example/fhir/StructureDefinition/accepting-new-referrals";
    public const string CoverageTypeAcceptedExtension = "https://medical-massage-referral.example/fhir/StructureDefinition/coverage-type-accepted";

    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private static readonly FhirJsonSerializer Serializer = new();

    private readonly SemaphoreSlim refresh = new(1, 1);
    private (DateTimeOffset Until, IReadOnlyDictionary<string, PractitionerRole> Roles)? cache;

    /// <summary>Adds or replaces a therapist; an NPI that fails its check digit is refused (the reports and the payer read it).</summary>
    public async Task UpsertAsync(PractitionerRole role, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(role);
        if (role.Identifier.FirstOrDefault(i => i.System == Canonicals.Npi && !ContactRules.IsNpi(i.Value)) is { } wrong)
        {
            throw new ArgumentException($"PractitionerRole/{role.Id}: '{wrong.Value}' is not an NPI (ten digits, the last the check digit of the first nine).", nameof(role));
        }

        var table = await storage.TableAsync(TableName);
        await table.UpsertEntityAsync(new TableEntity(Partition, role.Id) { ["Json"] = Serializer.SerializeToString(role) },
            TableUpdateMode.Replace, cancellationToken);
        cache = null;
    }

    public async Task<PractitionerRole?> FindAsync(string id, CancellationToken cancellationToken) =>
        (await AllAsync(cancellationToken)).GetValueOrDefault(id);

    public async Task<IReadOnlyDictionary<string, PractitionerRole>> AllAsync(CancellationToken cancellationToken)
    {
        if (cache is { } current && current.Until > time.GetUtcNow())
        {
            return current.Roles;
        }

        await refresh.WaitAsync(cancellationToken);
        try
        {
            if (cache is { } fresh && fresh.Until > time.GetUtcNow())
            {
                return fresh.Roles;
            }

            var table = await storage.TableAsync(TableName);
            var roles = new Dictionary<string, PractitionerRole>(StringComparer.Ordinal);
            await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition}"),
                               select: ["RowKey", "Json"], cancellationToken: cancellationToken))
            {
                roles[row.RowKey] = FhirJsonDeserializer.DEFAULT.Deserialize<PractitionerRole>(row.GetString("Json"));
            }

            cache = (time.GetUtcNow() + CacheFor, roles);
            return roles;
        }
        finally
        {
            refresh.Release();
        }
    }

    public static bool AcceptsNewReferrals(PractitionerRole role) =>
        role.Active != false
        && (role.GetExtensionValue<FhirBoolean>(AcceptingNewReferralsExtension)?.Value ?? false);

    public static IEnumerable<Coding> CoverageTypesAccepted(PractitionerRole role) =>
        role.GetExtensions(CoverageTypeAcceptedExtension).Select(e => e.Value).OfType<Coding>();

    public static IEnumerable<Coding> Trainings(PractitionerRole role) => role.Specialty.SelectMany(s => s.Coding);

    /// <summary>The therapist's NPI, when the directory holds one that passes the check digit.</summary>
    public static string? Npi(PractitionerRole role) => ContactRules.NpiOf(role.Identifier);

    /// <summary>The therapist's state massage licence number, when the directory holds one.</summary>
    public static string? License(PractitionerRole role) =>
        role.Identifier.FirstOrDefault(i => i.System == Canonicals.MassageLicenseSystem)?.Value;

    public static Location? PracticeLocation(PractitionerRole role) => role.Contained.OfType<Location>().FirstOrDefault();

    public void Dispose() => refresh.Dispose();
}

using Hl7.Fhir.Model;
using SandboxEhr.Data;

namespace SandboxEhr.Fhir;

/// <summary>
/// The EHR's records in memory: the synthetic chart, plus whatever clients create, for the life of the process.
/// Callers get copies, so nothing outside changes a stored record.
/// </summary>
public sealed class FhirStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, Dictionary<string, Resource>> resources = new(StringComparer.Ordinal);
    private readonly TimeProvider time;

    public FhirStore(TimeProvider time)
    {
        this.time = time;
        var now = time.GetUtcNow();
        foreach (var resource in SyntheticRecords.Create(DateOnly.FromDateTime(now.UtcDateTime)))
        {
            resource.Meta = new Meta { VersionId = "1", LastUpdated = now };
            Put(resource);
        }
    }

    public Resource? Read(string type, string id)
    {
        lock (gate)
        {
            return resources.TryGetValue(type, out var ofType) && ofType.TryGetValue(id, out var resource) ? Copy(resource) : null;
        }
    }

    public T? Read<T>(string id)
        where T : Resource => Read(ModelInfo.GetFhirTypeNameForType(typeof(T))!, id) as T;

    public IReadOnlyList<Resource> All(string type)
    {
        lock (gate)
        {
            return resources.TryGetValue(type, out var ofType) ? [.. ofType.Values.Select(Copy)] : [];
        }
    }

    public IReadOnlyList<T> All<T>()
        where T : Resource => [.. All(ModelInfo.GetFhirTypeNameForType(typeof(T))!).Cast<T>()];

    /// <summary>The patient's current visit: the encounter in progress, else the latest.</summary>
    public Encounter? CurrentEncounter(string patientId) => All<Encounter>()
        .Where(e => PatientCompartment.PatientOf(e) == patientId)
        .OrderByDescending(e => e.Status == Encounter.EncounterStatus.InProgress)
        .ThenByDescending(e => e.Period?.Start, StringComparer.Ordinal)
        .FirstOrDefault();

    /// <summary>Stores a new resource under a new id (a create ignores any id the client sent) and returns it as stored.</summary>
    public Resource Create(Resource resource)
    {
        var stored = NewRecord(resource);
        lock (gate)
        {
            Put(stored);
        }

        return Copy(stored);
    }

    /// <summary>
    /// A conditional create (FHIR <c>If-None-Exist</c>): stores <paramref name="resource"/> as <see cref="Create"/> does
    /// when no stored resource of its type matches, else stores nothing and returns the matches, checked and stored
    /// under one lock so two writers of the same record never both create it.
    /// </summary>
    public (Resource? Created, IReadOnlyList<Resource> Matches) CreateIfNoneExist(Resource resource, Func<Resource, bool> matches)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(matches);
        var stored = NewRecord(resource);
        lock (gate)
        {
            var existing = resources.TryGetValue(resource.TypeName, out var ofType) ? ofType.Values.Where(matches).Select(Copy).ToList() : [];
            if (existing.Count > 0)
            {
                return (null, existing);
            }

            Put(stored);
        }

        return (Copy(stored), []);
    }

    /// <summary>A copy of what a client sent, as a new record: a new id (any id sent is ignored), version 1, now.</summary>
    private Resource NewRecord(Resource resource)
    {
        var stored = Copy(resource);
        stored.Id = Guid.NewGuid().ToString();
        stored.Meta = new Meta { VersionId = "1", LastUpdated = time.GetUtcNow() };
        return stored;
    }

    private void Put(Resource resource)
    {
        if (!resources.TryGetValue(resource.TypeName, out var ofType))
        {
            resources[resource.TypeName] = ofType = new Dictionary<string, Resource>(StringComparer.Ordinal);
        }

        ofType[resource.Id ?? throw new ArgumentException("A stored resource needs an id.", nameof(resource))] = resource;
    }

    private static Resource Copy(Resource resource) => (Resource)resource.DeepCopy();
}

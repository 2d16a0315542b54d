using Hl7.Fhir.Model;

namespace Referral.Model.Terminology;

/// <summary>
/// A closed set of codes that the apps handle as a C# enum: each enum value has exactly one concept,
/// and a coding read from FHIR maps back to its value.
/// </summary>
public sealed class ConceptMap<TEnum>
    where TEnum : struct, Enum
{
    private readonly Dictionary<TEnum, Concept> byValue;
    private readonly Dictionary<(string System, string Code), TEnum> byCode;

    public ConceptMap(IReadOnlyDictionary<TEnum, Concept> concepts)
    {
        ArgumentNullException.ThrowIfNull(concepts);
        // Fail when the type loads, not on the first referral that uses a forgotten value.
        var missing = Enum.GetValues<TEnum>().Where(v => !concepts.ContainsKey(v)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"No concept for {typeof(TEnum).Name} {string.Join(", ", missing)}.", nameof(concepts));
        }

        byValue = new Dictionary<TEnum, Concept>(concepts);
        byCode = [];
        foreach (var (value, concept) in concepts)
        {
            if (!byCode.TryAdd((concept.System, concept.Code), value))
            {
                throw new ArgumentException($"{concept.System}|{concept.Code} is used twice in {typeof(TEnum).Name}.", nameof(concepts));
            }
        }

        Values = Enum.GetValues<TEnum>();
        Concepts = [.. Values.Select(v => byValue[v])];
    }

    /// <summary>All values, in declaration order.</summary>
    public IReadOnlyList<TEnum> Values { get; }

    /// <summary>All concepts, in the order of <see cref="Values"/>.</summary>
    public IReadOnlyList<Concept> Concepts { get; }

    public Concept For(TEnum value) => byValue[value];

    public bool TryFind(Coding? coding, out TEnum value) => TryFind(coding?.System, coding?.Code, out value);

    public bool TryFind(string? system, string? code, out TEnum value)
    {
        if (system is null || code is null)
        {
            value = default;
            return false;
        }

        return byCode.TryGetValue((system, code), out value);
    }

    /// <summary>The first coding of <paramref name="concept"/> that names a value of this set.</summary>
    public bool TryFind(CodeableConcept? concept, out TEnum value)
    {
        foreach (var coding in concept?.Coding ?? [])
        {
            if (TryFind(coding, out value))
            {
                return true;
            }
        }

        value = default;
        return false;
    }
}

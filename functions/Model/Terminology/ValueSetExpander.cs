using Hl7.Fhir.Model;
using Referral.Model.Fhir;

namespace Referral.Model.Terminology;

/// <summary>
/// ValueSet $expand with a text filter, fast enough to run on every keystroke of a type-ahead: each ValueSet's
/// concepts are indexed once into words, and a filter matches when each of its words starts a word of the
/// concept's display, synonyms or code ("car tun" finds carpal tunnel syndrome, "m54.5" finds M54.50).
/// </summary>
public sealed class ValueSetExpander(TimeProvider time)
{
    private static readonly char[] Separators = [' ', ',', '.', '-', '(', ')', '[', ']', '/', '\'', ';', ':'];

    private static readonly Dictionary<ValueSetDefinition, IndexedConcept[]> Index =
        ReferralValueSets.All.ToDictionary(v => v, v => v.Concepts.Select(IndexedConcept.From).ToArray());

    /// <summary>
    /// The expansion of a ValueSet, filtered and limited to <paramref name="count"/> concepts; null when the
    /// canonical names none of the product's ValueSets.
    /// </summary>
    public ValueSet? Expand(string valueSetCanonical, string? filter = null, int? count = null)
    {
        ArgumentNullException.ThrowIfNull(valueSetCanonical);
        var definition = ReferralValueSets.Find(valueSetCanonical);
        if (definition is null)
        {
            return null;
        }

        var matches = Match(definition, filter);
        var valueSet = ReferralValueSets.Header(definition);
        valueSet.Expansion = new ValueSet.ExpansionComponent
        {
            Identifier = "urn:uuid:" + Guid.NewGuid(),
            Timestamp = FhirTime.DateTime(time.GetUtcNow()),
            Total = matches.Count,
            Offset = 0,
            Contains =
            [
                .. matches.Take(count ?? int.MaxValue).Select(c => new ValueSet.ContainsComponent
                {
                    System = c.System,
                    Code = c.Code,
                    Display = c.Display,
                }),
            ],
        };
        if (!string.IsNullOrWhiteSpace(filter))
        {
            valueSet.Expansion.Parameter.Add(new ValueSet.ParameterComponent { Name = "filter", Value = new FhirString(filter) });
        }

        if (count is { } limit)
        {
            valueSet.Expansion.Parameter.Add(new ValueSet.ParameterComponent { Name = "count", Value = new Integer(limit) });
        }

        return valueSet;
    }

    /// <summary>
    /// The concepts of a ValueSet that match a filter: those whose code or display starts with the whole filter
    /// first, then the rest, each group in ValueSet order. No filter matches everything.
    /// </summary>
    public static IReadOnlyList<Concept> Match(ValueSetDefinition definition, string? filter)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var concepts = Index.TryGetValue(definition, out var indexed) ? indexed : [.. definition.Concepts.Select(IndexedConcept.From)];
        var text = filter?.Trim() ?? string.Empty;
        if (text.Length == 0)
        {
            return definition.Concepts;
        }

        var tokens = text.Split(Separators, StringSplitOptions.RemoveEmptyEntries);
        var first = new List<Concept>();
        var rest = new List<Concept>();
        foreach (var candidate in concepts)
        {
            var concept = candidate.Concept;
            var startsWith = concept.Code.StartsWith(text, StringComparison.OrdinalIgnoreCase)
                || concept.Display.StartsWith(text, StringComparison.OrdinalIgnoreCase);
            if (startsWith)
            {
                first.Add(concept);
            }
            else if (tokens.Length > 0 && candidate.MatchesAll(tokens))
            {
                rest.Add(concept);
            }
        }

        first.AddRange(rest);
        return first;
    }

    private sealed record IndexedConcept(Concept Concept, string[] Words)
    {
        public static IndexedConcept From(Concept concept) => new(concept,
        [
            .. concept.Display.Split(Separators, StringSplitOptions.RemoveEmptyEntries),
            .. concept.Synonyms.SelectMany(s => s.Split(Separators, StringSplitOptions.RemoveEmptyEntries)),
            .. concept.Code.Split(Separators, StringSplitOptions.RemoveEmptyEntries),
        ]);

        public bool MatchesAll(string[] tokens)
        {
            foreach (var token in tokens)
            {
                if (!Array.Exists(Words, w => w.StartsWith(token, StringComparison.OrdinalIgnoreCase)))
                {
                    return false;
                }
            }

            return true;
        }
    }
}

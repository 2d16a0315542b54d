using Hl7.Fhir.Model;

namespace Referral.Model.Terminology;

/// <summary>One code with its system and display: a row of a ValueSet.</summary>
public sealed record Concept(string System, string Code, string Display)
{
    /// <summary>
    /// True where the code or its display could not be checked against a published source here
    /// (DESIGN.md §4: "mark any you add that you could not check").
    /// </summary>
    public bool Unchecked { get; init; }

    /// <summary>Other names a type-ahead should find this concept by (abbreviations, lay terms).</summary>
    public IReadOnlyList<string> Synonyms { get; init; } = [];

    public Coding ToCoding() => new(System, Code, Display);

    public CodeableConcept ToCodeableConcept() => new() { Coding = [ToCoding()], Text = Display };

    public bool Matches(Coding? coding) =>
        coding is not null
        && string.Equals(coding.System, System, StringComparison.Ordinal)
        && string.Equals(coding.Code, Code, StringComparison.Ordinal);
}

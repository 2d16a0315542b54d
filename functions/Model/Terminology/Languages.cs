using Hl7.Fhir.Model;

namespace Referral.Model.Terminology;

/// <summary>
/// The languages a therapist speaks, as BCP-47 codes (urn:ietf:bcp:47) on the PractitionerRole. R4's PractitionerRole
/// has no element for them (R5 added <c>communication</c>), so the directory carries R5's element as its R4
/// cross-version extension.
/// </summary>
public static class Languages
{
    public const string System = "urn:ietf:bcp:47";

    /// <summary>The R5 <c>PractitionerRole.communication</c> element, in R4 (FHIR cross-version extensions).</summary>
    public const string PractitionerRoleCommunicationExtension = "http://hl7.org/fhir/5.0/StructureDefinition/extension-PractitionerRole.communication";

    private static readonly Dictionary<string, string> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["en"] = "English",
        ["es"] = "Spanish",
        ["pl"] = "Polish",
        ["zh"] = "Chinese",
        ["ja"] = "Japanese",
        ["vi"] = "Vietnamese",
        ["ru"] = "Russian",
        ["ko"] = "Korean",
        ["de"] = "German",
        ["fr"] = "French",
    };

    /// <summary>A language as a CodeableConcept; a code not listed here keeps its code as its text.</summary>
    public static CodeableConcept Of(string code) =>
        new(System, code, Names.GetValueOrDefault(code), Names.GetValueOrDefault(code) ?? code);

    /// <summary>The name of a language a PractitionerRole names, from its display, its text or its code.</summary>
    public static string NameOf(CodeableConcept language)
    {
        ArgumentNullException.ThrowIfNull(language);
        var coding = language.Coding.FirstOrDefault(c => c.System == System) ?? language.Coding.FirstOrDefault();
        // "es-MX" is Spanish too: the primary subtag names the language when the whole tag is not listed.
        return coding?.Code is { } code && (Names.TryGetValue(code, out var name) || Names.TryGetValue(code.Split('-')[0], out name))
            ? name
            : coding?.Display ?? language.Text ?? coding?.Code ?? "";
    }

    /// <summary>The languages a PractitionerRole carries in the extension.</summary>
    public static IReadOnlyList<string> SpokenBy(PractitionerRole role)
    {
        ArgumentNullException.ThrowIfNull(role);
        return [.. role.GetExtensions(PractitionerRoleCommunicationExtension).Select(e => e.Value).OfType<CodeableConcept>().Select(NameOf).Where(n => n.Length > 0)];
    }
}

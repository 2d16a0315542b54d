using System.Globalization;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Referral.Model.Fhir;

/// <summary>
/// The rules every resource a client sends must keep, whatever its type, checked in one walk of the whole resource
/// (contained resources and Parameters parts included):
/// <list type="bullet">
/// <item>FHIR's string rules: no character below U+0020 but tab, carriage return and line feed, and no half of a surrogate pair;</item>
/// <item>plain text: no markup in any string, and no narrative (free text reaches therapists' and physicians' screens and the EHR);</item>
/// <item>FHIR's invariants on contained resources: dom-2 (none nested), dom-3 (each referenced from elsewhere in the
/// resource), dom-4 (no meta.versionId or meta.lastUpdated), dom-5 (no security labels).</item>
/// </list>
/// Each problem names its element as FHIRPath with indexes (<c>ServiceRequest.note[0].text</c>); a Parameters
/// parameter is named by its name (<c>Parameters.parameter.where(name='note').value</c>), as the operations name them.
/// </summary>
public static partial class InputRules
{
    /// <summary>'&lt;' followed by a letter, '/', '!' or '?': the start of a tag, comment or processing instruction. "pain &lt; 3" is fine.</summary>
    [GeneratedRegex(@"<\s*[A-Za-z/!?]", RegexOptions.CultureInvariant)]
    private static partial Regex Markup();

    public static bool LooksLikeMarkup(string? text) => text is not null && Markup().IsMatch(text);

    /// <summary>
    /// The index of the first character a FHIR string may not hold (a control character other than tab, CR and LF,
    /// or an unpaired surrogate), or -1.
    /// </summary>
    public static int IndexOfForbiddenCharacter(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < '\u0020' && c is not ('\t' or '\r' or '\n'))
            {
                return i;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Every problem of <paramref name="resource"/> with the rules above; none when it keeps them all.</summary>
    public static IReadOnlyList<OperationOutcome.IssueComponent> Check(Resource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var walk = new Walk();
        walk.Visit(resource, resource.TypeName);
        if (resource is DomainResource domain)
        {
            CheckContained(domain, resource.TypeName, walk);
        }

        return walk.Issues;
    }

    private static void CheckContained(DomainResource resource, string root, Walk walk)
    {
        for (var i = 0; i < resource.Contained.Count; i++)
        {
            var contained = resource.Contained[i];
            var path = $"{root}.contained[{i}]";
            if (contained is DomainResource { Contained.Count: > 0 })
            {
                walk.Issues.Add(Outcomes.Error(ValidationRules.ContainedNested, IssueType.Invariant, path + ".contained",
                    "dom-2: a contained resource cannot contain resources."));
            }

            if (contained.Meta is { } meta && (meta.VersionId is not null || meta.LastUpdated is not null))
            {
                walk.Issues.Add(Outcomes.Error(ValidationRules.ContainedMeta, IssueType.Invariant, path + ".meta",
                    "dom-4: a contained resource has no meta.versionId or meta.lastUpdated."));
            }

            if (contained.Meta is { Security.Count: > 0 })
            {
                walk.Issues.Add(Outcomes.Error(ValidationRules.ContainedSecurity, IssueType.Invariant, path + ".meta.security",
                    "dom-5: a contained resource has no security labels."));
            }

            if (string.IsNullOrEmpty(contained.Id) || !walk.References.Contains("#" + contained.Id))
            {
                walk.Issues.Add(Outcomes.Error(ValidationRules.ContainedUnreferenced, IssueType.Invariant, path,
                    $"dom-3: a contained resource is referenced from elsewhere in the resource (as '#{contained.Id}'); this one is not."));
            }
        }
    }

    private sealed class Walk
    {
        public List<OperationOutcome.IssueComponent> Issues { get; } = [];

        /// <summary>Every reference, canonical and uri in the resource: what dom-3 looks for.</summary>
        public HashSet<string> References { get; } = new(StringComparer.Ordinal);

        public void Visit(Base node, string path)
        {
            if (node is Narrative)
            {
                Issues.Add(Outcomes.Error(ValidationRules.PlainText, IssueType.Value, path,
                    "A narrative is not accepted: the structured elements say everything, and free text must be plain text."));
                return;
            }

            if (node is PrimitiveType { JsonValue: string primitiveText } primitive)
            {
                CheckString(primitiveText, path);
                if (primitive is FhirUri or Canonical or FhirUrl)
                {
                    References.Add(primitiveText);
                }
            }

            if (node is ResourceReference { Reference: { } reference })
            {
                References.Add(reference);
            }

            foreach (var (key, value) in node.EnumerateElements())
            {
                if (node is PrimitiveType && key == "value")
                {
                    continue;
                }

                switch (value)
                {
                    case string text:
                        CheckString(text, $"{path}.{key}");
                        break;
                    case Base child:
                        Visit(child, $"{path}.{Segment(key, child, null)}");
                        break;
                    case IEnumerable<Base> list:
                        var items = list.ToList();
                        for (var i = 0; i < items.Count; i++)
                        {
                            Visit(items[i], $"{path}.{Segment(key, items[i], (items, i))}");
                        }

                        break;
                }
            }
        }

        /// <summary>An element's step: its name, with its index in a list; a parameter or part by its name, as the operations name them.</summary>
        private static string Segment(string key, Base child, (List<Base> Items, int Index)? inList)
        {
            if (inList is not { } list)
            {
                return key;
            }

            if (child is Parameters.ParameterComponent { Name: { } name } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                var same = list.Items.OfType<Parameters.ParameterComponent>().Where(p => p.Name == name).ToList();
                var step = $"{key}.where(name='{name}')";
                return same.Count > 1 ? $"{step}[{same.IndexOf((Parameters.ParameterComponent)child).ToString(CultureInfo.InvariantCulture)}]" : step;
            }

            return $"{key}[{list.Index.ToString(CultureInfo.InvariantCulture)}]";
        }

        private void CheckString(string text, string path)
        {
            var at = IndexOfForbiddenCharacter(text);
            if (at >= 0)
            {
                var code = ((int)text[at]).ToString("X4", CultureInfo.InvariantCulture);
                Issues.Add(Outcomes.Error(ValidationRules.StringCharacters, IssueType.Value, path,
                    $"FHIR strings hold no control characters but tab, carriage return and line feed (nor half a surrogate pair); this one has U+{code} at position {at + 1}."));
            }

            if (LooksLikeMarkup(text))
            {
                Issues.Add(Outcomes.Error(ValidationRules.PlainText, IssueType.Value, path,
                    "Free text must be plain text: markup (such as <script>) is not accepted."));
            }
        }
    }
}

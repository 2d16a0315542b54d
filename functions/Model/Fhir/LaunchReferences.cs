using System.Collections;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using static Hl7.Fhir.Model.OperationOutcome;

namespace Referral.Model.Fhir;

/// <summary>
/// The one rule for where a submitted reference may point (DESIGN.md §6): relative (<c>Patient/x</c>), contained
/// (<c>#coverage</c>), or absolute on the launching EHR's FHIR base. Bases are compared normalised: scheme, host and
/// port without regard to case, the path exactly (case-sensitive), a trailing slash ignored; no query, no fragment.
/// Anything else (another server, <c>urn:</c>, a logical-only reference is fine as it points nowhere) is refused.
/// </summary>
public static partial class LaunchReferences
{
    /// <summary>Every <c>Reference.reference</c> in the resource, contained resources included, that does not resolve to <paramref name="ehrBase"/>.</summary>
    public static IEnumerable<IssueComponent> Foreign(Resource resource, string ehrBase)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(ehrBase);
        return Walk(resource, resource.TypeName, ehrBase);
    }

    /// <summary>The same check of one reference: true when it is relative, contained, or on the EHR's base.</summary>
    public static bool ResolvesTo(string reference, string ehrBase)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(ehrBase);
        if (reference.StartsWith('#'))
        {
            return reference.Length > 1;
        }

        if (Relative().IsMatch(reference))
        {
            return true;
        }

        var tail = AbsoluteTail().Match(reference);
        return tail.Success
            && Normalise(reference[..tail.Index]) is { } referenceBase
            && Normalise(ehrBase) is { } allowed
            && string.Equals(referenceBase, allowed, StringComparison.Ordinal);
    }

    /// <summary><c>scheme://host:port/path</c> with scheme and host lower-cased, the port explicit and no trailing slash; null when not an http(s) base.</summary>
    public static string? Normalise(string fhirBase)
    {
        ArgumentNullException.ThrowIfNull(fhirBase);
        if (!Uri.TryCreate(fhirBase, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https")
            || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            return null;
        }

        return $"{uri.Scheme}://{uri.IdnHost.ToLowerInvariant()}:{uri.Port}{uri.AbsolutePath.TrimEnd('/')}";
    }

    private static IEnumerable<IssueComponent> Walk(Base element, string path, string ehrBase)
    {
        if (element is ResourceReference { Reference: { Length: > 0 } reference } && !ResolvesTo(reference, ehrBase))
        {
            yield return Outcomes.Error(ValidationRules.ReferenceForeign, IssueType.Value, path,
                $"{reference} is not on the EHR the app was launched from ({ehrBase}) nor relative: references must resolve there.");
        }

        foreach (var (name, value) in element.EnumerateElements())
        {
            if (value is Base child)
            {
                foreach (var issue in Walk(child, $"{path}.{name}", ehrBase))
                {
                    yield return issue;
                }
            }
            else if (value is IEnumerable list and not string)
            {
                var i = 0;
                foreach (var item in list)
                {
                    if (item is Base each)
                    {
                        foreach (var issue in Walk(each, $"{path}.{name}[{i}]", ehrBase))
                        {
                            yield return issue;
                        }
                    }

                    i++;
                }
            }
        }
    }

    [GeneratedRegex(@"^[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-\.]{1,64}(/_history/[A-Za-z0-9\-\.]{1,64})?$", RegexOptions.CultureInvariant)]
    private static partial Regex Relative();

    [GeneratedRegex(@"/[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-\.]{1,64}(/_history/[A-Za-z0-9\-\.]{1,64})?$", RegexOptions.CultureInvariant)]
    private static partial Regex AbsoluteTail();
}

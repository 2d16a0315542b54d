using Hl7.Fhir.Model;

namespace Referral.Model.Fhir;

/// <summary>
/// A reference to another resource, as the apps hold it: "Patient/123" or an absolute URL such as a launch's
/// fhirUser. Its resource type is read from the reference itself.
/// </summary>
public sealed record ResourceRef(string Reference, string? Display = null)
{
    /// <summary>The type named by the reference ("Patient" in ".../Patient/123" or ".../Patient/123/_history/2"), or null.</summary>
    public string? ResourceType => TypeOf(Reference);

    public ResourceReference ToReference() => new(Reference, Display);

    public static ResourceRef To(string resourceType, string id, string? display = null) => new($"{resourceType}/{id}", display);

    public static string? TypeOf(string? reference)
    {
        if (string.IsNullOrWhiteSpace(reference) || reference.StartsWith('#'))
        {
            return null;
        }

        var path = reference.Split('?', '#')[0];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var history = Array.IndexOf(segments, "_history");
        var end = history >= 0 ? history : segments.Length;
        if (end < 2)
        {
            return null;
        }

        var type = segments[end - 2];
        return ModelInfo.IsKnownResource(type) ? type : null;
    }
}

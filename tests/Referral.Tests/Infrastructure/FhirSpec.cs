using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// FHIR's own rules, judged by an outsider: Firely's validator against the core R4 StructureDefinitions (cardinality,
/// types, string rules, the invariants such as dom-3, required bindings). It reads the specification once per run
/// (a few seconds), so it is made on first use and shared.
/// </summary>
public static class FhirSpec
{
    private static readonly Lazy<Validator> Instance = new(() =>
    {
        var source = new CachedResolver(ZipSource.CreateValidationSource());
        return new Validator(source, new LocalTerminologyService(source));
    });

    private static readonly Lock Gate = new();

    /// <summary>
    /// Every error and fatal issue FHIR's core rules find in the resource, as "expression: text"; empty when it conforms.
    /// The project's own profile is judged by its own validator (its StructureDefinition is not published yet), so
    /// <c>meta.profile</c> is left out here rather than reported as unresolvable.
    /// </summary>
    public static IReadOnlyList<string> Errors(Resource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var core = (Resource)resource.DeepCopy();
        WithoutProfiles(core);
        OperationOutcome outcome;
        lock (Gate)
        {
            outcome = Instance.Value.Validate(core);
        }

        return
        [
            .. outcome.Issue
                .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
                .Select(i => $"{resource.TypeName}/{resource.Id} {string.Join(", ", i.Expression)}: {i.Details?.Text ?? i.Diagnostics}"),
        ];
    }

    private static void WithoutProfiles(Resource resource)
    {
        resource.Meta?.ProfileElement.Clear();
        if (resource is DomainResource domain)
        {
            domain.Contained.ForEach(WithoutProfiles);
        }

        if (resource is Bundle bundle)
        {
            foreach (var entry in bundle.Entry)
            {
                if (entry.Resource is { } inner)
                {
                    WithoutProfiles(inner);
                }
            }
        }
    }
}

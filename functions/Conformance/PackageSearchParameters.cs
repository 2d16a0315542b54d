using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Functions.Therapists;
using Referral.Model;
using Referral.Model.Conformance;
using Referral.Model.Terminology;

namespace Referral.Functions.Conformance;

/// <summary>
/// The package's SearchParameters: one for each search parameter the API serves that core FHIR R4 does not define,
/// made from the search's own declaration (the one its handler reads and the CapabilityStatement lists) and the
/// FHIRPath of what the handler matches. The CapabilityStatement names each as its searchParam's definition.
/// </summary>
public static class PackageSearchParameters
{
    /// <summary>
    /// What each search beyond core matches, as FHIRPath over the resource the search returns: the therapist
    /// directory's extensions and its practice (a contained Location, <see cref="TherapistDirectory.PracticeLocation"/>).
    /// </summary>
    private static readonly Dictionary<(string Resource, string Code), string> Expressions = new()
    {
        [("PractitionerRole", "accepting-new-referrals")] = $"PractitionerRole.extension('{TherapistDirectory.AcceptingNewReferralsExtension}').value",
        [("PractitionerRole", "coverage-type")] = $"PractitionerRole.extension('{TherapistDirectory.CoverageTypeAcceptedExtension}').value",
        [("PractitionerRole", "address-postalcode")] = "PractitionerRole.contained.ofType(Location).address.postalCode",
        [("PractitionerRole", "near")] = "PractitionerRole.contained.ofType(Location).position",
        [("ServiceRequest", "reason-code")] = "ServiceRequest.reasonCode",
    };

    /// <summary>True for a parameter core R4 defines on the type (or on every resource, as <c>_id</c>), or one of FHIR's result parameters.</summary>
    public static bool IsCore(string resourceType, string code) =>
        code.StartsWith('_')
        || ModelInfo.SearchParameters.Any(p => p.Name == code && (p.Resource == resourceType || p.Resource == "Resource" || p.Resource == "DomainResource"));

    /// <summary>The canonical of the package's SearchParameter for a parameter beyond core.</summary>
    public static string Url(string resourceType, string code) => $"{Canonicals.Base}/SearchParameter/{resourceType}-{code}";

    /// <summary>The SearchParameters of the given searches' parameters beyond core (every one of them must have its FHIRPath here).</summary>
    public static IReadOnlyList<SearchParameter> Definitions(IEnumerable<SearchDeclaration> searches, DateTimeOffset published) =>
    [
        .. searches.SelectMany(s => s.Parameters.Select(p => (s.ResourceType, Parameter: p)))
            .Where(x => !IsCore(x.ResourceType, x.Parameter.Name))
            .Select(x => Definition(x.ResourceType, x.Parameter, published)),
    ];

    /// <summary>The searches the package publishes definitions for: those with parameters beyond core.</summary>
    public static IReadOnlyList<SearchDeclaration> Searches => [DirectoryEndpoints.Search, Referrals.ReferralEndpoints.ServiceRequestSearch];

    private static SearchParameter Definition(string resourceType, SearchParam parameter, DateTimeOffset published)
    {
        if (!Expressions.TryGetValue((resourceType, parameter.Name), out var expression))
        {
            throw new InvalidOperationException($"{resourceType}?{parameter.Name} is beyond core FHIR and has no FHIRPath in {nameof(PackageSearchParameters)}.");
        }

        return new SearchParameter
        {
            Id = $"{resourceType}-{parameter.Name}",
            Url = Url(resourceType, parameter.Name),
            Version = ReferralValueSets.Version,
            Name = string.Concat($"{resourceType}-{parameter.Name}".Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..])),
            Status = PublicationStatus.Active,
            Experimental = false,
            Date = published.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            Publisher = ReferralProfiles.Publisher,
            Description = parameter.Documentation,
            Code = parameter.Name,
            Base = [Enum.Parse<ResourceType>(resourceType)],
            Type = parameter.Type,
            Expression = expression,
            XpathUsage = SearchParameter.XPathUsageType.Normal,
        };
    }
}

using System.Net;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Referral.Functions.Conformance;
using Referral.Functions.Therapists;
using Referral.Tests.Infrastructure;
using Referral.Tests.Model;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

/// <summary>
/// The search parameters the API serves beyond core FHIR R4 are published as SearchParameters in the package (issue
/// 20), each valid, each matching what its search matches, and each named by the CapabilityStatements as the
/// definition of its searchParam: the API's /metadata and the package's own.
/// </summary>
public sealed class PackageSearchParameterTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IReadOnlyList<SearchParameter> Published => [.. ReferralPackage.Instance.Resources.OfType<SearchParameter>()];

    private static bool IsCore(string type, string? code) =>
        (code is not null && code.StartsWith('_')) || ModelInfo.SearchParameters.Any(p => p.Name == code && (p.Resource == type || p.Resource == "Resource" || p.Resource == "DomainResource"));

    [Fact]
    public async Task Every_search_parameter_the_API_serves_beyond_core_FHIR_is_defined_by_a_SearchParameter_of_the_package_that_metadata_names()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString);
        using var client = app.CreateClient();
        using var response = await client.GetAsync(new Uri("/api/fhir/metadata", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var statement = await ReferralScenario.ReadAsync<CapabilityStatement>(response);

        var beyondCore = statement.Rest.Single().Resource
            .SelectMany(r => r.SearchParam.Select(p => (Type: r.Type!, Param: p)))
            .Where(x => !IsCore(x.Type, x.Param.Name))
            .ToList();

        Assert.Equal(
            ["PractitionerRole?accepting-new-referrals", "PractitionerRole?address-postalcode", "PractitionerRole?coverage-type", "PractitionerRole?near", "ServiceRequest?reason-code"],
            beyondCore.Select(x => $"{x.Type}?{x.Param.Name}").Order(StringComparer.Ordinal));
        foreach (var (type, param) in beyondCore.Select(x => (x.Type, x.Param)))
        {
            var definition = Assert.Single(Published, s => s.Url == param.Definition);
            Assert.Equal((param.Name, param.Type, type), (definition.Code, definition.Type, definition.Base.Single().ToString()));
        }

        // Core parameters point at nothing of ours: core FHIR defines them.
        Assert.All(statement.Rest.Single().Resource.SelectMany(r => r.SearchParam.Where(p => IsCore(r.Type!, p.Name))), p => Assert.Null(p.Definition));
        Assert.Equal(Published.Count, beyondCore.Count);
    }

    [Fact]
    public void Each_SearchParameter_of_the_package_is_valid_for_Firely_its_expression_finds_what_the_search_matches_and_the_package_names_it()
    {
        Assert.NotEmpty(Published);
        var role = TherapistSeed.Therapists.First(r => TherapistDirectory.AcceptsNewReferrals(r) && TherapistDirectory.CoverageTypesAccepted(r).Any());
        var packageStatement = ReferralPackage.Instance.Resources.OfType<CapabilityStatement>().Single();
        foreach (var parameter in Published)
        {
            var errors = ReferralPackage.Instance.Validate(parameter).Issue
                .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal).ToList();
            Assert.True(errors.Count == 0, $"{parameter.Url}: {string.Join("; ", errors.Select(e => e.Details?.Text ?? e.Diagnostics))}");

            var referral = ModelFixtures.Referral();
            var found = (parameter.Base.Single() == ResourceType.ServiceRequest ? (Base)referral : role).Select(parameter.Expression!).ToList();
            object? expected = parameter.Code switch
            {
                "reason-code" => referral.ReasonCode[0],
                "accepting-new-referrals" => new FhirBoolean(true),
                "coverage-type" => TherapistDirectory.CoverageTypesAccepted(role).First(),
                "address-postalcode" => new FhirString(TherapistDirectory.PracticeLocation(role)!.Address!.PostalCode),
                "near" => TherapistDirectory.PracticeLocation(role)!.Position,
                _ => null,
            };
            Assert.NotNull(expected);
            Assert.Contains(found, f => f is not null && f.IsExactly((Base)expected));

            var named = packageStatement.Rest.Single().Resource.Single(r => r.Type == parameter.Base.Single().ToString()).SearchParam;
            Assert.Equal(parameter.Url, Assert.Single(named, p => p.Name == parameter.Code).Definition);
        }
    }
}

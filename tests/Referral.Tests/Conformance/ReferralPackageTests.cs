using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Conformance;
using Referral.Model;
using Referral.Model.Conformance;
using Referral.Tests.Infrastructure;
using Referral.Tests.Model;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

/// <summary>
/// The referral profile as a FHIR package (issue 20): generated from the model's code, with snapshots from Firely's
/// SnapshotGenerator, judged by Firely's validator, and served by the API as the FHIR package layout.
/// </summary>
public sealed class ReferralPackageTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IReadOnlyList<OperationOutcome.IssueComponent> Errors(OperationOutcome outcome) =>
        [.. outcome.Issue.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)];

    private static string Describe(IEnumerable<OperationOutcome.IssueComponent> issues) =>
        string.Join("\n", issues.Select(i => $"{string.Join(",", i.Expression ?? [])}: {i.Details?.Text ?? i.Diagnostics}"));

    [Fact]
    public void Every_profile_of_the_package_has_a_snapshot_generated_from_its_differential()
    {
        var definitions = ReferralPackage.Instance.Resources.OfType<StructureDefinition>().ToList();

        Assert.Equal(ReferralProfiles.All().Concat(ReferralOperations.InputProfiles()).Select(d => d.Url).Order(), definitions.Select(d => d.Url).Order());
        foreach (var definition in definitions)
        {
            Assert.True(definition.Snapshot?.Element.Count > definition.Differential!.Element.Count, $"{definition.Url} has no snapshot.");
        }

        var performer = definitions.Single(d => d.Url == Canonicals.MedicalMassageServiceRequestProfile).Snapshot!.Element
            .Single(e => e.Path == "ServiceRequest.performer");
        Assert.Equal((1, "1"), (performer.Min, performer.Max));
    }

    [Fact]
    public void A_referral_the_model_builds_conforms_to_the_profile_with_no_error()
    {
        var outcome = ReferralPackage.Instance.Validate(ModelFixtures.Referral(), Canonicals.MedicalMassageServiceRequestProfile);

        Assert.True(Errors(outcome).Count == 0, Describe(Errors(outcome)));
    }

    [Fact]
    public void A_referral_without_body_sites_or_placer_identifier_breaks_the_profile_and_each_error_names_its_element()
    {
        var referral = ModelFixtures.Referral();
        referral.BodySite.Clear();
        referral.Identifier.Clear();
        referral.Intent = RequestIntent.Plan;

        var errors = Errors(ReferralPackage.Instance.Validate(referral, Canonicals.MedicalMassageServiceRequestProfile));

        var described = Describe(errors);
        Assert.Contains(errors, e => (e.Expression ?? []).Any(x => x != null && x.StartsWith("ServiceRequest.bodySite", StringComparison.Ordinal)) || (e.Details?.Text ?? e.Diagnostics ?? "").Contains("bodySite", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Details?.Text ?? e.Diagnostics ?? "").Contains("mmr-1", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Expression ?? []).Any(x => x != null && x.StartsWith("ServiceRequest.intent", StringComparison.Ordinal)));
        Assert.All(errors, e => Assert.NotEmpty(e.Expression ?? []));
        Assert.True(errors.Count >= 3, described);
    }

    [Fact]
    public async Task Referrals_judged_at_once_by_the_one_validator_of_the_process_get_the_same_outcomes_as_one_at_a_time()
    {
        // The API judges every submission with the process's one validator, with no lock: concurrent judgements must
        // not see each other's state (a resource, its errors, its paths). Each variant's outcome one at a time is the
        // reference; then all of them, many times over, at once.
        var variants = new List<(Resource Resource, string Profile)>();
        var conforming = ModelFixtures.Referral();
        variants.Add((conforming, Canonicals.MedicalMassageServiceRequestProfile));
        var noSites = ModelFixtures.Referral();
        noSites.BodySite.Clear();
        variants.Add((noSites, Canonicals.MedicalMassageServiceRequestProfile));
        var wrongIntent = ModelFixtures.Referral();
        wrongIntent.Intent = RequestIntent.Plan;
        wrongIntent.Identifier.Clear();
        variants.Add((wrongIntent, Canonicals.MedicalMassageServiceRequestProfile));
        var noReason = ModelFixtures.Referral();
        noReason.ReasonCode.Clear();
        noReason.ReasonReference.Clear();
        variants.Add((noReason, Canonicals.MedicalMassageServiceRequestProfile));
        var decline = ReferralOperations.Find("Task", "decline");
        variants.Add((new Parameters(), decline.InputProfileUrl));
        variants.Add((new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "reason", Value = new FhirString("No room.") }] }, decline.InputProfileUrl));
        var serializer = new FhirJsonSerializer();
        string Judge((Resource Resource, string Profile) variant) =>
            serializer.SerializeToString(ReferralPackage.Instance.Validate(variant.Resource, variant.Profile));

        var alone = variants.Select(Judge).ToList();
        Assert.Equal(alone.Count, alone.Distinct(StringComparer.Ordinal).Count());

        var rounds = Enumerable.Range(0, 8 * variants.Count).ToList();
        var together = await Task.WhenAll(rounds.Select(i => Task.Run(() => (Index: i % variants.Count, Outcome: Judge(variants[i % variants.Count])), Ct)));

        Assert.All(together, judged => Assert.Equal(alone[judged.Index], judged.Outcome));
    }

    [Fact]
    public async Task The_API_serves_the_package_as_a_FHIR_package_tarball_with_its_manifest_and_index()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString);
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri(ReferralPackage.Route, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/gzip", response.Content.Headers.ContentType?.MediaType);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using (var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(Ct), CompressionMode.Decompress))
        await using (var tar = new TarReader(gzip))
        {
            while (await tar.GetNextEntryAsync(cancellationToken: Ct) is { } entry)
            {
                using var content = new MemoryStream();
                await entry.DataStream!.CopyToAsync(content, Ct);
                files[entry.Name] = content.ToArray();
            }
        }

        using var manifest = JsonDocument.Parse(files["package/package.json"]);
        Assert.Equal(ReferralPackage.Name, manifest.RootElement.GetProperty("name").GetString());
        Assert.Equal(Canonicals.Base, manifest.RootElement.GetProperty("canonical").GetString());
        Assert.Equal(["4.0.1"], manifest.RootElement.GetProperty("fhirVersions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("4.0.1", manifest.RootElement.GetProperty("dependencies").GetProperty("hl7.fhir.r4.core").GetString());

        using var index = JsonDocument.Parse(files["package/.index.json"]);
        var indexed = index.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("filename").GetString()!).ToList();
        Assert.Equal(files.Keys.Where(k => k.EndsWith(".json", StringComparison.Ordinal) && !k.Contains("/.index", StringComparison.Ordinal) && k != "package/package.json")
            .Select(k => k["package/".Length..]).Order(), indexed.Order());
        var parser = new FhirJsonDeserializer();
        var profile = parser.Deserialize<StructureDefinition>(System.Text.Encoding.UTF8.GetString(files["package/StructureDefinition-MedicalMassageServiceRequest.json"]));
        Assert.Equal(Canonicals.MedicalMassageServiceRequestProfile, profile.Url);
        Assert.NotEmpty(profile.Snapshot!.Element);
        Assert.Contains(indexed, f => f.StartsWith("OperationDefinition-Task-record-session", StringComparison.Ordinal));
        Assert.Contains(indexed, f => f.StartsWith("CapabilityStatement-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_operation_the_API_serves_has_an_OperationDefinition_readable_at_the_URL_its_CapabilityStatement_names()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString);
        using var client = app.CreateClient();
        var operations = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText ?? "")
            .Where(p => p.StartsWith("/api/fhir/", StringComparison.Ordinal) && p.Split('/')[^1].StartsWith('$') && !p.EndsWith("/$expand", StringComparison.Ordinal))
            .Select(p => $"{p.Split('/')[3]}-{p.Split('/')[^1][1..]}")
            .Distinct()
            .Order()
            .ToList();

        Assert.Equal(operations, ReferralOperations.All.Select(o => o.Id).Order());
        foreach (var id in operations)
        {
            using var response = await client.GetAsync(new Uri($"/api/fhir/OperationDefinition/{id}", UriKind.Relative), Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"OperationDefinition/{id}: {response.StatusCode}");
            var definition = new FhirJsonDeserializer().Deserialize<OperationDefinition>(await response.Content.ReadAsStringAsync(Ct));
            using var profile = await client.GetAsync(new Uri($"/api/fhir/StructureDefinition/{definition.InputProfile!.Split('/')[^1]}", UriKind.Relative), Ct);
            Assert.True(profile.StatusCode == HttpStatusCode.OK, $"{definition.InputProfile}: {profile.StatusCode}");
        }
    }
}

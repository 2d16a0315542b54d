using System.Net;
using Hl7.Fhir.Model;
using Referral.Functions.Audit;
using Referral.Functions.Referrals;
using Referral.Functions.Sessions;
using Referral.Functions.Therapists;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

public sealed class MetadataTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_CapabilityStatement_is_public_and_names_exactly_what_the_app_serves()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.CreateClient();

        using var response = await client.GetAsync(Url("/api/fhir/metadata"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var statement = await ReadAsync<CapabilityStatement>(response);
        var resources = statement.Rest.Single().Resource.ToDictionary(r => r.Type!);
        Assert.Equal(["AuditEvent", "CodeSystem", "Communication", "Observation", "PractitionerRole", "Procedure", "ServiceRequest", "Task", "ValueSet"], resources.Keys.Order());

        string[] Interactions(string type) => [.. resources[type].Interaction.Select(i => i.Code!.Value.ToString()).Order()];
        Assert.Equal(["Create", "Read", "SearchType"], Interactions("ServiceRequest"));
        Assert.Equal(["Read", "SearchType"], Interactions("Task"));
        Assert.Equal(["accept", "approve-renewal", "cancel", "complete", "decline", "decline-renewal", "message", "record-session", "request-renewal"], resources["Task"].Operation.Select(o => o.Name).Order());
        Assert.Equal(["SearchType"], Interactions("Observation"));
        Assert.Equal(["SearchType"], Interactions("Procedure"));
        Assert.Contains("Parameters body with start", resources["Task"].Operation.Single(o => o.Name == "record-session").Documentation, StringComparison.Ordinal);
        Assert.Contains("Parameters.parameter.where(name='outcome')", resources["Task"].Operation.Single(o => o.Name == "complete").Documentation, StringComparison.Ordinal);
        Assert.Contains("'sessions' (valueInteger", resources["Task"].Operation.Single(o => o.Name == "request-renewal").Documentation, StringComparison.Ordinal);
        Assert.Contains("expand", resources["ValueSet"].Operation.Select(o => o.Name));
        Assert.Contains(resources["ServiceRequest"].SupportedProfile, p => p!.EndsWith("MedicalMassageServiceRequest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_search_parameters_declared_are_those_the_endpoints_accept()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.CreateClient();
        var statement = await ReadAsync<CapabilityStatement>(await client.GetAsync(Url("/api/fhir/metadata"), Ct));
        var declared = statement.Rest.Single().Resource.ToDictionary(r => r.Type!, r => r.SearchParam.Select(p => p.Name).Order().ToArray());

        // _include is declared as searchInclude, not as a search parameter.
        static string[] Accepted(IEnumerable<string> names) => [.. names.Where(n => n is not ("_page" or "_include")).Order()];
        Assert.Equal(Accepted(ReferralEndpoints.ServiceRequestSearchParameters), declared["ServiceRequest"]);
        Assert.Equal(Accepted(ReferralEndpoints.TaskSearchParameters), declared["Task"]);
        Assert.Equal([ReferralEndpoints.IncludeFocus], statement.Rest.Single().Resource.Single(r => r.Type == "Task").SearchInclude);
        Assert.Equal(Accepted(SessionEndpoints.ObservationSearchParameters), declared["Observation"]);
        Assert.Equal(Accepted(SessionEndpoints.ProcedureSearchParameters), declared["Procedure"]);
        Assert.Equal(Accepted(DirectoryEndpoints.SearchParameters.Where(n => n != "_count")), declared["PractitionerRole"]);
        Assert.Equal(Accepted(AuditEndpoints.Parameters.Where(n => n != "_count")), declared["AuditEvent"]);
    }

    [Fact]
    public async Task The_conditions_ValueSet_expands_with_a_type_ahead_filter()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(identity.Physician());
        var url = Uri.EscapeDataString(ReferralValueSets.Conditions.Canonical);

        var expansion = await ReadAsync<ValueSet>(await client.GetAsync(Url($"/api/fhir/ValueSet/$expand?url={url}&filter=car&count=5"), Ct));
        using var unknown = await client.GetAsync(Url("/api/fhir/ValueSet/$expand?url=http://example.org/nothing"), Ct);

        Assert.Contains(expansion.Expansion!.Contains, c => c.Code == "G56.01");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}

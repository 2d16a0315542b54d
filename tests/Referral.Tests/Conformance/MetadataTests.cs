using System.Net;
using Hl7.Fhir.Model;
using Referral.Functions.Audit;
using Referral.Functions.Fhir;
using Referral.Functions.Referrals;
using Referral.Functions.Sessions;
using Referral.Functions.Therapists;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

public sealed class MetadataTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_CapabilityStatement_is_public_and_names_exactly_what_the_app_serves()
    {
        var app = functions.App;
        using var client = app.CreateClient();

        using var response = await client.GetAsync(Url("/api/fhir/metadata"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var statement = await ReadAsync<CapabilityStatement>(response);
        var resources = statement.Rest.Single().Resource.ToDictionary(r => r.Type!);
        Assert.Equal(["AuditEvent", "CodeSystem", "Communication", "Observation", "OperationDefinition", "PractitionerRole", "Procedure", "ServiceRequest", "StructureDefinition", "Task", "ValueSet"], resources.Keys.Order());

        string[] Interactions(string type) => [.. resources[type].Interaction.Select(i => i.Code!.Value.ToString()).Order()];
        Assert.Equal(["Create", "Read", "SearchType", "Vread"], Interactions("ServiceRequest"));
        Assert.Equal(["HistoryInstance", "Read", "SearchType", "Vread"], Interactions("Task"));
        Assert.Equal(["accept", "approve-renewal", "cancel", "complete", "decline", "decline-renewal", "hold", "message", "record-session", "request-renewal", "resume"], resources["Task"].Operation.Select(o => o.Name).Order());
        Assert.Equal(["SearchType"], Interactions("Observation"));
        Assert.Equal(["SearchType"], Interactions("Procedure"));
        Assert.Contains("Parameters body with start", resources["Task"].Operation.Single(o => o.Name == "record-session").Documentation, StringComparison.Ordinal);
        Assert.Contains("Parameters.parameter.where(name='outcome')", resources["Task"].Operation.Single(o => o.Name == "complete").Documentation, StringComparison.Ordinal);
        Assert.Contains("'sessions' (valueInteger", resources["Task"].Operation.Single(o => o.Name == "request-renewal").Documentation, StringComparison.Ordinal);
        Assert.Contains("expand", resources["ValueSet"].Operation.Select(o => o.Name));
        Assert.Contains(resources["ServiceRequest"].SupportedProfile, p => p!.EndsWith("MedicalMassageServiceRequest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_search_parameters_declared_are_those_each_search_endpoint_reads()
    {
        var app = functions.App;
        using var client = app.CreateClient();
        var statement = await ReadAsync<CapabilityStatement>(await client.GetAsync(Url("/api/fhir/metadata"), Ct));
        var resources = statement.Rest.Single().Resource.ToDictionary(r => r.Type!);

        // The declaration each handler reads its request through is the one the statement is written from.
        SearchDeclaration[] searches = [ReferralEndpoints.ServiceRequestSearch, TaskEndpoints.TaskSearch, SessionEndpoints.ObservationSearch,
            SessionEndpoints.ProcedureSearch, DirectoryEndpoints.Search, AuditEndpoints.Search, MessageEndpoints.CommunicationSearch];
        Assert.Equal(searches.Select(s => s.ResourceType).Order(), resources.Values.Where(r => r.Interaction.Any(i => i.Code == CapabilityStatement.TypeRestfulInteraction.SearchType)).Select(r => r.Type).Order());
        foreach (var search in searches)
        {
            var resource = resources[search.ResourceType];
            Assert.Equal(search.Parameters.Select(p => p.Name).Append("_count").Order(), resource.SearchParam.Select(p => p.Name).Order());
            Assert.Equal(search.Includes, resource.SearchInclude);
            Assert.Contains($"1 to {search.MaxCount}", resource.SearchParam.Single(p => p.Name == "_count").Documentation, StringComparison.Ordinal);
        }

        Assert.Equal([ReferralEndpoints.IncludeFocus], resources["Task"].SearchInclude);
        Assert.Equal(["json", "xml"], statement.Format);
    }

    /// <summary>
    /// Held to what the running endpoints do: under <c>Prefer: handling=strict</c> every parameter the statement declares
    /// for a search is taken (at most its value is refused), and one it does not declare is a 400 naming it.
    /// </summary>
    [Fact]
    public async Task Under_strict_handling_every_declared_search_parameter_is_taken_and_an_undeclared_one_is_refused()
    {
        await using var scenario = new ReferralScenario(functions);
        using var anonymous = scenario.App.CreateClient();
        var statement = await ReadAsync<CapabilityStatement>(await anonymous.GetAsync(Url("/api/fhir/metadata"), Ct));
        using var therapist = scenario.AsTherapist();
        using var admin = scenario.AsAdmin();
        using var physician = scenario.AsPhysician();

        foreach (var resource in statement.Rest.Single().Resource.Where(r => r.SearchParam.Count > 0))
        {
            var client = resource.Type switch { "Task" => therapist, "AuditEvent" => admin, _ => physician };
            foreach (var parameter in resource.SearchParam.Select(p => p.Name!).Append("_include").Where(n => n != "_include" || resource.SearchInclude.Any())
                         .Append("not-a-parameter"))
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, Url($"/api/fhir/{resource.Type}?{parameter}=1"));
                request.Headers.TryAddWithoutValidation("Prefer", "handling=strict");
                using var response = await client.SendAsync(request, Ct);
                var body = await response.Content.ReadAsStringAsync(Ct);
                var refusedAsUnknown = response.StatusCode == HttpStatusCode.BadRequest && body.Contains("is not supported by", StringComparison.Ordinal);
                Assert.True(refusedAsUnknown == (parameter == "not-a-parameter"), $"{resource.Type}?{parameter}: {(int)response.StatusCode} {body}");
            }
        }
    }

    [Fact]
    public async Task The_conditions_ValueSet_expands_with_a_type_ahead_filter()
    {
        var app = functions.App;
        using var client = app.ClientWith(identity.Physician());
        var url = Uri.EscapeDataString(ReferralValueSets.Conditions.Canonical);

        var expansion = await ReadAsync<ValueSet>(await client.GetAsync(Url($"/api/fhir/ValueSet/$expand?url={url}&filter=car&count=5"), Ct));
        using var unknown = await client.GetAsync(Url("/api/fhir/ValueSet/$expand?url=http://example.org/nothing"), Ct);

        Assert.Contains(expansion.Expansion!.Contains, c => c.Code == "G56.01");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}

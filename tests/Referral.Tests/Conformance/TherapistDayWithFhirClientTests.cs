using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

/// <summary>
/// A therapist's whole day driven by Firely's <c>FhirClient</c>, as a practice system would, against the running API
/// (the test server's handler under the client, real tokens, Azurite): the CapabilityStatement, the inbox with
/// <c>_include</c> paged to the end, a read and its version, a conditional read, <c>$accept</c> with no parameters, a
/// session, the Observations one per page to the last, <c>$expand</c> by POST, and the Task's history; in JSON and in XML.
/// </summary>
public sealed class TherapistDayWithFhirClientTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    [Theory]
    [InlineData(ResourceFormat.Json)]
    [InlineData(ResourceFormat.Xml)]
    public async Task A_therapist_system_using_Firelys_FhirClient_gets_through_the_whole_day(ResourceFormat format)
    {
        await using var scenario = new ReferralScenario(azurite, identity);
        await scenario.SeedTherapistsAsync();
        var sent = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add((await scenario.SubmitAsync(scenario.DraftValidSinceLastWeek())).Request!.Id!);
        }

        using var http = scenario.AsTherapist();
        var client = new FhirClient(new Uri(http.BaseAddress!, "/api/fhir"), http, new FhirClientSettings
        {
            PreferredFormat = format,
            VerifyFhirVersion = false,
        });

        // The capability statement: what the day needs is declared.
        var statement = await client.CapabilityStatementAsync();
        var task = statement!.Rest.Single().Resource.Single(r => r.Type == "Task");
        Assert.Contains("accept", task.Operation.Select(o => o.Name));
        Assert.Contains(task.Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.HistoryInstance);
        Assert.Contains(format == ResourceFormat.Xml ? "xml" : "json", statement.Format);

        // The inbox with each Task's ServiceRequest, one per page, followed to the end.
        var inbox = await client.SearchAsync<FhirTask>([], includes: ["Task:focus"], pageSize: 1);
        var tasks = new List<FhirTask>();
        var requests = new List<ServiceRequest>();
        for (var page = inbox; page is not null; page = await client.ContinueAsync(page))
        {
            tasks.AddRange(page.Entry.Select(e => e.Resource).OfType<FhirTask>());
            requests.AddRange(page.Entry.Select(e => e.Resource).OfType<ServiceRequest>());
        }

        Assert.Equal(sent.AsEnumerable().Reverse(), tasks.Select(t => t.Id));
        Assert.Equal(tasks.Select(t => t.Id), requests.Select(r => r.Id));
        var id = tasks[0].Id!;

        // A read, its version (vread) and a conditional read that finds nothing changed.
        var read = await client.ReadAsync<FhirTask>($"Task/{id}");
        Assert.Equal("1", read!.Meta!.VersionId);
        Assert.Equal("W/\"1\"", client.LastResult!.Etag);
        var version = await client.ReadAsync<FhirTask>($"Task/{id}/_history/1");
        Assert.Equal(id, version!.Id);
        // FhirClient reports a 304 as a FhirOperationException with its status.
        var unchanged = await Assert.ThrowsAsync<FhirOperationException>(() => client.ReadAsync<FhirTask>($"Task/{id}", ifNoneMatch: "W/\"1\""));
        Assert.Equal(HttpStatusCode.NotModified, unchanged.Status);

        // $accept with no parameters.
        var accepted = Assert.IsType<FhirTask>(await client.InstanceOperationAsync(new Uri($"Task/{id}", UriKind.Relative), "accept"));
        Assert.Equal(FhirTask.TaskStatus.Accepted, accepted.Status);
        Assert.Equal("2", accepted.Meta!.VersionId);

        // A session.
        var recorded = Assert.IsType<Parameters>(await client.InstanceOperationAsync(
            new Uri($"Task/{id}", UriKind.Relative), "record-session", Session(scenario.Time.GetUtcNow().AddHours(-2))));
        Assert.Equal(1, ((Integer)recorded.Parameter.Single(p => p.Name == "session").Value!).Value);

        // The session's Observations, one per page, to the last page.
        var observations = new List<Observation>();
        var first = await client.SearchAsync<Observation>([$"based-on=ServiceRequest/{id}"], pageSize: 1);
        for (var page = first; page is not null; page = await client.ContinueAsync(page))
        {
            observations.Add(Assert.IsType<Observation>(Assert.Single(page.Entry).Resource));
        }

        Assert.Equal(recorded.Parameter.Where(p => p.Name == "observation").Select(p => p.Resource!.Id).Order(), observations.Select(o => o.Id).Order());
        Assert.Equal(observations.Count, first!.Total);

        // $expand by POST, as FhirClient sends it.
        var expansion = await client.ExpandValueSetAsync(new FhirUri(ReferralValueSets.Conditions.Canonical), new FhirString("car"));
        Assert.Contains(expansion!.Expansion!.Contains, c => c.Code == "G56.01");

        // The Task's history: every version, newest first (sent, accepted, the session).
        var history = await client.HistoryAsync($"Task/{id}");
        Assert.Equal(["3", "2", "1"], history!.Entry.Select(e => e.Resource!.Meta!.VersionId));
        Assert.Equal(FhirTask.TaskStatus.InProgress, Assert.IsType<FhirTask>(history.Entry[0].Resource).Status);
        Assert.Equal(HttpStatusCode.OK.ToString("D"), client.LastResult!.Status!.Split(' ')[0]);
        // The day was spoken in the format asked for.
        Assert.StartsWith(format == ResourceFormat.Xml ? "<" : "{", client.LastBodyAsText!.TrimStart(), StringComparison.Ordinal);
    }
}

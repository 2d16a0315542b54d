using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using SandboxEhr.Data;
using SandboxEhr.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace SandboxEhr.Tests.Fhir;

/// <summary>
/// The steps of the therapist's day (Referral.Tests' TherapistDayWithFhirClientTests) that the sandbox EHR's FHIR API
/// offers, driven by Firely's <c>FhirClient</c> as against a real EHR: its CapabilityStatement, a search with
/// <c>_count</c> followed to its last page, and a read whose ETag is its <c>meta.versionId</c>. The sandbox has no
/// operations, <c>$expand</c>, history, conditional read or XML, so those steps are not run here.
/// </summary>
public sealed class FhirClientDayTests() : SandboxFlowTests(SmartFlow.SmartAppJwks, ClientKey.Rsa("smart-app-1"))
{
    [Fact]
    public async Task Firelys_FhirClient_reads_the_capabilities_pages_a_search_to_its_end_and_reads_with_the_version()
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(SyntheticIds.LymphedemaPatient);
        var (status, body, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);
        Assert.Equal(HttpStatusCode.OK, status);
        using var http = App.CreateClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", body.GetProperty("access_token").GetString());
        var client = new FhirClient(new Uri(App.FhirBase), http, new FhirClientSettings { VerifyFhirVersion = false });

        var statement = await client.CapabilityStatementAsync();
        Assert.Contains(statement!.Rest.Single().Resource, r => r.Type == "Condition");

        var conditions = new List<Condition>();
        for (var page = await client.SearchAsync<Condition>([$"patient=Patient/{SyntheticIds.LymphedemaPatient}"], pageSize: 1);
             page is not null; page = await client.ContinueAsync(page))
        {
            conditions.AddRange(page.Entry.Select(e => e.Resource).OfType<Condition>());
        }

        Assert.NotEmpty(conditions);
        Assert.All(conditions, c => Assert.Equal($"Patient/{SyntheticIds.LymphedemaPatient}", c.Subject!.Reference));

        var patient = await client.ReadAsync<Patient>($"Patient/{SyntheticIds.LymphedemaPatient}");
        Assert.Equal(SyntheticIds.LymphedemaPatient, patient!.Id);
        Assert.Equal($"W/\"{patient.Meta?.VersionId ?? "1"}\"", client.LastResult!.Etag);
    }
}

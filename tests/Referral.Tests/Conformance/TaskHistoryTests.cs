using System.Net;
using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

/// <summary>
/// <c>Task/{id}/_history</c> is the referral's status history (issue 14): every version of the Task as it was stored,
/// with who made it, read by Firely's <c>FhirClient</c> as any FHIR client would, paged, and each version by vread.
/// </summary>
public sealed class TaskHistoryTests(AzuriteFixture azurite, SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static FhirClient Client(HttpClient http, ResourceFormat format = ResourceFormat.Json) =>
        new(new Uri(http.BaseAddress!, "/api/fhir"), http, new FhirClientSettings { PreferredFormat = format, VerifyFhirVersion = false });

    /// <summary>Submitted by the physician (version 1), accepted by the therapist (2), a session recorded (3).</summary>
    private static async Task<string> ThreeVersionsAsync(ReferralScenario scenario)
    {
        var id = await scenario.SubmitAndAcceptAsync();
        using var recorded = await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-2)));
        Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);
        return id;
    }

    private static string? ChangedBy(Resource task) =>
        ((task as FhirTask)?.GetExtensionValue<ResourceReference>(ReferralStore.ChangedByExtension))?.Reference;

    [Theory]
    [InlineData(ResourceFormat.Json)]
    [InlineData(ResourceFormat.Xml)]
    public async Task The_history_holds_every_version_of_the_Task_newest_first_with_who_made_it_and_each_version_reads_back(ResourceFormat format)
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await ThreeVersionsAsync(scenario);
        using var http = scenario.AsTherapist();
        var client = Client(http, format);

        var history = await client.HistoryAsync($"Task/{id}");

        Assert.Equal(Bundle.BundleType.History, history!.Type);
        Assert.Equal(3, history.Total);
        Assert.Equal(["3", "2", "1"], history.Entry.Select(e => e.Resource!.Meta!.VersionId));
        Assert.Equal([FhirTask.TaskStatus.InProgress, FhirTask.TaskStatus.Accepted, FhirTask.TaskStatus.Requested],
            history.Entry.Select(e => Assert.IsType<FhirTask>(e.Resource).Status));
        Assert.Equal([$"PractitionerRole/{scenario.Therapist}", $"PractitionerRole/{scenario.Therapist}", $"Practitioner/{scenario.Physician}"],
            history.Entry.Select(e => ChangedBy(e.Resource!)));
        Assert.Equal(["W/\"3\"", "W/\"2\"", "W/\"1\""], history.Entry.Select(e => e.Response!.Etag));
        Assert.Equal([Bundle.HTTPVerb.PUT, Bundle.HTTPVerb.PUT, Bundle.HTTPVerb.POST], history.Entry.Select(e => e.Request!.Method!.Value));
        Assert.Equal(["200", "200", "201"], history.Entry.Select(e => e.Response!.Status));
        Assert.All(history.Entry, e => Assert.Equal(e.Resource!.Meta!.LastUpdated, e.Response!.LastModified));
        Assert.All(history.Entry, e => Assert.NotNull(e.Resource!.Meta!.LastUpdated));
        // The session's version holds its results; the earlier ones do not.
        Assert.Equal([1, 0, 0], history.Entry.Select(e => ((FhirTask)e.Resource!).Output.Count(o => o.Value is ResourceReference { Reference: var r } && r!.StartsWith("Procedure/", StringComparison.Ordinal))));

        foreach (var entry in history.Entry)
        {
            var version = entry.Resource!.Meta!.VersionId;
            var read = await client.ReadAsync<FhirTask>($"Task/{id}/_history/{version}");
            Assert.Equal(version, read!.Meta!.VersionId);
            Assert.Equal(((FhirTask)entry.Resource).Status, read.Status);
            Assert.Equal($"W/\"{version}\"", client.LastResult!.Etag);
        }

        var never = await Assert.ThrowsAsync<FhirOperationException>(() => client.ReadAsync<FhirTask>($"Task/{id}/_history/4"));
        Assert.Equal(HttpStatusCode.NotFound, never.Status);
    }

    [Fact]
    public async Task The_history_pages_with_count_and_a_signed_next_link_to_the_first_version()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await ThreeVersionsAsync(scenario);
        using var http = scenario.AsTherapist();
        var client = Client(http);

        var versions = new List<string>();
        var first = await client.HistoryAsync($"Task/{id}", pageSize: 1);
        for (var page = first; page is not null; page = await client.ContinueAsync(page))
        {
            versions.Add(Assert.Single(page.Entry).Resource!.Meta!.VersionId!);
        }

        Assert.Equal(["3", "2", "1"], versions);
        Assert.Null(first!.Total);

        // The next link is this caller's, for this history: edited, or used by someone else, it is refused.
        var next = first.NextLink!.ToString();
        using var edited = await http.GetAsync(new Uri(next.Replace("_count=1", "_count=2", StringComparison.Ordinal)), Ct);
        using var physician = scenario.AsPhysician();
        using var otherCaller = await physician.GetAsync(new Uri(next), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, edited.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, otherCaller.StatusCode);
    }

    [Fact]
    public async Task Another_therapist_and_another_physician_get_neither_the_history_nor_a_version_and_the_owners_reads_are_audited()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await ThreeVersionsAsync(scenario);
        using var otherTherapist = scenario.AsTherapist(scenario.OtherTherapist);
        using var otherPhysician = scenario.App.ClientWith(identity.Physician("dr-other-" + scenario.Patient, "pat-other-" + scenario.Patient, at: scenario.Time.GetUtcNow()));
        using var physician = scenario.AsPhysician();

        foreach (var stranger in new[] { Client(otherTherapist), Client(otherPhysician) })
        {
            var history = await Assert.ThrowsAsync<FhirOperationException>(() => stranger.HistoryAsync($"Task/{id}"));
            var version = await Assert.ThrowsAsync<FhirOperationException>(() => stranger.ReadAsync<FhirTask>($"Task/{id}/_history/1"));
            Assert.Equal(HttpStatusCode.NotFound, history.Status);
            Assert.Equal(HttpStatusCode.NotFound, version.Status);
        }

        // The physician who wrote the referral sees its history as the therapist does.
        var own = await Client(physician).HistoryAsync($"Task/{id}");
        Assert.Equal(3, own!.Entry.Count);
        await Client(physician).ReadAsync<FhirTask>($"Task/{id}/_history/2");

        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200"), Ct));
        var events = audit.Entry.Select(e => e.Resource).OfType<AuditEvent>().ToList();
        Assert.Contains(events, e => e.Subtype.Single().Code == "history-instance" && e.Entity[0].What?.Reference == $"Task/{id}"
            && e.Agent.Single().Who?.Reference == $"{TestIdentity.Ehr}/Practitioner/{scenario.Physician}");
        Assert.Contains(events, e => e.Subtype.Single().Code == "vread" && e.Entity[0].What?.Reference == $"Task/{id}");
    }

    [Fact]
    public async Task A_referral_stored_before_history_rows_were_kept_answers_with_its_current_version_and_keeps_the_versions_written_since()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        // As a referral stored by the previous release: its Task and ServiceRequest, no history rows.
        var table = new TableClient(azurite.ConnectionString, ReferralStore.TableName);
        var rows = table.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {scenario.Therapist} and RowKey ge {"hist|"} and RowKey lt {"hist}"}"), cancellationToken: Ct);
        var deleted = 0;
        await foreach (var row in rows)
        {
            await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, cancellationToken: Ct);
            deleted++;
        }

        Assert.Equal(2, deleted);
        using var http = scenario.AsTherapist();
        var client = Client(http);

        var legacy = await client.HistoryAsync($"Task/{id}");
        var current = Assert.Single(legacy!.Entry);
        Assert.Equal("2", current.Resource!.Meta!.VersionId);
        Assert.Equal(FhirTask.TaskStatus.Accepted, ((FhirTask)current.Resource).Status);
        Assert.Equal("2", (await client.ReadAsync<FhirTask>($"Task/{id}/_history/2"))!.Meta!.VersionId);
        var notKept = await Assert.ThrowsAsync<FhirOperationException>(() => client.ReadAsync<FhirTask>($"Task/{id}/_history/1"));
        Assert.Equal(HttpStatusCode.NotFound, notKept.Status);
        Assert.Contains("not kept", notKept.Outcome!.Issue.Single().Diagnostics, StringComparison.Ordinal);

        // A change from now on is kept: the history then holds it, and the version before it is still served as current was.
        using var recorded = await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-2)));
        Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);
        var after = await client.HistoryAsync($"Task/{id}");
        Assert.Equal(["3"], after!.Entry.Select(e => e.Resource!.Meta!.VersionId));
        Assert.Equal(FhirTask.TaskStatus.InProgress, (await client.ReadAsync<FhirTask>($"Task/{id}/_history/3"))!.Status);
    }
}

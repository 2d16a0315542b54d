using System.Net;
using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Functions.Storage;
using Referral.Model.Tasks;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Storage;

/// <summary>
/// Every action close to one storage round trip (issue 17): the table requests an action sends, counted on the wire
/// (<see cref="StorageRequestLog"/>). A change is read (the Task row, which carries its ServiceRequest), written in one transaction, and
/// audited; nothing is read back after the transaction, whose answer carries the new ETags, and a session's retry check
/// needs no range read of the earlier Procedures (the Task knows each session's start); an inbox page with its
/// ServiceRequests is one range query (each inbox row carries its ServiceRequest); a count reads the keys of the status
/// index for the statuses asked, never the inbox rows.
/// </summary>
public sealed class StorageRoundTripTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Accept_and_record_session_each_read_the_referral_write_one_transaction_and_read_nothing_back()
    {
        await using var log = await StorageRequestLog.StartAsync(azurite.ConnectionString);
        await using var scenario = new ReferralScenario(azurite, identity, settings: new Dictionary<string, string?> { [StorageAccount.SettingName] = log.ConnectionString });
        await scenario.SeedTherapistsAsync();
        // Also the first use of each table (created then), so the actions below are counted warm.
        var (submitted, request) = await scenario.SubmitAsync(scenario.DraftValidSinceLastWeek());
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        using var therapist = scenario.AsTherapist();

        var from = log.Requests.Count;
        using var accepted = await therapist.PostAsync(Url($"/api/fhir/Task/{request!.Id}/$accept"), null, Ct);
        var accept = log.Since(from);
        from = log.Requests.Count;
        using var recorded = await scenario.RecordSessionAsync(request.Id!, Session(scenario.Time.GetUtcNow().AddHours(-2)), therapist);
        var session = log.Since(from);
        from = log.Requests.Count;
        using var second = await scenario.RecordSessionAsync(request.Id!, Session(scenario.Time.GetUtcNow().AddHours(-1)), therapist);
        var secondSession = log.Since(from);

        TestContext.Current.SendDiagnosticMessage($"accept: {accept.Count} table requests: {string.Join(", ", accept)}");
        TestContext.Current.SendDiagnosticMessage($"record-session: {session.Count} table requests: {string.Join(", ", session)}");
        TestContext.Current.SendDiagnosticMessage($"second record-session: {secondSession.Count} table requests: {string.Join(", ", secondSession)}");
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        // Read the referral (one point read: the Task row carries the ServiceRequest), one transaction, one audit row; no
        // read after the transaction.
        Assert.Equal(["GET Referrals point task|", "POST $batch", "POST AuditEvents insert"], accept.Order(StringComparer.Ordinal));
        // The same: the idempotency key is added in the transaction and read only when a request may be a replay; no
        // range read of the Procedures, nothing read back.
        string[] recordSession = ["GET Referrals point task|", "POST $batch", "POST AuditEvents insert"];
        Assert.Equal(recordSession, session.Order(StringComparer.Ordinal));
        Assert.Equal(recordSession, secondSession.Order(StringComparer.Ordinal));
        Assert.All([accept, session, secondSession], requests =>
            Assert.DoesNotContain(requests.SkipWhile(r => r != "POST $batch"), r => r.StartsWith("GET ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_versions_a_change_returns_without_reading_back_are_the_stored_ones_so_the_next_change_goes_through_and_a_stale_one_does_not()
    {
        await using var scenario = new ReferralScenario(azurite, identity);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var store = scenario.App.Services.GetRequiredService<ReferralStore>();
        var actor = new Caller { Kind = CallerKind.Therapist, Id = scenario.Therapist, Display = $"PractitionerRole/{scenario.Therapist}" };
        var read = (await store.GetAsync(id, Ct))!;

        var scheduled = ReferralTaskStateMachine.Apply(read.Task, new TaskChange { To = ReferralTaskState.Scheduled, Actor = TaskActor.Therapist, ActorReference = read.Task.Owner!.Reference }, scenario.Time.GetUtcNow());
        var first = await store.UpdateAsync(read, scheduled.Task!, null, actor, scenario.Time.GetUtcNow(), Ct);
        // A change of both rows, guarded by the ETags the first change returned (not read again).
        var revoked = (ServiceRequest)first!.Request.DeepCopy();
        revoked.Status = RequestStatus.Revoked;
        var cancelled = ReferralTaskStateMachine.Apply(first.Task, new TaskChange { To = ReferralTaskState.Cancelled, Actor = TaskActor.Physician, Reason = "Moved away." }, scenario.Time.GetUtcNow());
        Assert.True(cancelled.Succeeded);
        var secondChange = await store.UpdateAsync(first, cancelled.Task!, revoked, actor, scenario.Time.GetUtcNow(), Ct);
        var stale = await store.UpdateAsync(first, (Hl7.Fhir.Model.Task)first.Task.DeepCopy(), null, actor, scenario.Time.GetUtcNow(), Ct);
        var stored = (await store.GetAsync(id, Ct))!;

        Assert.NotNull(secondChange);
        Assert.Null(stale);
        Assert.Equal(4, stored.Version);
        Assert.Equal(stored.Version, secondChange.Version);
        Assert.Equal(stored.TaskETag, secondChange.TaskETag);
        Assert.Equal(RequestStatus.Revoked, stored.Request.Status);
        Assert.Equal("4", secondChange.Request.Meta!.VersionId);
        Assert.Equal("3", first.Request.Meta!.VersionId);
    }

    [Fact]
    public async Task An_inbox_page_with_its_ServiceRequests_is_one_range_query_and_only_a_row_written_before_rows_carried_them_costs_a_point_read()
    {
        await using var log = await StorageRequestLog.StartAsync(azurite.ConnectionString);
        await using var scenario = new ReferralScenario(azurite, identity, settings: new Dictionary<string, string?> { [StorageAccount.SettingName] = log.ConnectionString });
        await scenario.SeedTherapistsAsync();
        var oldest = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        var accepted = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        var newest = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        using var therapist = scenario.AsTherapist();
        using var accept = await therapist.PostAsync(Url($"/api/fhir/Task/{accepted.Id}/$accept"), null, Ct);
        Assert.Equal(HttpStatusCode.OK, accept.StatusCode);
        var page = Url($"/api/fhir/Task?owner=PractitionerRole/{scenario.Therapist}&_include=Task:focus&_count=20");

        var from = log.Requests.Count;
        var bundle = await ReadAsync<Bundle>(await therapist.GetAsync(page, Ct));
        var carried = log.Since(from);

        // A row as written before inbox rows carried the ServiceRequest: the Task's columns only.
        var table = new TableClient(azurite.ConnectionString, ReferralStore.TableName);
        var row = await table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter(
            $"PartitionKey eq {scenario.Therapist} and RowKey gt {"inbox|"} and RowKey lt {"inbox}"} and RequestJson ne {""}"), cancellationToken: Ct)
            .FirstAsync(r => r.RowKey.EndsWith(ReferralStore.Parse(oldest.Id!)!.Value.Key, StringComparison.Ordinal), Ct);
        Assert.True(row.Remove("RequestJson"));
        await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, Ct);
        from = log.Requests.Count;
        var older = await ReadAsync<Bundle>(await therapist.GetAsync(page, Ct));
        var fallback = log.Since(from);

        TestContext.Current.SendDiagnosticMessage($"inbox page: {carried.Count} table requests: {string.Join(", ", carried)}");
        TestContext.Current.SendDiagnosticMessage($"inbox page with an old row: {fallback.Count} table requests: {string.Join(", ", fallback)}");
        Assert.Equal(["GET Referrals query inbox|", "POST AuditEvents insert"], carried.Order(StringComparer.Ordinal));
        Assert.Equal(["GET Referrals point sr|", "GET Referrals query inbox|", "POST AuditEvents insert"], fallback.Order(StringComparer.Ordinal));
        Assert.All([bundle, older], b =>
        {
            Assert.Equal([newest.Id, accepted.Id, oldest.Id], b.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>().Select(t => t.Id));
            var requests = b.Entry.Select(e => e.Resource).OfType<ServiceRequest>().ToList();
            Assert.Equal([newest.Id, accepted.Id, oldest.Id], requests.Select(r => r.Id));
            // The accepted referral's ServiceRequest as its accept left it: the referral's version 2, still active.
            Assert.Equal(["1", "2", "1"], requests.Select(r => r.Meta?.VersionId));
            Assert.All(requests, r => Assert.Equal(RequestStatus.Active, r.Status));
        });
    }

    [Fact]
    public async Task A_count_reads_only_the_status_index_of_the_statuses_asked_and_follows_each_change_also_of_a_referral_stored_before_the_index()
    {
        await using var log = await StorageRequestLog.StartAsync(azurite.ConnectionString);
        await using var scenario = new ReferralScenario(azurite, identity, settings: new Dictionary<string, string?> { [StorageAccount.SettingName] = log.ConnectionString });
        await scenario.SeedTherapistsAsync();
        var old = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        var accepted = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        await scenario.SubmitAsync(scenario.Draft());
        await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();
        using var accept = await therapist.PostAsync(Url($"/api/fhir/Task/{accepted.Id}/$accept"), null, Ct);
        Assert.Equal(HttpStatusCode.OK, accept.StatusCode);
        // One referral as stored before the status index: its Task row names no status row, and there is none; nor a
        // marker. Nor does its Task row carry the ServiceRequest (older still): its accept below reads the ServiceRequest's row.
        var table = new TableClient(azurite.ConnectionString, ReferralStore.TableName);
        var key = ReferralStore.Parse(old.Id!)!.Value.Key;
        var task = (await table.GetEntityAsync<TableEntity>(scenario.Therapist, $"task|{key}", cancellationToken: Ct)).Value;
        Assert.True(task.Remove("StatusRow") & task.Remove("RequestJson") & task.Remove("Ehr"));
        await table.UpdateEntityAsync(task, task.ETag, TableUpdateMode.Replace, Ct);
        await table.DeleteEntityAsync(scenario.Therapist, $"status|requested|{key}", cancellationToken: Ct);
        async Task<int?> CountAsync(string statuses) =>
            (await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Task?owner=PractitionerRole/{scenario.Therapist}&status={statuses}&_summary=count"), Ct))).Total;

        // The first count of the partition indexes the old referral (once); the next ones read the index only.
        var firstNew = await CountAsync("requested,on-hold");
        var from = log.Requests.Count;
        var countNew = await CountAsync("requested,on-hold");
        var countNewRequests = log.Since(from);
        var countActive = await CountAsync("accepted,in-progress");
        // The old referral changes status: its new status row is written and nothing is left in the old one.
        using var acceptOld = await therapist.PostAsync(Url($"/api/fhir/Task/{old.Id}/$accept"), null, Ct);
        Assert.Equal(HttpStatusCode.OK, acceptOld.StatusCode);
        var afterNew = await CountAsync("requested,on-hold");
        var afterActive = await CountAsync("accepted,in-progress");
        var all = await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Task?owner=PractitionerRole/{scenario.Therapist}&_summary=count"), Ct));

        TestContext.Current.SendDiagnosticMessage($"count: {countNewRequests.Count} table requests: {string.Join(", ", countNewRequests)}");
        Assert.Equal(3, firstNew);
        Assert.Equal(3, countNew);
        Assert.Equal(1, countActive);
        Assert.Equal(2, afterNew);
        Assert.Equal(2, afterActive);
        Assert.Equal(4, all.Total);
        // The marker's point read and one key-only query of each status asked, at once; no inbox row read.
        Assert.Equal(["GET Referrals point status|", "GET Referrals query status|", "GET Referrals query status|", "POST AuditEvents insert"],
            countNewRequests.Order(StringComparer.Ordinal));
    }
    [Fact]
    public async Task A_physicians_own_referrals_are_served_newest_first_a_page_at_a_time_with_one_point_read_per_referral_on_the_page_and_a_retry_listed_once()
    {
        var clock = TestClock.Fake();
        await using var log = await StorageRequestLog.StartAsync(azurite.ConnectionString);
        await using var scenario = new ReferralScenario(azurite, identity, time: clock, settings: new Dictionary<string, string?> { [StorageAccount.SettingName] = log.ConnectionString });
        await scenario.SeedTherapistsAsync();
        var sent = new List<string>();
        var drafts = new List<Referral.Model.Referrals.ReferralDraft>();
        for (var i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            var draft = scenario.Draft();
            drafts.Add(draft);
            sent.Add((await scenario.SubmitAsync(draft)).Request!.Id!);
        }

        // A retry of the second, later: it is the original, and listed once, where the original stands.
        clock.Advance(TimeSpan.FromMinutes(1));
        var (retry, _) = await scenario.SubmitAsync(drafts[1]);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        using var physician = scenario.AsPhysician();
        var ids = new List<string>();
        var requests = new List<IReadOnlyList<string>>();
        Uri? next = Url("/api/fhir/ServiceRequest?_count=2");
        while (next is not null && requests.Count < 10)
        {
            var from = log.Requests.Count;
            using var response = await physician.GetAsync(next, Ct);
            requests.Add(log.Since(from));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await ReadAsync<Bundle>(response);
            Assert.Null(page.Total);
            ids.AddRange(page.Entry.Select(e => Assert.IsType<ServiceRequest>(e.Resource).Id!));
            next = page.Link.FirstOrDefault(l => l.Relation == "next")?.Url is { } link ? new Uri(link) : null;
        }

        TestContext.Current.SendDiagnosticMessage($"pages: {string.Join(" / ", requests.Select(r => string.Join(", ", r)))}");
        Assert.Equal(Enumerable.Reverse(sent), ids);
        Assert.Equal(3, requests.Count);
        // A page (the second: the first also reads the page tokens' key, once): one range query of the physician's
        // pointers, one point read of each referral on it, the audit row (and the physician token's replay record, as on every call).
        Assert.Equal(["GET ReferralIndex query", "GET Referrals point task|", "GET Referrals point task|", "POST AuditEvents insert", "POST TokenReplay insert"],
            requests[1].Order(StringComparer.Ordinal));
    }
}

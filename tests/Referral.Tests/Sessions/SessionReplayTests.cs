using System.Net;
using System.Text.Json;
using Azure.Storage.Queues;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Functions.WriteBack;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Sessions;

/// <summary>
/// <c>$record-session</c> sent again: recognised by the request's idempotency key (the client's <c>Idempotency-Key</c>,
/// else the hash of the canonical body), only after the body is checked and <c>If-Match</c> holds. Each test counts
/// what is stored (Procedures and Observations through the API) and what is queued for the EHR (the write-back queue,
/// peeked): in the BackgroundWork collection, so no other test's trigger runner takes the messages away.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class SessionReplayTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Exactly_the_same_request_again_answers_200_with_what_was_stored_and_stores_and_queues_nothing_more()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var session = Session(scenario.Time.GetUtcNow().AddHours(-3));

        using var first = await scenario.RecordSessionAsync(id, session, ifMatch: "W/\"2\"");
        using var again = await scenario.RecordSessionAsync(id, session, ifMatch: "W/\"2\"");
        using var withoutIfMatch = await scenario.RecordSessionAsync(id, session);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.True(again.StatusCode == HttpStatusCode.OK, await again.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.OK, withoutIfMatch.StatusCode);
        var stored = await ReadAsync<Parameters>(first);
        foreach (var replay in new[] { await ReadAsync<Parameters>(again), await ReadAsync<Parameters>(withoutIfMatch) })
        {
            Assert.Equal(Ids(stored, "procedure"), Ids(replay, "procedure"));
            Assert.Equal(Ids(stored, "observation"), Ids(replay, "observation"));
            Assert.Equal(1, ((Integer)replay.Parameter.Single(p => p.Name == "session").Value!).Value);
        }

        Assert.Equal("W/\"3\"", again.Headers.ETag?.ToString());
        await AssertStoredAsync(scenario, id, procedures: 1, observations: 4);
        Assert.Equal(1, await WriteBacksQueuedAsync(scenario, id));
    }

    [Fact]
    public async Task The_same_Idempotency_Key_and_body_is_a_replay_and_the_key_with_other_content_is_refused()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var key = Guid.NewGuid().ToString();
        var start = scenario.Time.GetUtcNow().AddHours(-3);

        using var first = await SendAsync(scenario, id, FhirJson.Serialize(Session(start)), key);
        // The same request, its JSON laid out differently: the same Parameters, so the same request.
        using var again = await SendAsync(scenario, id, FhirJson.Serialize(Session(start), pretty: true), key);
        // The key reused for another session (another start, other values): not this request's.
        using var reused = await SendAsync(scenario, id, FhirJson.Serialize(Session(start.AddHours(1), painBefore: 2)), key);
        using var badKey = await SendAsync(scenario, id, FhirJson.Serialize(Session(start.AddHours(1))), new string('k', 300));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.True(again.StatusCode == HttpStatusCode.OK, await again.Content.ReadAsStringAsync(Ct));
        Assert.Equal(Ids(await ReadAsync<Parameters>(first), "procedure"), Ids(await ReadAsync<Parameters>(again), "procedure"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Contains("Idempotency-Key", (await ReadAsync<OperationOutcome>(reused)).Issue.Single().Diagnostics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badKey.StatusCode);
        await AssertStoredAsync(scenario, id, procedures: 1, observations: 4);
        Assert.Equal(1, await WriteBacksQueuedAsync(scenario, id));
    }

    [Fact]
    public async Task The_same_start_with_impossible_values_and_a_made_up_If_Match_is_refused_as_invalid_first()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var start = scenario.Time.GetUtcNow().AddHours(-3);
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(start))).StatusCode);

        // The issue's report: range of motion 400 degrees, QuickDASH 150, If-Match W/"99", the start of the recorded session.
        var impossible = Session(start);
        impossible.Parameter.Single(p => p.Name == "rangeOfMotion").Part.Single(p => p.Name == "degrees").Value = new FhirDecimal(400);
        impossible.Parameter.Single(p => p.Name == "functionalScore").Part.Single(p => p.Name == "score").Value = new FhirDecimal(150);
        using var response = await scenario.RecordSessionAsync(id, impossible, ifMatch: "W/\"99\"");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var expressions = (await ReadAsync<OperationOutcome>(response)).Issue.SelectMany(i => i.Expression).ToList();
        Assert.Contains("Parameters.parameter.where(name='rangeOfMotion')[0].part.where(name='degrees').value", expressions);
        Assert.Contains("Parameters.parameter.where(name='functionalScore').part.where(name='score').value", expressions);
        await AssertStoredAsync(scenario, id, procedures: 1, observations: 4);
        Assert.Equal(1, await WriteBacksQueuedAsync(scenario, id));
    }

    [Fact]
    public async Task The_same_start_with_other_valid_content_is_a_409_naming_the_recorded_session()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var start = scenario.Time.GetUtcNow().AddHours(-3);
        using var first = await scenario.RecordSessionAsync(id, Session(start));
        var procedure = Ids(await ReadAsync<Parameters>(first), "procedure").Single();

        using var other = await scenario.RecordSessionAsync(id, Session(start, painBefore: 8, painAfter: 1), ifMatch: "W/\"3\"");
        using var otherWithoutIfMatch = await scenario.RecordSessionAsync(id, Session(start, painBefore: 8, painAfter: 1));

        foreach (var response in new[] { other, otherWithoutIfMatch })
        {
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            var issue = (await ReadAsync<OperationOutcome>(response)).Issue.Single();
            Assert.Equal(["Parameters.parameter.where(name='start')"], issue.Expression);
            Assert.Contains($"Procedure/{procedure}", issue.Details!.Text, StringComparison.Ordinal);
            Assert.Contains("Session 1", issue.Details.Text, StringComparison.Ordinal);
        }

        await AssertStoredAsync(scenario, id, procedures: 1, observations: 4);
        Assert.Equal(1, await WriteBacksQueuedAsync(scenario, id));
    }

    [Fact]
    public async Task A_session_recorded_before_the_Task_kept_its_start_is_still_found_and_other_content_for_that_start_is_a_409()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var start = scenario.Time.GetUtcNow().AddHours(-3);
        using var first = await scenario.RecordSessionAsync(id, Session(start));
        var procedure = Ids(await ReadAsync<Parameters>(first), "procedure").Single();
        // The Task knows the session's start; stripped, it is the Task of a session recorded by the previous release.
        var store = scenario.App.Services.GetRequiredService<ReferralStore>();
        var current = (await store.GetAsync(id, Ct))!;
        var started = current.Task.Output.Where(o => o.GetExtension(ReferralTasks.SessionStartExtension) is not null).ToList();
        Assert.Equal([$"Procedure/{procedure}"], started.Select(o => ((ResourceReference)o.Value!).Reference));
        var legacy = (Hl7.Fhir.Model.Task)current.Task.DeepCopy();
        legacy.Output.ForEach(o => o.RemoveExtension(ReferralTasks.SessionStartExtension));
        var actor = new Caller { Kind = CallerKind.Therapist, Id = scenario.Therapist, Display = $"PractitionerRole/{scenario.Therapist}" };
        Assert.NotNull(await store.UpdateAsync(current, legacy, null, actor, scenario.Time.GetUtcNow(), Ct));

        using var other = await scenario.RecordSessionAsync(id, Session(start, painBefore: 8, painAfter: 1));

        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        var issue = (await ReadAsync<OperationOutcome>(other)).Issue.Single();
        Assert.Contains($"Procedure/{procedure}", issue.Details!.Text, StringComparison.Ordinal);
        Assert.Contains("Session 1", issue.Details.Text, StringComparison.Ordinal);
        await AssertStoredAsync(scenario, id, procedures: 1, observations: 4);
    }

    [Fact]
    public async Task A_stale_If_Match_on_a_replay_or_on_other_content_for_the_same_start_is_a_412()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var session = Session(scenario.Time.GetUtcNow().AddHours(-3));
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, session, ifMatch: "W/\"2\"")).StatusCode);

        using var replay = await scenario.RecordSessionAsync(id, session, ifMatch: "W/\"99\"");
        using var olderThanTheRequest = await scenario.RecordSessionAsync(id, session, ifMatch: "W/\"1\"");
        using var other = await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-3), painBefore: 8), ifMatch: "W/\"99\"");

        Assert.Equal(HttpStatusCode.PreconditionFailed, replay.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, olderThanTheRequest.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, other.StatusCode);
        Assert.Equal(OperationOutcome.IssueType.Conflict, (await ReadAsync<OperationOutcome>(replay)).Issue.Single().Code);
        await AssertStoredAsync(scenario, id, procedures: 1, observations: 4);
        Assert.Equal(1, await WriteBacksQueuedAsync(scenario, id));
    }

    [Fact]
    public async Task The_same_request_sent_twice_at_once_records_one_session_and_answers_both()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var session = Session(scenario.Time.GetUtcNow().AddHours(-3));

        var answers = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => scenario.RecordSessionAsync(id, session, ifMatch: "W/\"2\"")));

        try
        {
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Created], answers.Select(a => a.StatusCode).Order());
            Assert.Equal(Ids(await ReadAsync<Parameters>(answers[0]), "procedure"), Ids(await ReadAsync<Parameters>(answers[1]), "procedure"));
        }
        finally
        {
            Array.ForEach(answers, a => a.Dispose());
        }

        await AssertStoredAsync(scenario, id, procedures: 1, observations: 4);
        Assert.Equal(1, await WriteBacksQueuedAsync(scenario, id));
    }

    private static List<string?> Ids(Parameters answer, string name) => [.. answer.Parameter.Where(p => p.Name == name).Select(p => p.Resource!.Id)];

    private static async Task<HttpResponseMessage> SendAsync(ReferralScenario scenario, string id, string json, string key)
    {
        using var therapist = scenario.AsTherapist();
        using var request = new HttpRequestMessage(HttpMethod.Post, Url($"/api/fhir/Task/{id}/$record-session")) { Content = Body(json) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return await therapist.SendAsync(request, Ct);
    }

    private static async Task AssertStoredAsync(ReferralScenario scenario, string id, int procedures, int observations)
    {
        using var therapist = scenario.AsTherapist();
        Assert.Equal(procedures, (await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Procedure?based-on={id}"), Ct))).Total);
        Assert.Equal(observations, (await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Observation?based-on={id}"), Ct))).Total);
        var task = await ReadAsync<Hl7.Fhir.Model.Task>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal(1 + observations, task.Output.Count);
    }

    /// <summary>
    /// The session write-backs waiting for this referral (nothing polls the queue until then), peeked; then the queue is
    /// drained, so the collection's next test finds it empty.
    /// </summary>
    private async Task<int> WriteBacksQueuedAsync(ReferralScenario scenario, string id)
    {
        var queue = new QueueClient(own.Azurite.ConnectionString, EhrWriteBackRequests.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync(cancellationToken: Ct);
        var peeked = (await queue.PeekMessagesAsync(32, Ct)).Value;
        await scenario.App.Triggers.DrainAsync(TimeSpan.FromSeconds(30), Ct);
        return peeked.Count(m => JsonSerializer.Deserialize<EhrWriteBackMessage>(m.Body.ToString()) is { Kind: EhrWriteBackMessage.SessionKind } message && message.Referral == id);
    }
}

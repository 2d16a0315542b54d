extern alias worker;

using System.Net;
using System.Text.Json;
using Azure.Storage.Queues;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Functions.WriteBack;
using Referral.Tests.Infrastructure;
using worker::Referral.Worker.Triggers;
using worker::Referral.Worker.WriteBack;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>
/// Sessions written back to the EHR (WireMock) by the queue-triggered function, fired by the local trigger runner
/// exactly as the host fires it: with a SMART Backend Services token, retried on failure, and poisoned after the last try.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class EhrWriteBackTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Accepted_then_two_sessions_are_searchable_and_written_back_to_the_EHR_with_a_backend_services_token()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        var settings = new Dictionary<string, string?>(ehr.Settings()) { ["TriggerRunner:Enabled"] = "true", ["TriggerRunner:PollInterval"] = "00:00:00.100" };
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, settings);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();

        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-5)))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-2), painBefore: 4, painAfter: 1))).StatusCode);

        // The runner's own background loop does the work here; the test only waits for its effect.
        await Eventually.Until(() => ehr.Creates("Observation").Count == 8, "The background work did not finish in time.", Deadline);
        using var physician = scenario.AsPhysician();
        var observations = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/Observation?based-on=ServiceRequest/{id}"), Ct));
        Assert.Equal(8, observations.Total);

        var posted = ehr.Creates("Observation");
        Assert.All(posted, p => Assert.Equal($"Bearer {BackendServicesEhr.AccessToken}", p.RequestMessage!.Headers!["Authorization"].Single()));
        var copies = posted.Select(p => FhirJsonDeserializer.STRICT.Deserialize<Observation>(p.RequestMessage!.Body!)).ToList();
        Assert.All(copies, o =>
        {
            Assert.Equal($"Patient/{scenario.Patient}", o.Subject!.Reference);
            Assert.Null(o.Id);
            Assert.Empty(o.PartOf);
            Assert.Equal(EhrWriteBackWork.ObservationIdentifierSystem, o.Identifier.Single().System);
            Assert.Equal("ServiceRequest", o.BasedOn.Single().Type);
        });
        Assert.Equal(observations.Entry.Select(e => e.Resource!.Id).Order(), copies.Select(o => o.Identifier.Single().Value).Order());
        Assert.All(posted, p => Assert.StartsWith("identifier=", p.RequestMessage!.Headers!["If-None-Exist"].Single(), StringComparison.Ordinal));

        // One token served both sessions (cached), and it was asked for with a valid client assertion.
        var assertion = Assert.Single(ehr.ClientAssertions());
        await AssertValidClientAssertionAsync(scenario, ehr, assertion);
        var form = ehr.TokenRequest();
        Assert.Equal("client_credentials", form["grant_type"]);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_assertion_type"]);
        Assert.Equal("system/Observation.c system/DocumentReference.c", form["scope"]);
    }

    [Fact]
    public async Task The_EHR_answering_503_then_201_gets_every_Observation_exactly_once_after_a_backoff_of_one_minute()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates().FailingOnce("/fhir/Observation", "POST", 503);
        var clock = TestClock.Fake();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(), time: clock);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();

        using var recorded = await scenario.RecordSessionAsync(id, Session());
        Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);

        await scenario.App.Triggers.PollQueuesOnceAsync(Ct);
        var writeBack = Queue(own.Azurite, EhrWriteBackRequests.QueueName);
        // The queues are shared by this collection's tests: each looks at its own referral's messages.
        bool Mine(Azure.Storage.Queues.Models.PeekedMessage m) => m.Body.ToString().Contains(id, StringComparison.Ordinal);
        // The API's message has no Attempt: read as attempt 1, its copy is attempt 2, due a minute later by the app's clock.
        var waiting = Assert.Single((await writeBack.PeekMessagesAsync(32, Ct)).Value, Mine);
        var copy = JsonSerializer.Deserialize<EhrWriteBackMessage>(waiting.Body.ToString())!;
        Assert.Equal((2, clock.GetUtcNow() + TimeSpan.FromMinutes(1)), (copy.Attempt, copy.NotBefore));
        Assert.Equal(0, waiting.DequeueCount);
        Assert.Single(ehr.Creates("Observation"));

        // Not due yet: received again, it is put back untried.
        await scenario.App.Triggers.PollQueuesOnceAsync(Ct);
        Assert.Single(ehr.Creates("Observation"));
        Assert.Equal(2, JsonSerializer.Deserialize<EhrWriteBackMessage>(Assert.Single((await writeBack.PeekMessagesAsync(32, Ct)).Value, Mine).Body.ToString())!.Attempt);

        clock.Advance(TimeSpan.FromMinutes(1));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        Assert.True(ehr.Creates("Observation").Count == 5, string.Join("\n", ehr.Creates("Observation").Select(e => $"{e.ResponseMessage?.StatusCode} {e.RequestMessage!.Body}")));
        Assert.Equal(4, ehr.Creates("Observation").Skip(1).Select(p => FhirJsonDeserializer.STRICT.Deserialize<Observation>(p.RequestMessage!.Body!).Identifier.Single().Value).Distinct().Count());
        Assert.DoesNotContain((await writeBack.PeekMessagesAsync(32, Ct)).Value, Mine);
        Assert.DoesNotContain((await Queue(own.Azurite, EhrWriteBackRequests.QueueName + "-poison").PeekMessagesAsync(32, Ct)).Value, Mine);

        // Delivered again in the shape of the release before Attempt and Schema (as a host may after a lost
        // acknowledgement): read, and nothing is posted twice.
        await writeBack.SendMessageAsync($$"""{"Kind":"session","Referral":"{{id}}","Session":1}""", Ct);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        Assert.Equal(5, ehr.Creates("Observation").Count);
        Assert.DoesNotContain((await writeBack.PeekMessagesAsync(32, Ct)).Value, Mine);
    }

    [Theory]
    [InlineData("/auth/token", "POST", 429)]
    [InlineData("/auth/token", "POST", 503)]
    [InlineData("/fhir/.well-known/smart-configuration", "GET", 503)]
    [InlineData("/fhir/Observation", "POST", 408)]
    [InlineData("/fhir/Observation", "POST", 429)]
    public async Task A_failure_that_may_pass_at_the_token_endpoint_the_SMART_configuration_or_a_create_is_tried_again_a_minute_later_and_every_Observation_is_written_once(
        string path, string method, int status)
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates().FailingOnce(path, method, status);
        var clock = TestClock.Fake();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(), time: clock);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var recorded = await scenario.RecordSessionAsync(id, Session());
        Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);

        await scenario.App.Triggers.PollQueuesOnceAsync(Ct);
        var copy = JsonSerializer.Deserialize<EhrWriteBackMessage>(Assert.Single(await own.MessagesNamingAsync(EhrWriteBackRequests.QueueName, id)))!;
        Assert.Equal((2, clock.GetUtcNow() + TimeSpan.FromMinutes(1)), (copy.Attempt, copy.NotBefore));

        clock.Advance(TimeSpan.FromMinutes(1));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var written = ehr.Creates("Observation").Where(e => e.ResponseMessage?.StatusCode is 201).ToList();
        Assert.Equal(4, written.Select(p => FhirJsonDeserializer.STRICT.Deserialize<Observation>(p.RequestMessage!.Body!).Identifier.Single().Value).Distinct().Count());
        Assert.Equal(4, written.Count);
        Assert.Empty(await own.MessagesNamingAsync(EhrWriteBackRequests.QueueName, id));
        Assert.Empty(await own.MessagesNamingAsync(EhrWriteBackRequests.QueueName + "-poison", id));
    }

    [Fact]
    public async Task An_EHR_that_does_not_answer_a_create_in_time_gets_it_again_after_a_backoff_and_every_Observation_once()
    {
        using var ehr = new BackendServicesEhr().SilentOnceThenAccepting(out var held);
        var clock = TestClock.Fake();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(), time: clock);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var recorded = await scenario.RecordSessionAsync(id, Session());
        Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);

        // The write-back's create waits on the app's clock: once the EHR holds it, the clock passes the timeout.
        var polling = scenario.App.Triggers.PollQueuesOnceAsync(Ct);
        await held.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        clock.Advance(EhrWriteBackFunction.Timeout + TimeSpan.FromSeconds(1));
        await polling;

        // Timed out counts as a failure that may pass: a copy, attempt 2, due a minute later by the app's clock.
        var writeBack = Queue(own.Azurite, EhrWriteBackRequests.QueueName);
        bool Mine(Azure.Storage.Queues.Models.PeekedMessage m) => m.Body.ToString().Contains(id, StringComparison.Ordinal);
        var copy = JsonSerializer.Deserialize<EhrWriteBackMessage>(Assert.Single((await writeBack.PeekMessagesAsync(32, Ct)).Value, Mine).Body.ToString())!;
        Assert.Equal((2, clock.GetUtcNow() + TimeSpan.FromMinutes(1)), (copy.Attempt, copy.NotBefore));

        clock.Advance(TimeSpan.FromMinutes(1));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        // The held create is logged only once the EHR lets it go: what the log holds now are the answered ones.
        var written = ehr.Creates("Observation").Where(e => e.ResponseMessage?.StatusCode is 201).ToList();
        Assert.True(written.Count == 4, string.Join("\n", ehr.Creates("Observation").Select(e => $"{e.ResponseMessage?.StatusCode} {e.RequestMessage!.Body}")));
        Assert.Equal(4, written.Select(p => FhirJsonDeserializer.STRICT.Deserialize<Observation>(p.RequestMessage!.Body!).Identifier.Single().Value).Distinct().Count());
        Assert.DoesNotContain((await writeBack.PeekMessagesAsync(32, Ct)).Value, Mine);
        Assert.DoesNotContain((await Queue(own.Azurite, EhrWriteBackRequests.QueueName + "-poison").PeekMessagesAsync(32, Ct)).Value, Mine);
    }

    [Fact]
    public async Task An_EHR_down_for_an_hour_by_the_clock_gets_every_Observation_exactly_once_after_it_and_nothing_is_poisoned()
    {
        var clock = TestClock.Fake();
        using var ehr = new BackendServicesEhr().DownUntil(clock, clock.GetUtcNow().AddHours(1));
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(), time: clock);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(clock.GetUtcNow().AddHours(-5)))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(clock.GetUtcNow().AddHours(-2), painBefore: 4, painAfter: 1))).StatusCode);

        bool Mine(Azure.Storage.Queues.Models.PeekedMessage m) => m.Body.ToString().Contains(id, StringComparison.Ordinal);
        var writeBack = Queue(own.Azurite, EhrWriteBackRequests.QueueName);
        var poison = Queue(own.Azurite, EhrWriteBackRequests.QueueName + "-poison");
        IReadOnlyList<WireMock.Logging.ILogEntry> Written() => [.. ehr.Creates("Observation").Where(e => e.ResponseMessage?.StatusCode is 201)];

        // Five minutes of the clock per step, for up to two hours: the host's own retries (2.5 minutes) would have
        // poisoned every message in the first step.
        for (var step = 0; step < 24 && (Written().Count < 8 || (await writeBack.PeekMessagesAsync(32, Ct)).Value.Any(Mine)); step++)
        {
            await scenario.App.Triggers.PollQueuesOnceAsync(Ct);
            Assert.DoesNotContain((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);
            clock.Advance(TimeSpan.FromMinutes(5));
        }

        var failed = ehr.Creates("Observation").Count - Written().Count;
        Assert.InRange(failed, 2 * 5, 2 * 8);
        Assert.Equal(8, Written().Count);
        Assert.Equal(8, Written().Select(p => FhirJsonDeserializer.STRICT.Deserialize<Observation>(p.RequestMessage!.Body!).Identifier.Single().Value).Distinct().Count());
        Assert.DoesNotContain((await writeBack.PeekMessagesAsync(32, Ct)).Value, Mine);
        Assert.DoesNotContain((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);
    }

    [Fact]
    public async Task An_EHR_that_always_fails_leaves_the_message_in_the_poison_queue_after_the_backoff_horizon_and_the_referral_intact()
    {
        using var ehr = new BackendServicesEhr().AlwaysFailing();
        var clock = TestClock.Fake();
        // A ten-minute horizon: tries after 1, 2 and 4 minutes of backoff; the next (8 more) would pass it.
        var settings = new Dictionary<string, string?>(ehr.Settings()) { ["Retries:Horizon"] = "00:10:00" };
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, settings, time: clock);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();

        using var recorded = await scenario.RecordSessionAsync(id, Session());
        Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);
        bool Mine(Azure.Storage.Queues.Models.PeekedMessage m) => JsonSerializer.Deserialize<EhrWriteBackMessage>(m.Body.ToString())!.Referral == id;
        var poison = Queue(own.Azurite, EhrWriteBackRequests.QueueName + "-poison");
        // Each poll is one try of a due message (the notification of the submit is handled on the first one too).
        for (var minute = 0; minute < 30 && !(await poison.PeekMessagesAsync(32, Ct)).Value.Any(Mine); minute++)
        {
            await scenario.App.Triggers.PollQueuesOnceAsync(Ct);
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        // Three tries with backoff, then the host's five of the last copy.
        Assert.Equal(3 + 5, ehr.Creates("Observation").Count);
        Assert.DoesNotContain((await Queue(own.Azurite, EhrWriteBackRequests.QueueName).PeekMessagesAsync(32, Ct)).Value, m => m.Body.ToString().Contains(id, StringComparison.Ordinal));
        var poisoned = Assert.Single((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);
        Assert.Equal(4, JsonSerializer.Deserialize<EhrWriteBackMessage>(poisoned.Body.ToString())!.Attempt);

        using var therapist = scenario.AsTherapist();
        var task = await ReadAsync<Hl7.Fhir.Model.Task>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal("5.1.4", task.BusinessStatus!.Coding.Single().Code);
        Assert.Equal(4, (await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Observation?based-on={id}"), Ct))).Total);
    }

    [Fact]
    public async Task A_poison_message_is_listed_and_replayed_by_the_operator_command_and_its_Observations_are_then_written_once()
    {
        var clock = TestClock.Fake();
        using var ehr = new BackendServicesEhr().DownUntil(clock, clock.GetUtcNow().AddMinutes(30));
        await using var scenario = WithoutBackoff(ehr, clock);
        var id = await PoisonOneSessionAsync(scenario);

        bool Mine(Azure.Storage.Queues.Models.PeekedMessage m) => m.Body.ToString().Contains(id, StringComparison.Ordinal);
        var writeBack = Queue(own.Azurite, EhrWriteBackRequests.QueueName);
        var poison = Queue(own.Azurite, EhrWriteBackRequests.QueueName + "-poison");
        var poisoned = Assert.Single((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);
        Assert.Equal(5, ehr.Creates("Observation").Count);

        using var listing = new StringWriter();
        Assert.Equal(0, await PoisonCommand.RunAsync([PoisonCommand.Verb, "--account", own.Azurite.ConnectionString], listing, Ct));
        Assert.Contains($"ehr-writeback-poison\t{poisoned.MessageId}\t", listing.ToString(), StringComparison.Ordinal);
        Assert.Contains($"session\t{id}\tattempt 1", listing.ToString(), StringComparison.Ordinal);
        Assert.Single((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);

        // The EHR is back; the operator replays this one message (other tests' poison stays where it is).
        clock.Advance(TimeSpan.FromHours(1));
        using var replay = new StringWriter();
        Assert.Equal(0, await PoisonCommand.RunAsync([PoisonCommand.Verb, "--account", own.Azurite.ConnectionString, "--replay", "--message", poisoned.MessageId], replay, Ct));
        Assert.Contains("Replayed 1 message(s).", replay.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);

        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        var written = ehr.Creates("Observation").Where(e => e.ResponseMessage?.StatusCode is 201).ToList();
        Assert.Equal(4, written.Count);
        Assert.Equal(4, written.Select(p => FhirJsonDeserializer.STRICT.Deserialize<Observation>(p.RequestMessage!.Body!).Identifier.Single().Value).Distinct().Count());
        Assert.DoesNotContain((await writeBack.PeekMessagesAsync(32, Ct)).Value, Mine);
        Assert.DoesNotContain((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);
    }

    [Fact]
    public async Task A_replayed_message_that_was_poisoned_in_its_backoff_goes_back_as_a_first_attempt_due_now_with_its_content_and_trace()
    {
        var referral = $"t-replay.{Guid.NewGuid().ToString("N")[..20]}";
        var poisoned = new EhrWriteBackMessage(EhrWriteBackMessage.SessionKind, referral, 3)
        {
            Attempt = 4,
            NotBefore = TestClock.Now.AddMinutes(8),
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            Schema = 1,
        };
        var poison = Queue(own.Azurite, EhrWriteBackRequests.QueueName + "-poison");
        await poison.CreateIfNotExistsAsync(cancellationToken: Ct);
        var sent = (await poison.SendMessageAsync(JsonSerializer.Serialize(poisoned), Ct)).Value;

        using var replay = new StringWriter();
        Assert.Equal(0, await PoisonCommand.RunAsync([PoisonCommand.Verb, "--account", own.Azurite.ConnectionString, "--replay", "--message", sent.MessageId], replay, Ct));

        var writeBack = Queue(own.Azurite, EhrWriteBackRequests.QueueName);
        var replayed = Assert.Single((await writeBack.PeekMessagesAsync(32, Ct)).Value, m => m.Body.ToString().Contains(referral, StringComparison.Ordinal));
        var copy = JsonSerializer.Deserialize<EhrWriteBackMessage>(replayed.Body.ToString())!;
        Assert.Equal(poisoned with { Attempt = null, NotBefore = null }, copy);
        // Nothing of this test is left for the next one's runner (the collection's tests run one at a time).
        await writeBack.ClearMessagesAsync(Ct);
    }

    [Fact]
    public async Task A_poison_message_is_moved_to_the_archive_table_before_the_platform_deletes_it_and_is_replayed_from_there_once()
    {
        var clock = TestClock.Fake();
        using var ehr = new BackendServicesEhr().DownUntil(clock, clock.GetUtcNow().AddMinutes(30));
        await using var scenario = WithoutBackoff(ehr, clock);
        var id = await PoisonOneSessionAsync(scenario);

        bool Mine(Azure.Storage.Queues.Models.PeekedMessage m) => m.Body.ToString().Contains(id, StringComparison.Ordinal);
        var poison = Queue(own.Azurite, EhrWriteBackRequests.QueueName + "-poison");
        var poisoned = Assert.Single((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);

        // The hourly archive: out of the queue (and its 7-day expiry), into the table the backups copy.
        var archive = ActivatorUtilities.CreateInstance<PoisonArchiveFunction>(scenario.App.WorkerServices);
        await archive.RunAsync(new Microsoft.Azure.Functions.Worker.TimerInfo(), Ct);
        Assert.DoesNotContain((await poison.PeekMessagesAsync(32, Ct)).Value, Mine);
        var table = new Azure.Data.Tables.TableClient(own.Azurite.ConnectionString, PoisonArchiveFunction.TableName);
        var row = (await table.GetEntityAsync<Azure.Data.Tables.TableEntity>(poison.Name, poisoned.MessageId, cancellationToken: Ct)).Value;
        Assert.Equal(poisoned.Body.ToString(), System.Text.Encoding.UTF8.GetString(row.GetBinary("Body")));
        Assert.Equal(clock.GetUtcNow(), row.GetDateTimeOffset("ArchivedAt"));

        // Run again (as after a run cut short): the same row, no second copy.
        await archive.RunAsync(new Microsoft.Azure.Functions.Worker.TimerInfo(), Ct);
        Assert.Single(table.Query<Azure.Data.Tables.TableEntity>(r => r.RowKey == poisoned.MessageId, cancellationToken: Ct));

        using var listing = new StringWriter();
        Assert.Equal(0, await PoisonCommand.RunAsync([PoisonCommand.Verb, "--account", own.Azurite.ConnectionString], listing, Ct));
        Assert.Contains($"ehr-writeback-poison\t{poisoned.MessageId}\t", listing.ToString(), StringComparison.Ordinal);
        Assert.Contains($"session\t{id}\tattempt 1\tarchived", listing.ToString(), StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromHours(1));
        using var replay = new StringWriter();
        Assert.Equal(0, await PoisonCommand.RunAsync([PoisonCommand.Verb, "--account", own.Azurite.ConnectionString, "--replay", "--message", poisoned.MessageId], replay, Ct));
        Assert.Contains("Replayed 1 message(s).", replay.ToString(), StringComparison.Ordinal);
        Assert.Empty(table.Query<Azure.Data.Tables.TableEntity>(r => r.RowKey == poisoned.MessageId, cancellationToken: Ct));

        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        var written = ehr.Creates("Observation").Where(e => e.ResponseMessage?.StatusCode is 201).ToList();
        Assert.Equal(4, written.Count);
        Assert.Equal(4, written.Select(p => FhirJsonDeserializer.STRICT.Deserialize<Observation>(p.RequestMessage!.Body!).Identifier.Single().Value).Distinct().Count());
    }

    /// <summary>A scenario whose write-back gets no backoff (a zero horizon): a failure takes the host's five tries and then poison, as one past the horizon does.</summary>
    private ReferralScenario WithoutBackoff(BackendServicesEhr ehr, TimeProvider clock) =>
        new(own.Azurite, identity, ehr.FhirBase, new Dictionary<string, string?>(ehr.Settings()) { ["Retries:Horizon"] = "00:00:00" }, time: clock);

    /// <summary>Submits, accepts and records a session while the EHR is down, then polls the host's five tries: its write-back ends in poison. The referral's id.</summary>
    private static async Task<string> PoisonOneSessionAsync(ReferralScenario scenario)
    {
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session())).StatusCode);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await scenario.App.Triggers.PollQueuesOnceAsync(Ct);
        }

        return id;
    }

    [Fact]
    public async Task The_ServiceRequest_is_created_in_the_EHR_once_where_the_registration_allows_it_and_Observations_point_to_it()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(writeServiceRequest: true));
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        await scenario.RecordSessionAsync(id, Session());
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var request = FhirJsonDeserializer.STRICT.Deserialize<ServiceRequest>(Assert.Single(ehr.Creates("ServiceRequest")).RequestMessage!.Body!);
        Assert.Null(request.Id);
        Assert.Null(request.Performer.Single().Reference);
        Assert.Equal("system/Observation.c system/DocumentReference.c system/ServiceRequest.c", ehr.TokenRequest()["scope"]);
        Assert.All(ehr.Creates("Observation"), p =>
            Assert.Equal("ServiceRequest/ehr-servicerequest-1", FhirJsonDeserializer.STRICT.Deserialize<Observation>(p.RequestMessage!.Body!).BasedOn.Single().Reference));
    }

    [Fact]
    public async Task The_backend_services_JWKS_publishes_the_current_and_next_RS384_keys()
    {
        await using var app = new FunctionsApp(own.Azurite.ConnectionString, identity);
        using var client = app.CreateClient();

        using var response = await client.GetAsync(Url("/api/backend/jwks.json"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var keys = new JsonWebKeySet(await response.Content.ReadAsStringAsync(Ct)).Keys;
        Assert.Equal(2, keys.Count);
        Assert.All(keys, k => Assert.Equal(("RSA", "RS384", "sig"), (k.Kty, k.Alg, k.Use)));
        Assert.All(keys, k => Assert.Null(k.D));
        Assert.NotEqual(keys[0].Kid, keys[1].Kid);
    }

    private static async Task AssertValidClientAssertionAsync(ReferralScenario scenario, BackendServicesEhr ehr, string assertion)
    {
        using var client = scenario.App.CreateClient();
        var jwks = new JsonWebKeySet(await client.GetStringAsync(Url("/api/backend/jwks.json"), Ct));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            ValidIssuer = BackendServicesEhr.ClientId,
            ValidAudience = ehr.TokenEndpoint,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = [SecurityAlgorithms.RsaSha384],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            LifetimeValidator = TestClock.Lifetime(scenario.Time),
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.Equal(BackendServicesEhr.ClientId, jwt.Subject);
        Assert.Equal(jwks.Keys[0].Kid, jwt.Kid);
        Assert.False(string.IsNullOrEmpty(jwt.Id));
        Assert.True(jwt.ValidTo - jwt.IssuedAt <= TimeSpan.FromMinutes(5));
    }

    private static QueueClient Queue(AzuriteFixture azurite, string name)
    {
        var queue = new QueueClient(azurite.ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        queue.CreateIfNotExists(cancellationToken: Ct);
        return queue;
    }
}

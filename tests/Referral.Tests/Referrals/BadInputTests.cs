using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Hl7.Fhir.Model;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

[CollectionDefinition(nameof(StorageSnapshot), DisableParallelization = true)]
public sealed class StorageSnapshot;

/// <summary>
/// Bad input of every kind: each gets a 4xx OperationOutcome, never a 500, and leaves storage as it was.
/// The class runs alone so that counting every row and message in storage is a fair test of "nothing written".
/// </summary>
[Collection(nameof(StorageSnapshot))]
public sealed class BadInputTests(AzuriteFixture azurite, SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    public enum Caller
    {
        Physician,
        Therapist,
    }

    /// <summary>One bad request: how to make it from a valid referral's JSON, and what the answer must name.</summary>
    public sealed record BadRequest(string Name, HttpMethod Method, string Path, Caller Caller, Func<string, HttpContent?> Body, int? Status = null, string? Expression = null)
    {
        public override string ToString() => Name;
    }

    private static StringContent Json(string json) => Body(json);

    private static Func<string, HttpContent?> Mutate(Action<JsonObject> change) => valid => Json(Changed(valid, change));

    private static string Changed(string valid, Action<JsonObject> change)
    {
        var node = JsonNode.Parse(valid)!.AsObject();
        change(node);
        return node.ToJsonString();
    }

    private static Func<string, HttpContent?> Raw(string text) => _ => Json(text);

    private static BadRequest Submit(string name, Func<string, HttpContent?> body, int? status = null, string? expression = null) =>
        new(name, HttpMethod.Post, "/api/fhir/ServiceRequest", Caller.Physician, body, status, expression);

    private static BadRequest Batch(string name, Func<string, HttpContent?> body, int status, string? expression = null) =>
        new(name, HttpMethod.Post, "/api/fhir", Caller.Physician, body, status, expression);

    /// <summary>A Bundle of <paramref name="type"/> at the base, its entries creating the valid referral (what a batch may not do).</summary>
    private static Func<string, HttpContent?> Bundled(Bundle.BundleType type, int entries) => valid => Json(Referral.Model.Fhir.FhirJson.Serialize(new Bundle
    {
        Type = type,
        Entry = [.. Enumerable.Range(0, entries).Select(i => new Bundle.EntryComponent
        {
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "ServiceRequest" },
            Resource = Referral.Model.Fhir.FhirJson.TryParse(valid, out var resource, out _) ? resource : null,
        })],
    }));

    private static BadRequest Get(string name, string path, Caller caller = Caller.Physician, string? expression = null) =>
        new(name, HttpMethod.Get, path, caller, _ => null, 400, expression);

    /// <summary>A resource or data type as Firely serializes it, as a JSON node to put into a referral's JSON.</summary>
    private static JsonNode Node(Base value) => value is Resource resource
        ? JsonNode.Parse(Referral.Model.Fhir.FhirJson.Serialize(resource))!
        // A data type is serialized as an extension's value[x], and taken out of it.
        : JsonNode.Parse(Referral.Model.Fhir.FhirJson.Serialize(new Basic { Extension = [new Extension("urn:x", (DataType)value)] }))!["extension"]![0]!
            .AsObject().Single(p => p.Key.StartsWith("value", StringComparison.Ordinal)).Value!.DeepClone();

    public static TheoryData<BadRequest> Requests() =>
    [
        // Malformed JSON.
        Submit("truncated object", Raw("{"), 400),
        Submit("empty body", Raw(""), 400),
        Submit("a JSON array", Raw("[]"), 400),
        Submit("JSON null", Raw("null"), 400),
        Submit("cut off mid-element", Raw("{\"resourceType\":\"ServiceRequest\",\"status\":"), 400),
        Submit("bytes that are not UTF-8", _ => new ByteArrayContent([0x7b, 0xff, 0xfe, 0x7d]) { Headers = { ContentType = new MediaTypeHeaderValue("application/fhir+json") } }, 400),
        Submit("not JSON at all", Raw("resourceType=ServiceRequest"), 400),
        // Wrong resource type.
        Submit("a Patient instead", Raw("{\"resourceType\":\"Patient\",\"id\":\"p1\"}"), 400, "Patient"),
        Submit("a Task instead", Raw("{\"resourceType\":\"Task\",\"status\":\"requested\",\"intent\":\"order\"}"), 400),
        Submit("an unknown resource type", Mutate(j => j["resourceType"] = "MassageOrder"), 400),
        Submit("no resourceType", Mutate(j => j.Remove("resourceType")), 400),
        // Missing elements.
        Submit("no subject", Mutate(j => j.Remove("subject")), 400),
        Submit("no requester", Mutate(j => j.Remove("requester")), 422, "ServiceRequest.requester"),
        Submit("no code", Mutate(j => j.Remove("code")), 422, "ServiceRequest.code"),
        Submit("no body site", Mutate(j => j.Remove("bodySite")), 422, "ServiceRequest.bodySite"),
        Submit("no diagnosis", Mutate(j => j.Remove("reasonCode")), 422),
        Submit("no therapist", Mutate(j => j.Remove("performer")), 422, "ServiceRequest.performer"),
        Submit("no placer identifier", Mutate(j => j.Remove("identifier")), 422, "ServiceRequest.identifier"),
        Submit("no timing", Mutate(j => j.Remove("occurrenceTiming")), 422),
        Submit("no status", Mutate(j => j.Remove("status")), 400),
        Submit("no intent", Mutate(j => j.Remove("intent")), 400),
        // Unknown elements.
        Submit("an unknown root element", Mutate(j => j["massagePressure"] = "firm"), 400),
        Submit("an unknown element in a body site", Mutate(j => j["bodySite"]![0]!.AsObject()["side"] = "left"), 400),
        // Wrong types.
        Submit("status as a number", Mutate(j => j["status"] = 5), 400),
        Submit("bodySite as an object", Mutate(j => j["bodySite"] = new JsonObject { ["text"] = "wrist" }), 400),
        Submit("timing as a string", Mutate(j => j["occurrenceTiming"] = "weekly"), 400),
        Submit("authoredOn not a date", Mutate(j => j["authoredOn"] = "yesterday"), 400),
        // Wrong codes and values.
        Submit("an unknown diagnosis code", Mutate(j => j["reasonCode"]![0]!["coding"]![0]!["code"] = "Z99.999"), 422),
        Submit("an unknown body site code", Mutate(j => j["bodySite"]![0]!["coding"]![0]!["code"] = "123"), 422),
        Submit("status draft", Mutate(j => j["status"] = "draft"), 422, "ServiceRequest.status"),
        Submit("intent plan", Mutate(j => j["intent"] = "plan"), 422, "ServiceRequest.intent"),
        Submit("status not a code of its value set", Mutate(j => j["status"] = "sent"), 400),
        Submit("no sessions (count 0 is no positiveInt)", Mutate(j => j["occurrenceTiming"]!["repeat"]!["count"] = 0), 400),
        Submit("53 sessions", Mutate(j => j["occurrenceTiming"]!["repeat"]!["count"] = 53), 422),
        Submit("a therapist who is not registered", Mutate(j => j["performer"]![0]!["reference"] = "PractitionerRole/nobody"), 422, "ServiceRequest.performer[0]"),
        // Size.
        Submit("a body over the limit", Mutate(j => j["note"]![0]!["text"] = new string('x', 70_000)), 413),
        // Markup in free text.
        Submit("a script in the note", Mutate(j => j["note"]![0]!["text"] = "<script>alert(1)</script>"), 422, "ServiceRequest.note[0].text"),
        Submit("an image tag in the patient instruction", Mutate(j => j["patientInstruction"] = "<img src=x onerror=alert(1)>"), 422, "ServiceRequest.patientInstruction"),
        Submit("a narrative with a script", Mutate(j => j["text"] = new JsonObject { ["status"] = "generated", ["div"] = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></div>" }), null),
        // FHIR's string rules: no control characters but tab, CR and LF, escaped (\u0007) or raw (not even JSON).
        Submit("a NUL in the note", Mutate(j => j["note"]![0]!["text"] = "Numb\u0000ness"), 422, "ServiceRequest.note[0].text"),
        Submit("a BEL in the note", Mutate(j => j["note"]![0]!["text"] = "Numb\u0007ness"), 422, "ServiceRequest.note[0].text"),
        Submit("an ESC in the contained coverage's payor", Mutate(j => j["contained"]![0]!["payor"]![0]!["display"] = "State\u001b[31mFund"), 422,
            "ServiceRequest.contained[0].payor[0].display"),
        Submit("an ESC in a body site's text", Mutate(j => j["bodySite"]![0]!["text"] = "\u001b[2Jwrist"), 422, "ServiceRequest.bodySite[0].text"),
        Submit("a raw BEL in the note (not JSON)", valid => Json(Changed(valid, j => j["note"]![0]!["text"] = "Numb\u0007ness")
            .Replace("\\u0007", "\u0007", StringComparison.Ordinal)), 400),
        // A FHIR batch at the base that is no batch at all: refused whole, nothing run.
        Batch("a batch that is not JSON", Raw("{\"resourceType\":\"Bundle\","), 400),
        Batch("a referral posted to the base", valid => Json(valid), 400, "ServiceRequest"),
        Batch("a transaction creating the referral", Bundled(Bundle.BundleType.Transaction, 1), 400, "Bundle.type"),
        Batch("a batch of eleven entries", Bundled(Bundle.BundleType.Batch, 11), 400, "Bundle.entry"),
        Batch("a batch with an unknown element", Raw("{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entries\":[]}"), 400),
        Submit("half a surrogate pair in the note", valid => Json(valid.Replace("Night-time numbness.", "\\ud800", StringComparison.Ordinal)), 400),
        // FHIR's invariants on contained resources and the profile's one Coverage.
        Submit("an unreferenced contained Patient with a script", Mutate(j => j["contained"]!.AsArray().Add(Node(new Patient
        {
            Id = "evil",
            Name = [new HumanName { Text = "<script>alert(1)</script>" }],
        }))), 422, "ServiceRequest.contained[1]"),
        Submit("an unreferenced contained Patient with a script in its narrative (Firely's parser refuses the script)", Mutate(j => j["contained"]!.AsArray().Add(Node(new Patient
        {
            Id = "evil",
            Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></div>" },
        }))), 400),
        Submit("a referenced contained Patient (the profile allows only the Coverage)", Mutate(j =>
        {
            j["contained"]!.AsArray().Add(Node(new Patient { Id = "p" }));
            j["supportingInfo"] = new JsonArray(Node(new ResourceReference("#p")));
        }), 422, "ServiceRequest.contained[1]"),
        Submit("a contained resource inside the contained Coverage (dom-2; Firely's parser refuses it)",
            Mutate(j => j["contained"]![0]!["contained"] = new JsonArray(Node(new Organization { Id = "o" }))), 400),
        Submit("a contained Coverage with a versionId (dom-4)", Mutate(j => j["contained"]![0]!["meta"] = Node(new Meta { VersionId = "7" })), 422, "ServiceRequest.contained[0].meta"),
        Submit("a contained Coverage with a security label (dom-5)", Mutate(j => j["contained"]![0]!["meta"] = Node(new Meta
        {
            Security = [new Coding("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")],
        })), 422, "ServiceRequest.contained[0].meta.security"),
        Submit("the Coverage no longer referenced by insurance (dom-3)", Mutate(j => j.Remove("insurance")), 422, "ServiceRequest.contained[0]"),
        // Who may send.
        new BadRequest("a therapist sending a referral", HttpMethod.Post, "/api/fhir/ServiceRequest", Caller.Therapist, Json, 403),
        Submit("a requester who is not the signed-in physician", Mutate(j => j["requester"]!["reference"] = "Practitioner/someone-else"), 403),
        Submit("a patient other than the launched one", Mutate(j => j["subject"]!["reference"] = "Patient/someone-else"), 403),
        Submit("text/plain", valid => new StringContent(valid, Encoding.UTF8, "text/plain"), 415),
        // OData and path characters in search values and ids.
        Get("OData in patient", "/api/fhir/ServiceRequest?patient=x%27%20or%20%271%27%20eq%20%271", expression: "patient"),
        Get("OData in requester", "/api/fhir/ServiceRequest?requester=Practitioner/a%27b", expression: "requester"),
        Get("OData in status", "/api/fhir/ServiceRequest?status=active%27%20or%20%27x", expression: "status"),
        Get("OData in owner", "/api/fhir/Task?owner=a%27%20or%20PartitionKey%20ne%20%27b", Caller.Therapist, "owner"),
        Get("a count that is not a number", "/api/fhir/Task?_count=1;drop", Caller.Therapist, "_count"),
        // An unknown search parameter is ignored unless the client asks for strict handling: FhirInteractionTests.
        Get("a quote in an id", "/api/fhir/ServiceRequest/a%27b", expression: "id"),
        Get("a backslash in an id", "/api/fhir/Task/a%5Cb", Caller.Therapist, "id"),
        Get("an encoded slash in an id", "/api/fhir/ServiceRequest/..%2F..%2Fsecrets", expression: "id"),
        new BadRequest("path characters in an operation's id", HttpMethod.Post, "/api/fhir/Task/..%2Fx/$accept", Caller.Therapist, _ => null, 400, "id"),
        // Every address with an {id} checks it before its handler runs (FhirIds.ValidatesId).
        Get("a quote in a ServiceRequest vread's id", "/api/fhir/ServiceRequest/a%27b/_history/1", expression: "id"),
        Get("a quote in a Task vread's id", "/api/fhir/Task/a%27b/_history/1", Caller.Therapist, "id"),
        Get("a quote in a Task history's id", "/api/fhir/Task/a%27b/_history", Caller.Therapist, "id"),
        new BadRequest("path characters in $record-session's id", HttpMethod.Post, "/api/fhir/Task/..%2Fx/$record-session", Caller.Therapist, _ => null, 400, "id"),
        new BadRequest("path characters in $message's id", HttpMethod.Post, "/api/fhir/Task/..%2Fx/$message", Caller.Therapist, _ => null, 400, "id"),
        new BadRequest("path characters in $request-renewal's id", HttpMethod.Post, "/api/fhir/Task/..%2Fx/$request-renewal", Caller.Therapist, _ => null, 400, "id"),
        new BadRequest("path characters in $approve-renewal's id", HttpMethod.Post, "/api/fhir/Task/..%2Fx/$approve-renewal", Caller.Physician, _ => null, 400, "id"),
        new BadRequest("path characters in $decline-renewal's id", HttpMethod.Post, "/api/fhir/Task/..%2Fx/$decline-renewal", Caller.Physician, _ => null, 400, "id"),
        new BadRequest("an operation that does not exist", HttpMethod.Post, "/api/fhir/Task/abc.def/$approve", Caller.Therapist, _ => null, 404),
        // Operation bodies.
        new BadRequest("a Patient as the operation's Parameters", HttpMethod.Post, "/api/fhir/Task/abc.def/$decline", Caller.Therapist, Raw("{\"resourceType\":\"Patient\"}"), 400),
        new BadRequest("an unknown operation parameter", HttpMethod.Post, "/api/fhir/Task/abc.def/$decline", Caller.Therapist,
            _ => Body(new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "priority", Value = new FhirString("high") }] }), 400),
        new BadRequest("a script as the decline reason", HttpMethod.Post, "/api/fhir/Task/abc.def/$decline", Caller.Therapist,
            _ => Body(Reason("<script>alert(1)</script>")), 400),
        new BadRequest("a NUL in the decline reason", HttpMethod.Post, "/api/fhir/Task/abc.def/$decline", Caller.Therapist,
            _ => Body(Reason("No\u0000room")), 400, "Parameters.parameter.where(name='reason').value"),
    ];

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Bad_input_gets_a_4xx_OperationOutcome_and_leaves_storage_unchanged(BadRequest badInput)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var before = await SnapshotAsync(azurite.ConnectionString, ct);

        using var client = badInput.Caller == Caller.Physician ? scenario.AsPhysician() : scenario.AsTherapist();
        using var request = new HttpRequestMessage(badInput.Method, new Uri(badInput.Path, UriKind.Relative))
        {
            Content = badInput.Body(ReferralScenario.Json(scenario.Draft())),
        };
        using var response = await client.SendAsync(request, ct);

        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{badInput.Name}: expected a 4xx, got {status}.");
        if (badInput.Status is { } expected)
        {
            Assert.Equal(expected, status);
        }

        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var outcome = await ReadAsync<OperationOutcome>(response);
        Assert.NotEmpty(outcome.Issue);
        if (badInput.Expression is not null)
        {
            Assert.Contains(badInput.Expression, outcome.Issue.SelectMany(i => i.Expression));
        }

        Assert.Equal(before, await SnapshotAsync(azurite.ConnectionString, ct));
    }

    [Fact]
    public async Task A_batch_entry_that_would_create_a_referral_is_refused_alone_and_stores_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var before = await SnapshotAsync(azurite.ConnectionString, ct);
        using var physician = scenario.AsPhysician();

        using var response = await physician.PostAsync(Url("/api/fhir"), Bundled(Bundle.BundleType.Batch, 1)(ReferralScenario.Json(scenario.Draft())), ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("405 Method Not Allowed", (await ReadAsync<Bundle>(response)).Entry.Single().Response!.Status);
        Assert.Equal(before, await SnapshotAsync(azurite.ConnectionString, ct));
    }

    [Fact]
    public void The_suite_has_at_least_forty_bad_requests() => Assert.True(Requests().Count >= 40);

    /// <summary>Every referral row, index row, queued notification and queued EHR write-back, counted.</summary>
    internal static async Task<(int Referrals, int Index, int Queued)> SnapshotAsync(string connectionString, CancellationToken ct)
    {
        async Task<int> CountAsync(string table)
        {
            var client = new TableClient(connectionString, table);
            await client.CreateIfNotExistsAsync(ct);
            var count = 0;
            await foreach (var _ in client.QueryAsync<TableEntity>(select: ["PartitionKey"], cancellationToken: ct))
            {
                count++;
            }

            return count;
        }

        async Task<int> QueuedAsync(string name)
        {
            var queue = new QueueClient(connectionString, name);
            await queue.CreateIfNotExistsAsync(cancellationToken: ct);
            return (await queue.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount;
        }

        return (await CountAsync(ReferralStore.TableName), await CountAsync(ReferralStore.IndexTableName),
            await QueuedAsync(ReferralNotifications.QueueName) + await QueuedAsync(Referral.Functions.WriteBack.EhrWriteBackRequests.QueueName));
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Referral.Model.Fhir;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

/// <summary>
/// FHIR's batch interaction at the API's base: reads, searches and $validate in one call, each entry authorized,
/// audited and answered as a call of its own would be; changes and transactions refused, each naming what is wrong.
/// </summary>
public sealed class BatchTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static FhirClient Firely(HttpClient http) =>
        new(new Uri(http.BaseAddress!, "/api/fhir"), http, new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false });

    [Fact]
    public async Task Firelys_client_sends_a_search_a_read_and_a_validate_in_one_batch_and_each_entry_is_answered_as_its_own_call()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var sent = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        var draft = Parsed(Json(scenario.Draft()));
        var unsendable = Parsed(Json(scenario.Draft()));
        unsendable.BodySite.Clear();
        using var physician = scenario.AsPhysician();

        var batch = new TransactionBuilder(new Uri(physician.BaseAddress!, "/api/fhir"), Bundle.BundleType.Batch)
            .Search(new SearchParams().Where($"patient=Patient/{scenario.Patient}").Where("status=active"), "ServiceRequest")
            .Read("ServiceRequest", sent.Id!)
            .TypeOperation("validate", draft)
            .TypeOperation("ServiceRequest", "validate", new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "resource", Resource = unsendable }] }, useGet: false)
            .Read("ServiceRequest", "somebody-else.0123456789abcdef0123")
            .ToBundle();
        var answer = await Firely(physician).TransactionAsync(batch);

        Assert.Equal(Bundle.BundleType.BatchResponse, answer!.Type);
        Assert.Equal(["200 OK", "200 OK", "200 OK", "200 OK", "404 Not Found"], answer.Entry.Select(e => e.Response!.Status));
        var found = Assert.IsType<Bundle>(answer.Entry[0].Resource);
        Assert.Equal(sent.Id, Assert.Single(found.Entry.Select(e => e.Resource).OfType<ServiceRequest>()).Id);
        Assert.Equal(sent.Id, Assert.IsType<ServiceRequest>(answer.Entry[1].Resource).Id);
        Assert.NotNull(answer.Entry[1].Response!.Etag);
        Assert.DoesNotContain(Assert.IsType<OperationOutcome>(answer.Entry[2].Resource).Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
        Assert.Contains(Assert.IsType<OperationOutcome>(answer.Entry[3].Resource).Issue,
            i => i.Severity == OperationOutcome.IssueSeverity.Error && i.Expression.Any(e => e?.StartsWith("ServiceRequest", StringComparison.Ordinal) == true));
        Assert.Null(answer.Entry[4].Resource);
        Assert.Equal(OperationOutcome.IssueType.NotFound, OutcomeOf(answer.Entry[4]).Issue.Single().Code);
    }

    [Fact]
    public async Task Each_entry_is_authorized_for_the_caller_a_therapist_may_not_validate_a_referral_and_sees_only_their_own()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var sent = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        using var stranger = scenario.AsTherapist("therapist-nobody");

        var batch = new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry =
            [
                Entry(Bundle.HTTPVerb.POST, "ServiceRequest/$validate", Parsed(Json(scenario.Draft()))),
                Entry(Bundle.HTTPVerb.GET, $"ServiceRequest/{sent.Id}"),
                Entry(Bundle.HTTPVerb.GET, $"Task?owner=PractitionerRole/therapist-nobody"),
            ],
        };
        using var response = await stranger.PostAsync(Url("/api/fhir"), Body(batch), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await ReadAsync<Bundle>(response);
        Assert.Equal(["403 Forbidden", "404 Not Found", "200 OK"], answer.Entry.Select(e => e.Response!.Status));
        Assert.Equal(OperationOutcome.IssueType.Forbidden, OutcomeOf(answer.Entry[0]).Issue.Single().Code);
        Assert.Empty(Assert.IsType<Bundle>(answer.Entry[2].Resource).Entry);
    }

    [Fact]
    public async Task Every_patient_read_in_a_batch_leaves_its_own_AuditEvent()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var sent = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        using var physician = scenario.AsPhysician();
        var batch = new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry = [Entry(Bundle.HTTPVerb.GET, $"ServiceRequest/{sent.Id}"), Entry(Bundle.HTTPVerb.GET, $"ServiceRequest?patient=Patient/{scenario.Patient}")],
        };

        using var response = await physician.PostAsync(Url("/api/fhir"), Body(batch), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200"), Ct));
        var events = audit.Entry.Select(e => e.Resource).OfType<AuditEvent>()
            .Where(e => e.Agent.Any(a => a.Who?.Reference?.EndsWith(scenario.Physician, StringComparison.Ordinal) == true)).ToList();
        Assert.Contains(events, e => e.Subtype.Single().Code == "read" && e.Entity.Any(x => x.What?.Reference == $"ServiceRequest/{sent.Id}"));
        Assert.Contains(events, e => e.Subtype.Single().Code == "search-type");
    }

    [Fact]
    public async Task A_read_entry_whose_ifNoneMatch_names_the_current_version_is_answered_304_without_the_resource_as_its_own_call_would_be()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var sent = await scenario.SubmitAsync(scenario.Draft());
        using var physician = scenario.AsPhysician();
        var held = sent.Request!.Meta!.VersionId!;
        var batch = new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry =
            [
                Entry(Bundle.HTTPVerb.GET, $"ServiceRequest/{sent.Request.Id}", ifNoneMatch: $"W/\"{held}\""),
                Entry(Bundle.HTTPVerb.GET, $"ServiceRequest/{sent.Request.Id}", ifNoneMatch: "W/\"999\""),
                // A format the entry asks for is its endpoint's business: the batch-response carries the resource either way.
                Entry(Bundle.HTTPVerb.GET, $"ServiceRequest/{sent.Request.Id}?_format=xml"),
            ],
        };

        using var response = await physician.PostAsync(Url("/api/fhir"), Body(batch), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await ReadAsync<Bundle>(response);
        Assert.Equal(["304 Not Modified", "200 OK", "200 OK"], answer.Entry.Select(e => e.Response!.Status));
        Assert.Null(answer.Entry[0].Resource);
        Assert.Equal($"W/\"{held}\"", answer.Entry[0].Response!.Etag);
        Assert.Equal(sent.Request.Id, Assert.IsType<ServiceRequest>(answer.Entry[1].Resource).Id);
        Assert.Equal(sent.Request.Id, Assert.IsType<ServiceRequest>(answer.Entry[2].Resource).Id);
    }

    [Fact]
    public async Task An_entry_whose_endpoint_answers_with_a_file_gets_it_as_a_Binary_with_its_content_type_and_bytes()
    {
        await using var scenario = new ReferralScenario(functions);
        using var physician = scenario.AsPhysician();
        var direct = await physician.GetByteArrayAsync(Url("/api/fhir/package.tgz"), Ct);
        var batch = new Bundle { Type = Bundle.BundleType.Batch, Entry = [Entry(Bundle.HTTPVerb.GET, "package.tgz")] };

        using var response = await physician.PostAsync(Url("/api/fhir"), Body(batch), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entry = Assert.Single((await ReadAsync<Bundle>(response)).Entry);
        Assert.Equal("200 OK", entry.Response!.Status);
        var file = Assert.IsType<Binary>(entry.Resource);
        Assert.Equal("application/gzip", file.ContentType);
        Assert.Equal(direct, file.Data);
    }

    [Theory]
    [InlineData("POST", "ServiceRequest", "405 Method Not Allowed", "Bundle.entry[0].request")]
    [InlineData("DELETE", "ServiceRequest/x.0123456789abcdef0123", "405 Method Not Allowed", "Bundle.entry[0].request")]
    [InlineData("POST", "Task/x.0123456789abcdef0123/$accept", "405 Method Not Allowed", "Bundle.entry[0].request")]
    [InlineData("GET", "https://elsewhere.example/fhir/ServiceRequest", "400 Bad Request", "Bundle.entry[0].request.url")]
    [InlineData("GET", "../admin/ehrs", "400 Bad Request", "Bundle.entry[0].request.url")]
    [InlineData("GET", "ServiceRequest/%2e%2e/x", "400 Bad Request", "Bundle.entry[0].request.url")]
    public async Task An_entry_that_would_change_something_or_leave_the_API_is_refused_alone_naming_its_element(string method, string url, string status, string expression)
    {
        await using var scenario = new ReferralScenario(functions);
        using var physician = scenario.AsPhysician();
        var verb = Enum.Parse<Bundle.HTTPVerb>(method);
        var batch = new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry =
            [
                Entry(verb, url, verb == Bundle.HTTPVerb.POST ? Parsed(Json(scenario.Draft())) : null),
                Entry(Bundle.HTTPVerb.GET, "metadata"),
            ],
        };

        using var response = await physician.PostAsync(Url("/api/fhir"), Body(batch), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await ReadAsync<Bundle>(response);
        Assert.Equal(status, answer.Entry[0].Response!.Status);
        Assert.Equal(expression, OutcomeOf(answer.Entry[0]).Issue.Single().Expression.Single());
        Assert.Equal("200 OK", answer.Entry[1].Response!.Status);
        Assert.IsType<CapabilityStatement>(answer.Entry[1].Resource);
    }

    [Fact]
    public async Task A_transaction_an_empty_batch_a_batch_too_large_and_a_batch_inside_a_batch_are_refused_with_their_reason()
    {
        await using var scenario = new ReferralScenario(functions);
        using var physician = scenario.AsPhysician();

        using var transaction = await physician.PostAsync(Url("/api/fhir"), Body(new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Entry(Bundle.HTTPVerb.GET, "metadata")] }), Ct);
        using var empty = await scenario.AsPhysician().PostAsync(Url("/api/fhir"), Body(new Bundle { Type = Bundle.BundleType.Batch }), Ct);
        using var large = await scenario.AsPhysician().PostAsync(Url("/api/fhir"), Body(new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry = [.. Enumerable.Range(0, 11).Select(_ => Entry(Bundle.HTTPVerb.GET, "metadata"))],
        }), Ct);
        var inner = new Bundle { Type = Bundle.BundleType.Batch, Entry = [Entry(Bundle.HTTPVerb.GET, "metadata")] };
        using var nested = await scenario.AsPhysician().PostAsync(Url("/api/fhir"), Body(new Bundle { Type = Bundle.BundleType.Batch, Entry = [Entry(Bundle.HTTPVerb.POST, "/", inner)] }), Ct);

        Assert.Equal((HttpStatusCode.BadRequest, "Bundle.type"), (transaction.StatusCode, (await ReadAsync<OperationOutcome>(transaction)).Issue.Single().Expression.Single()));
        Assert.Equal((HttpStatusCode.BadRequest, "Bundle.entry"), (empty.StatusCode, (await ReadAsync<OperationOutcome>(empty)).Issue.Single().Expression.Single()));
        Assert.Equal((HttpStatusCode.BadRequest, "Bundle.entry"), (large.StatusCode, (await ReadAsync<OperationOutcome>(large)).Issue.Single().Expression.Single()));
        Assert.Equal(HttpStatusCode.OK, nested.StatusCode);
        Assert.StartsWith("40", (await ReadAsync<Bundle>(nested)).Entry.Single().Response!.Status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_CapabilityStatement_declares_the_batch_interaction()
    {
        using var anyone = functions.App.CreateClient();

        var statement = await ReadAsync<CapabilityStatement>(await anyone.GetAsync(Url("/api/fhir/metadata"), Ct));

        Assert.Contains(statement.Rest.Single().Interaction, i => i.Code == CapabilityStatement.SystemRestfulInteraction.Batch);
        Assert.DoesNotContain(statement.Rest.Single().Interaction, i => i.Code == CapabilityStatement.SystemRestfulInteraction.Transaction);
    }

    private static OperationOutcome OutcomeOf(Bundle.EntryComponent entry) => Assert.IsType<OperationOutcome>(entry.Response!.Outcome);

    private static ServiceRequest Parsed(string json) =>
        FhirJson.TryParse<ServiceRequest>(json, out var request, out var outcome) ? request! : throw new InvalidOperationException(string.Join("; ", outcome.Issue.Select(i => i.Diagnostics)));

    private static Bundle.EntryComponent Entry(Bundle.HTTPVerb method, string url, Resource? resource = null, string? ifNoneMatch = null) => new()
    {
        Request = new Bundle.RequestComponent { Method = method, Url = url, IfNoneMatch = ifNoneMatch },
        Resource = resource,
    };
}

using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

/// <summary>
/// What an ordinary FHIR client expects of the API (issue 14), one behaviour at a time, through the real pipeline,
/// real tokens and Azurite: operations without parameters, paging with protected next links, lenient and strict
/// search, $expand by POST, versions and conditional reads, JSON and XML, HEAD.
/// </summary>
public sealed class FhirInteractionTests(AzuriteFixture azurite, SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Xml(string xml) => new(xml, Encoding.UTF8, "application/fhir+xml");

    [Fact]
    public void No_FHIR_endpoint_is_limited_to_JSON_bodies_by_its_metadata_so_XML_reaches_every_handler()
    {
        // The request delegates are generated at build time; one that took a service for a JSON body would accept only
        // JSON (routing answers XML with a 415 before the handler, which reads both, is reached).
        var endpoints = functions.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/fhir/", StringComparison.Ordinal) == true).ToList();

        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/api/fhir/ServiceRequest" && e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains("POST") == true);
        Assert.All(endpoints, e => Assert.True(e.Metadata.GetMetadata<IAcceptsMetadata>() is null, $"{e.DisplayName} takes only {string.Join(", ", e.Metadata.GetMetadata<IAcceptsMetadata>()?.ContentTypes ?? [])}"));
    }

    [Fact]
    public async Task An_operation_whose_parameters_are_all_optional_takes_an_empty_Parameters_in_JSON_or_XML_or_no_body()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await scenario.SubmitAsync(scenario.Draft())).Request!.Id!);
        }

        using var therapist = scenario.AsTherapist();
        using var emptyJson = await therapist.PostAsync(Url($"/api/fhir/Task/{ids[0]}/$accept"), Body("{\"resourceType\":\"Parameters\"}"), Ct);
        using var emptyXml = await therapist.PostAsync(Url($"/api/fhir/Task/{ids[1]}/$accept"), Xml("<Parameters xmlns=\"http://hl7.org/fhir\"/>"), Ct);
        using var noBody = await therapist.PostAsync(Url($"/api/fhir/Task/{ids[2]}/$accept"), null, Ct);
        // Firely's FhirClient sends an operation without parameters as {"resourceType":"Parameters"}.
        var client = new FhirClient(new Uri(therapist.BaseAddress!, "/api/fhir"), therapist, new FhirClientSettings { VerifyFhirVersion = false });
        var byFirely = await client.InstanceOperationAsync(new Uri($"Task/{ids[3]}", UriKind.Relative), "accept");

        foreach (var response in new[] { emptyJson, emptyXml, noBody })
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        }

        Assert.Equal(FhirTask.TaskStatus.Accepted, (await ReadAsync<FhirTask>(emptyJson)).Status);
        Assert.Equal(FhirTask.TaskStatus.Accepted, Assert.IsType<FhirTask>(byFirely).Status);
    }

    [Fact]
    public async Task An_empty_Parameters_still_answers_to_the_operations_rules_a_decline_without_its_reason_is_refused()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        using var therapist = scenario.AsTherapist();

        using var response = await therapist.PostAsync(Url($"/api/fhir/Task/{id}/$decline"), Body("{\"resourceType\":\"Parameters\"}"), Ct);

        // $decline's OperationDefinition makes 'reason' 1..1: its input profile names the parameter the call left out.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var issue = (await ReadAsync<OperationOutcome>(response)).Issue.Single();
        Assert.Equal((OperationOutcome.IssueType.Required, "Parameters.parameter.where(name='reason')"), (issue.Code, issue.Expression.Single()));
    }

    [Fact]
    public async Task Observations_page_by_count_and_the_next_links_lead_to_the_last_page_with_every_result_once_and_an_exact_total()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-26)))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-2)))).StatusCode);
        using var therapist = scenario.AsTherapist();
        var all = await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Observation?based-on=ServiceRequest/{id}&_count=200"), Ct));

        var seen = new List<string>();
        var pages = 0;
        Uri? next = Url($"/api/fhir/Observation?based-on=ServiceRequest/{id}&_count=2");
        while (next is not null)
        {
            using var response = await therapist.GetAsync(next, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await ReadAsync<Bundle>(response);
            Assert.InRange(page.Entry.Count, 1, 2);
            Assert.Equal(all.Entry.Count, page.Total);
            Assert.Contains("_count=2", page.Link.Single(l => l.Relation == "self").Url, StringComparison.Ordinal);
            seen.AddRange(page.Entry.Select(e => e.Resource!.Id!));
            next = page.Link.FirstOrDefault(l => l.Relation == "next")?.Url is { } url ? new Uri(url) : null;
            pages++;
        }

        Assert.True(all.Entry.Count > 4, $"two sessions give more than four Observations, got {all.Entry.Count}");
        Assert.Equal(all.Entry.Select(e => e.Resource!.Id), seen);
        Assert.Equal((all.Entry.Count + 1) / 2, pages);
        Assert.DoesNotContain(all.Link, l => l.Relation == "next");
    }

    [Fact]
    public async Task A_next_link_works_only_for_its_caller_and_its_search_and_cannot_be_edited()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        await scenario.SubmitAsync(scenario.Draft());
        await scenario.SubmitAsync(scenario.Draft());
        await scenario.SubmitAsync(scenario.Draft(therapist: scenario.OtherTherapist));
        using var therapist = scenario.AsTherapist();
        using var other = scenario.AsTherapist(scenario.OtherTherapist);
        var first = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task?_count=1"), Ct));
        var next = new Uri(first.Link.Single(l => l.Relation == "next").Url!);
        var query = QueryHelpers.ParseQuery(next.Query);
        var token = query["_page"].ToString();

        using var followed = await therapist.GetAsync(next, Ct);
        using var byAnother = await other.GetAsync(next, Ct);
        using var widened = await therapist.GetAsync(Url($"/api/fhir/Task?_count=5&_page={Uri.EscapeDataString(token)}"), Ct);
        using var edited = await therapist.GetAsync(Url($"/api/fhir/Task?_count=1&_page={Uri.EscapeDataString("MA." + token[(token.IndexOf('.', StringComparison.Ordinal) + 1)..])}"), Ct);

        Assert.Equal(HttpStatusCode.OK, followed.StatusCode);
        Assert.Single((await ReadAsync<Bundle>(followed)).Entry);
        foreach (var refused in new[] { byAnother, widened, edited })
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(["_page"], (await ReadAsync<OperationOutcome>(refused)).Issue.Single().Expression);
        }
    }

    [Fact]
    public async Task An_unknown_search_parameter_is_ignored_and_left_out_of_self_but_refused_naming_it_under_strict_handling()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var request = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        using var physician = scenario.AsPhysician();
        var search = $"/api/fhir/ServiceRequest?patient=Patient/{scenario.Patient}&colour=blue";

        using var lenient = await physician.GetAsync(Url(search), Ct);
        using var strictRequest = new HttpRequestMessage(HttpMethod.Get, Url(search));
        strictRequest.Headers.TryAddWithoutValidation("Prefer", "handling=strict");
        using var strict = await physician.SendAsync(strictRequest, Ct);

        Assert.Equal(HttpStatusCode.OK, lenient.StatusCode);
        var bundle = await ReadAsync<Bundle>(lenient);
        Assert.Equal([request.Id], bundle.Entry.Select(e => e.Resource!.Id));
        var self = bundle.Link.Single(l => l.Relation == "self").Url!;
        Assert.Contains($"patient=Patient%2F{scenario.Patient}", self, StringComparison.Ordinal);
        Assert.DoesNotContain("colour", self, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, strict.StatusCode);
        Assert.Equal(["colour"], (await ReadAsync<OperationOutcome>(strict)).Issue.Single().Expression);
    }

    [Fact]
    public async Task The_therapist_directory_pages_so_no_therapist_is_lost_past_the_first_page()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        using var physician = scenario.AsPhysician();

        var ids = new List<string>();
        Uri? next = Url("/api/fhir/PractitionerRole?_count=2");
        var first = true;
        while (next is not null)
        {
            var page = await ReadAsync<Bundle>(await physician.GetAsync(next, Ct));
            Assert.InRange(page.Entry.Count, 0, 2);
            Assert.NotNull(page.Total);
            if (first)
            {
                Assert.True(page.Total >= 3, $"the directory holds this test's three therapists, total {page.Total}");
                Assert.NotNull(page.Link.SingleOrDefault(l => l.Relation == "next"));
                first = false;
            }

            ids.AddRange(page.Entry.Select(e => e.Resource!.Id!));
            next = page.Link.FirstOrDefault(l => l.Relation == "next")?.Url is { } url ? new Uri(url) : null;
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Superset(new[] { scenario.Therapist, scenario.OtherTherapist, scenario.MldTherapist }.ToHashSet(), ids.ToHashSet());
    }

    [Fact]
    public async Task The_audit_trail_search_covers_a_range_of_days_newest_first_and_pages_to_the_end()
    {
        // The app's own clock, two days back: the referral is written then, and read on each of the next two days.
        var clock = new FakeTimeProvider(TestClock.Now.AddDays(-2));
        await using var scenario = new ReferralScenario(azurite, identity, time: clock);
        await scenario.SeedTherapistsAsync();
        var firstDay = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var id = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        for (var day = 1; day <= 2; day++)
        {
            clock.Advance(TimeSpan.FromDays(1));
            using var physician = scenario.AsPhysician();
            Assert.Equal(HttpStatusCode.OK, (await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), Ct)).StatusCode);
        }

        using var admin = scenario.AsAdmin();
        var events = new List<AuditEvent>();
        Uri? next = Url($"/api/fhir/AuditEvent?date=ge{firstDay:yyyy-MM-dd}&date=le{firstDay.AddDays(2):yyyy-MM-dd}&patient=Patient/{scenario.Patient}&_count=1");
        while (next is not null)
        {
            using var response = await admin.GetAsync(next, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await ReadAsync<Bundle>(response);
            Assert.Null(page.Total);
            Assert.InRange(page.Entry.Count, 0, 1);
            events.AddRange(page.Entry.Select(e => Assert.IsType<AuditEvent>(e.Resource)));
            next = page.Link.FirstOrDefault(l => l.Relation == "next")?.Url is { } url ? new Uri(url) : null;
        }

        Assert.Equal(["read", "read", "create"], events.Select(e => e.Subtype.Single().Code));
        Assert.Equal(events.Select(e => e.Recorded).OrderDescending(), events.Select(e => e.Recorded));
        Assert.Equal([firstDay.AddDays(2), firstDay.AddDays(1), firstDay], events.Select(e => DateOnly.FromDateTime(e.Recorded!.Value.UtcDateTime)));
    }

    [Fact]
    public async Task ValueSet_expand_is_served_by_POST_with_a_Parameters_body_in_JSON_or_XML()
    {
        await using var scenario = new ReferralScenario(functions);
        using var physician = scenario.AsPhysician();
        var parameters = new Parameters();
        parameters.Add("url", new FhirUri(ReferralValueSets.Conditions.Canonical));
        parameters.Add("filter", new FhirString("car"));

        using var json = await physician.PostAsync(Url("/api/fhir/ValueSet/$expand"), Body(parameters), Ct);
        using var xml = await physician.PostAsync(Url("/api/fhir/ValueSet/$expand"), Xml(new FhirXmlSerializer().SerializeToString(parameters)), Ct);
        parameters.Add("valueSet", new FhirString("mine"));
        using var unsupported = await physician.PostAsync(Url("/api/fhir/ValueSet/$expand"), Body(parameters), Ct);

        Assert.Contains((await ReadAsync<ValueSet>(json)).Expansion!.Contains, c => c.Code == "G56.01");
        Assert.Contains((await ReadAsync<ValueSet>(xml)).Expansion!.Contains, c => c.Code == "G56.01");
        Assert.Equal(HttpStatusCode.BadRequest, unsupported.StatusCode);
        Assert.Equal(["Parameters.parameter.where(name='valueSet')"], (await ReadAsync<OperationOutcome>(unsupported)).Issue.Single().Expression);
    }

    [Fact]
    public async Task Every_read_carries_meta_versionId_equal_to_its_ETag_and_If_None_Match_with_that_version_is_a_304()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var therapist = scenario.AsTherapist();

        foreach (var type in new[] { "Task", "ServiceRequest" })
        {
            using var read = await therapist.GetAsync(Url($"/api/fhir/{type}/{id}"), Ct);
            var resource = await ReadAsync<Resource>(read);
            Assert.Equal($"W/\"{resource.Meta!.VersionId}\"", read.Headers.ETag!.ToString());
            Assert.Equal("2", resource.Meta.VersionId);

            using var same = new HttpRequestMessage(HttpMethod.Get, Url($"/api/fhir/{type}/{id}"));
            same.Headers.TryAddWithoutValidation("If-None-Match", read.Headers.ETag.ToString());
            using var notModified = await therapist.SendAsync(same, Ct);
            using var older = new HttpRequestMessage(HttpMethod.Get, Url($"/api/fhir/{type}/{id}"));
            older.Headers.TryAddWithoutValidation("If-None-Match", "W/\"1\"");
            using var changed = await therapist.SendAsync(older, Ct);

            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            Assert.Empty(await notModified.Content.ReadAsByteArrayAsync(Ct));
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        }

        var inbox = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task?_include=Task:focus"), Ct));
        Assert.All(inbox.Entry, e => Assert.Equal("2", e.Resource!.Meta!.VersionId));

        // The directory keeps no version counter: its version is derived from the role's content.
        using var role = await therapist.GetAsync(Url($"/api/fhir/PractitionerRole/{scenario.Therapist}"), Ct);
        Assert.Equal($"W/\"{(await ReadAsync<PractitionerRole>(role)).Meta!.VersionId}\"", role.Headers.ETag!.ToString());
        using var sameRole = new HttpRequestMessage(HttpMethod.Get, Url($"/api/fhir/PractitionerRole/{scenario.Therapist}"));
        sameRole.Headers.TryAddWithoutValidation("If-None-Match", role.Headers.ETag.ToString());
        Assert.Equal(HttpStatusCode.NotModified, (await therapist.SendAsync(sameRole, Ct)).StatusCode);
    }

    [Fact]
    public async Task A_ServiceRequest_carrying_its_EHR_copy_state_is_never_answered_304_since_that_state_changes_without_a_new_version()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(azurite, identity, ehr.FhirBase, ehr.Settings(writeServiceRequest: true));
        await scenario.SeedTherapistsAsync();
        var id = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        using var physician = scenario.AsPhysician();
        using var read = await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), Ct);
        Assert.NotEmpty((await ReadAsync<ServiceRequest>(read)).Meta!.Tag);

        using var again = new HttpRequestMessage(HttpMethod.Get, Url($"/api/fhir/ServiceRequest/{id}"));
        again.Headers.TryAddWithoutValidation("If-None-Match", read.Headers.ETag!.ToString());
        using var response = await physician.SendAsync(again, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(read.Headers.ETag, response.Headers.ETag);
        Assert.NotEmpty((await ReadAsync<ServiceRequest>(response)).Meta!.Tag);
    }

    [Fact]
    public async Task Vread_serves_every_Task_version_and_only_the_current_ServiceRequest_and_Task_history_lists_them()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var therapist = scenario.AsTherapist();

        using var current = await therapist.GetAsync(Url($"/api/fhir/Task/{id}/_history/2"), Ct);
        using var first = await therapist.GetAsync(Url($"/api/fhir/Task/{id}/_history/1"), Ct);
        using var earlier = await therapist.GetAsync(Url($"/api/fhir/ServiceRequest/{id}/_history/1"), Ct);
        var history = await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}/_history"), Ct));
        using var notYours = await scenario.AsTherapist(scenario.OtherTherapist).GetAsync(Url($"/api/fhir/Task/{id}/_history"), Ct);

        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        Assert.Equal(FhirTask.TaskStatus.Accepted, (await ReadAsync<FhirTask>(current)).Status);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(FhirTask.TaskStatus.Requested, (await ReadAsync<FhirTask>(first)).Status);
        Assert.Equal("W/\"1\"", first.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.NotFound, earlier.StatusCode);
        Assert.Contains("only the current version", (await ReadAsync<OperationOutcome>(earlier)).Issue.Single().Diagnostics, StringComparison.Ordinal);
        Assert.Equal(Bundle.BundleType.History, history.Type);
        Assert.Equal(["W/\"2\"", "W/\"1\""], history.Entry.Select(e => e.Response!.Etag));
        Assert.Equal(FhirTask.TaskStatus.Accepted, Assert.IsType<FhirTask>(history.Entry[0].Resource).Status);
        Assert.Equal(HttpStatusCode.NotFound, notYours.StatusCode);
    }

    [Theory]
    [InlineData("Accept", "application/fhir+xml")]
    [InlineData("Accept", "application/xml")]
    [InlineData("_format", "xml")]
    [InlineData("_format", "application/fhir+xml")]
    public async Task XML_is_served_when_asked_for_by_Accept_or_format(string how, string value)
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        using var therapist = scenario.AsTherapist();
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(how == "_format" ? $"/api/fhir/Task/{id}?_format={Uri.EscapeDataString(value)}" : $"/api/fhir/Task/{id}"));
        if (how == "Accept")
        {
            request.Headers.TryAddWithoutValidation("Accept", value);
        }

        using var response = await therapist.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+xml", response.Content.Headers.ContentType!.MediaType);
        var task = new FhirXmlDeserializer(new DeserializerSettings().UsingMode(DeserializationMode.Strict))
            .Deserialize<FhirTask>(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(id, task.Id);
    }

    [Theory]
    [InlineData("Accept", "text/html")]
    [InlineData("Accept", "application/pdf")]
    [InlineData("_format", "html")]
    [InlineData("_format", "turtle")]
    public async Task A_format_the_API_does_not_write_is_a_406_OperationOutcome(string how, string value)
    {
        await using var scenario = new ReferralScenario(functions);
        using var therapist = scenario.AsTherapist();
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(how == "_format" ? $"/api/fhir/Task?_format={value}" : "/api/fhir/Task"));
        if (how == "Accept")
        {
            request.Headers.TryAddWithoutValidation("Accept", value);
        }

        using var response = await therapist.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotAcceptable, response.StatusCode);
        Assert.Equal(OperationOutcome.IssueType.NotSupported, (await ReadAsync<OperationOutcome>(response)).Issue.Single().Code);
    }

    [Fact]
    public async Task HEAD_is_served_where_GET_is_with_the_same_status_and_ETag_and_no_body()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        using var therapist = scenario.AsTherapist();

        using var head = await therapist.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url($"/api/fhir/Task/{id}")), Ct);
        using var missing = await therapist.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("/api/fhir/Task/t-none.0000")), Ct);
        using var metadata = await therapist.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("/api/fhir/metadata")), Ct);

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("W/\"1\"", head.Headers.ETag!.ToString());
        Assert.Empty(await head.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
    }
}

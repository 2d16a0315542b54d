using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Audit;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.CdsHooks;

/// <summary>
/// The CDS Hooks service through the API's real pipeline, with Azurite, and an EHR (WireMock) that signs its calls
/// with its own published key: discovery, the patient-view card and when there is none, the fallback to the EHR's
/// FHIR server, and the JWT checks.
/// </summary>
public sealed class CdsHooksServiceTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>, IDisposable
{
    private const string PatientView = "medical-massage-referral";
    private const string OrderSelect = "medical-massage-order";

    private readonly CdsEhr ehr = new();

    private ReferralScenario Scenario(string? fhirServer = null, TimeSpan? fhirTimeout = null, TimeProvider? time = null) =>
        new(azurite, identity, settings: ehr.Settings(fhirServer ?? TestIdentity.Ehr, fhirTimeout), time: time);

    [Fact]
    public async Task Discovery_lists_the_patient_view_and_order_select_services_with_their_prefetch_templates()
    {
        await using var scenario = Scenario();
        using var client = scenario.App.CreateClient();

        using var response = await client.GetAsync(new Uri("/cds-services", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var services = json.RootElement.GetProperty("services").EnumerateArray().ToList();
        Assert.Equal(["patient-view", "order-select"], services.Select(s => s.GetProperty("hook").GetString()));
        Assert.Equal([PatientView, OrderSelect], services.Select(s => s.GetProperty("id").GetString()));
        Assert.All(services, s => Assert.Equal(
            "Condition?patient={{context.patientId}}&clinical-status=active&category=problem-list-item",
            s.GetProperty("prefetch").GetProperty("conditions").GetString()));
    }

    [Fact]
    public async Task A_patient_with_lymphedema_and_no_referral_gets_one_info_card_naming_the_training_and_the_precautions_with_a_smart_link_carrying_the_diagnosis()
    {
        await using var scenario = Scenario();
        var patient = scenario.Patient;
        var request = CdsEhr.PatientView(patient, TestIdentity.Ehr,
            CdsEhr.Searchset(CdsEhr.Problem(patient, "c1", "I89.0", "Lymphedema of left arm after mastectomy", "234097001")),
            CdsEhr.Searchset(CdsEhr.Medication(patient, "m1", "Apixaban 5 mg tablet")));

        var (status, body) = await CallAsync(scenario, PatientView, request);

        Assert.Equal(HttpStatusCode.OK, status);
        var card = Assert.Single(Cards(body));
        Assert.Equal("info", card.GetProperty("indicator").GetString());
        Assert.Contains("Lymphedema", card.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.True(card.GetProperty("summary").GetString()!.Length < 140);
        var detail = card.GetProperty("detail").GetString()!;
        Assert.Contains("Manual lymph drainage", detail, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(Precautions.Codes.For(Precaution.Anticoagulants).Display, detail, StringComparison.Ordinal);
        var link = Assert.Single(card.GetProperty("links").EnumerateArray().ToList());
        Assert.Equal("smart", link.GetProperty("type").GetString());
        Assert.Equal(CdsEhr.LaunchUrl, link.GetProperty("url").GetString());
        Assert.Equal("I89.0", ReferralAppContext.TryParse(link.GetProperty("appContext").GetString())!.Diagnosis);
        // No more patient data than the EHR sent, and less: not the record's own words, not the patient's id.
        Assert.DoesNotContain("mastectomy", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Apixaban", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(patient, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_referral_for_the_lymphedema_is_sent_the_patient_view_gives_no_card()
    {
        await using var scenario = Scenario();
        await scenario.SeedTherapistsAsync();
        var draft = scenario.Draft(therapist: scenario.MldTherapist) with
        {
            Diagnoses = [new Diagnosis("I89.0")],
            BodySites = [new BodyArea(BodyRegion.UpperArm, Laterality.Left), new BodyArea(BodyRegion.Forearm, Laterality.Left)],
        };
        var (sent, _) = await scenario.SubmitAsync(draft);
        Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        var conditions = CdsEhr.Searchset(CdsEhr.Problem(scenario.Patient, "c1", "I89.0", "Lymphedema"));

        var (status, body) = await CallAsync(scenario, PatientView, CdsEhr.PatientView(scenario.Patient, TestIdentity.Ehr, conditions));
        var (_, otherPatient) = await CallAsync(scenario, PatientView, CdsEhr.PatientView("someone-else", TestIdentity.Ehr,
            CdsEhr.Searchset(CdsEhr.Problem("someone-else", "c2", "I89.0", "Lymphedema"))));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(Cards(body));
        // The referral covers its own patient only.
        Assert.Single(Cards(otherPatient));
    }

    [Fact]
    public async Task A_patient_with_none_of_the_referral_conditions_gets_no_card()
    {
        await using var scenario = Scenario();
        var conditions = CdsEhr.Searchset(CdsEhr.Problem(scenario.Patient, "c1", "I10", "Essential hypertension"));

        var (status, body) = await CallAsync(scenario, PatientView, CdsEhr.PatientView(scenario.Patient, TestIdentity.Ehr, conditions));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(Cards(body));
    }

    [Fact]
    public async Task Without_prefetch_the_service_reads_the_problem_list_from_the_EHRs_FHIR_server_with_the_access_token_the_EHR_sent()
    {
        await using var scenario = Scenario(ehr.FhirServer);
        ehr.Server.Given(Request.Create().WithPath("/fhir/Condition").UsingGet().WithHeader("Authorization", "Bearer ehr-access-token"))
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/fhir+json")
                .WithBody(Referral.Model.Fhir.FhirJson.Serialize(CdsEhr.Searchset(CdsEhr.Problem("pat-x", "c1", "M54.31", "Sciatica, right side")))));
        ehr.Server.Given(Request.Create().WithPath("/fhir/MedicationRequest").UsingGet().WithHeader("Authorization", "Bearer ehr-access-token"))
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/fhir+json").WithBody(Referral.Model.Fhir.FhirJson.Serialize(CdsEhr.Searchset())));

        var (status, body) = await CallAsync(scenario, PatientView, CdsEhr.PatientView("pat-x", ehr.FhirServer, null, prefetch: false));

        Assert.Equal(HttpStatusCode.OK, status);
        var card = Assert.Single(Cards(body));
        Assert.Contains("Sciatica", card.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Contains(ehr.Server.LogEntries, e => e.RequestMessage!.Path == "/fhir/Condition"
            && e.RequestMessage.Query!["patient"].Single() == "pat-x" && e.RequestMessage.Query["clinical-status"].Single() == "active");
    }

    [Fact]
    public async Task A_FHIR_server_slower_than_the_budget_means_an_answer_with_no_card_in_time_never_an_error()
    {
        var time = TestClock.Fake();
        await using var scenario = Scenario(ehr.FhirServer, fhirTimeout: TimeSpan.FromMilliseconds(500), time: time);
        // The EHR answers after 10 s, with a problem that would give a card, or when the test is over: a delayed answer
        // still pending would otherwise hold the fake EHR's stop for the rest of the 10 s.
        var over = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ehr.Server.Given(Request.Create().WithPath("/fhir/*").UsingGet()).RespondWith(HeldAnswer.Until(
            Task.WhenAny(over.Task, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)),
            "application/fhir+json", Referral.Model.Fhir.FhirJson.Serialize(CdsEhr.Searchset(CdsEhr.Problem("pat-x", "c1", "M54.31", "Sciatica"))),
            () => asked.TrySetResult()));
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();

            var calling = CallAsync(scenario, PatientView, CdsEhr.PatientView("pat-x", ehr.FhirServer, null, prefetch: false));
            // The budget runs on the app's clock: once the API waits for the EHR, the clock passes it.
            await asked.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            time.Advance(TimeSpan.FromSeconds(1));
            var (status, body) = await calling;

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Empty(Cards(body));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"answered after {watch.Elapsed}");
        }
        finally
        {
            over.SetResult();
        }
    }

    [Fact]
    public async Task An_EHR_whose_key_set_cannot_be_fetched_gets_401_and_no_card_not_a_server_error()
    {
        var settings = new Dictionary<string, string?>(ehr.Settings(TestIdentity.Ehr))
        {
            // Nothing listens there: the JWT's signature cannot be checked.
            ["CdsHooks:Clients:0:JwksUrl"] = $"http://127.0.0.1:{Loopback.FreePort()}/jwks",
        };
        await using var scenario = new ReferralScenario(azurite, identity, settings: settings);

        var (status, body) = await CallAsync(scenario, PatientView, CdsEhr.PatientView("pat-x", ehr.FhirServer, null, prefetch: false));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.DoesNotContain("\"cards\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_EHR_whose_key_set_does_not_come_in_time_gets_401_once_the_apps_clock_passes_the_timeout()
    {
        var over = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ehr.Server.Given(Request.Create().WithPath("/slow-jwks").UsingGet())
            .RespondWith(HeldAnswer.Until(over.Task, "application/json", "{\"keys\":[]}", () => asked.TrySetResult()));
        var settings = new Dictionary<string, string?>(ehr.Settings(TestIdentity.Ehr)) { ["CdsHooks:Clients:0:JwksUrl"] = ehr.Server.Urls[0] + "/slow-jwks" };
        var time = TestClock.Fake();
        await using var scenario = new ReferralScenario(azurite, identity, settings: settings, time: time);
        try
        {
            var calling = CallAsync(scenario, PatientView, CdsEhr.PatientView("pat-x", ehr.FhirServer, null, prefetch: false));
            // A guard, not a measure: the app asks within moments, and a wrong path must fail the test rather than hang it.
            await asked.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            time.Advance(Referral.Functions.CdsHooks.CdsClientTokens.KeySetTimeout + TimeSpan.FromSeconds(1));
            var (status, body) = await calling;

            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.DoesNotContain("\"cards\"", body, StringComparison.Ordinal);
        }
        finally
        {
            over.SetResult();
        }
    }

    [Fact]
    public async Task A_fhirServer_other_than_the_EHRs_registered_one_never_receives_its_access_token_and_gives_no_card()
    {
        await using var scenario = Scenario(TestIdentity.Ehr);

        var (status, body) = await CallAsync(scenario, PatientView, CdsEhr.PatientView("pat-x", ehr.FhirServer, null, prefetch: false));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(Cards(body));
        Assert.DoesNotContain(ehr.Server.LogEntries, e => e.RequestMessage!.Path.StartsWith("/fhir", StringComparison.Ordinal));
    }

    public static TheoryData<string> BadTokens() => ["unknown issuer", "expired", "wrong aud", "unknown key", "lives too long", "no token"];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_call_with_a_bad_JWT_gets_401_and_no_card_and_is_audited(string kind)
    {
        await using var scenario = Scenario();
        var now = scenario.Time.GetUtcNow();
        string? token = kind switch
        {
            "unknown issuer" => ehr.Jwt(PatientView, now, d => d.Issuer = "http://stranger.test"),
            "expired" => ehr.Jwt(PatientView, now.AddMinutes(-10)),
            "wrong aud" => ehr.Jwt(PatientView, now, d => d.Audience = $"{CdsEhr.ServiceBase}/cds-services/{OrderSelect}"),
            "unknown key" => ehr.Jwt(PatientView, now, d => d.SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.RsaSecurityKey(System.Security.Cryptography.RSA.Create(2048)) { KeyId = "ehr-cds-1" }, "RS384")),
            "lives too long" => ehr.Jwt(PatientView, now, d => d.Expires = now.UtcDateTime.AddHours(1)),
            _ => null,
        };
        var request = CdsEhr.PatientView(scenario.Patient, TestIdentity.Ehr, CdsEhr.Searchset(CdsEhr.Problem(scenario.Patient, "c1", "I89.0", "Lymphedema")));

        var (status, body) = await CallAsync(scenario, PatientView, request, token);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.DoesNotContain("cards", body, StringComparison.Ordinal);
        var audit = scenario.App.Services.GetRequiredService<AuditTrail>();
        var today = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime);
        var (events, _) = await audit.SearchAsync(today.AddDays(-1), today.AddDays(1), null, null, 500, null, TestContext.Current.CancellationToken);
        Assert.Contains(events, e => e.Outcome == AuditEvent.AuditEventOutcome.N4
            && e.Agent.FirstOrDefault()?.Who?.Display?.StartsWith("Unverified CDS client", StringComparison.Ordinal) == true
            && e.Entity.Any(x => x.What?.Reference == "PlanDefinition/" + PatientView));
    }

    [Fact]
    public async Task A_JWT_sent_a_second_time_gets_401_and_no_card()
    {
        await using var scenario = Scenario();
        var token = ehr.Jwt(PatientView, scenario.Time.GetUtcNow());
        var request = CdsEhr.PatientView(scenario.Patient, TestIdentity.Ehr, CdsEhr.Searchset(CdsEhr.Problem(scenario.Patient, "c1", "I89.0", "Lymphedema")));

        var (first, firstBody) = await CallAsync(scenario, PatientView, request, token);
        var (second, _) = await CallAsync(scenario, PatientView, request, token);

        Assert.Equal(HttpStatusCode.OK, first);
        Assert.Single(Cards(firstBody));
        Assert.Equal(HttpStatusCode.Unauthorized, second);
    }

    [Fact]
    public async Task A_card_given_is_audited_as_the_EHRs_call_about_the_patient()
    {
        await using var scenario = Scenario();
        var request = CdsEhr.PatientView(scenario.Patient, TestIdentity.Ehr, CdsEhr.Searchset(CdsEhr.Problem(scenario.Patient, "c1", "I89.0", "Lymphedema")));

        var (status, _) = await CallAsync(scenario, PatientView, request);

        Assert.Equal(HttpStatusCode.OK, status);
        var audit = scenario.App.Services.GetRequiredService<AuditTrail>();
        var today = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime);
        var (events, _) = await audit.SearchAsync(today.AddDays(-1), today.AddDays(1), $"Patient/{scenario.Patient}", null, 50, null, TestContext.Current.CancellationToken);
        var recorded = Assert.Single(events);
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, recorded.Outcome);
        Assert.Equal("CDS client " + CdsEhr.Issuer, recorded.Agent[0].Who?.Display);
    }

    [Fact]
    public async Task The_order_select_card_for_a_massage_order_without_a_body_site_warns_of_it_and_offers_to_finish_it_in_the_app()
    {
        await using var scenario = Scenario();
        var patient = scenario.Patient;
        var draft = new ServiceRequest
        {
            Id = "draft-1",
            Status = RequestStatus.Draft,
            Intent = RequestIntent.Order,
            Subject = new ResourceReference($"Patient/{patient}"),
            Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "97140"),
            ReasonCode = [new CodeableConcept("http://hl7.org/fhir/sid/icd-10-cm", "I89.0")],
        };
        var other = new ServiceRequest
        {
            Id = "draft-2",
            Status = RequestStatus.Draft,
            Intent = RequestIntent.Order,
            Subject = new ResourceReference($"Patient/{patient}"),
            Code = new CodeableConcept("http://loinc.org", "24627-2"),
        };
        var request = CdsEhr.PatientView(patient, TestIdentity.Ehr,
            CdsEhr.Searchset(CdsEhr.Problem(patient, "c1", "I89.0", "Lymphedema")),
            CdsEhr.Searchset(CdsEhr.Medication(patient, "m1", "Warfarin 5 mg")));
        request["hook"] = "order-select";
        request["context"]!["selections"] = new JsonArray("ServiceRequest/draft-1", "ServiceRequest/draft-2");
        request["context"]!["draftOrders"] = JsonNode.Parse(Referral.Model.Fhir.FhirJson.Serialize(new Bundle
        {
            Type = Bundle.BundleType.Collection,
            Entry = [new Bundle.EntryComponent { Resource = draft }, new Bundle.EntryComponent { Resource = other }],
        }));

        var (status, body) = await CallAsync(scenario, OrderSelect, request);

        Assert.Equal(HttpStatusCode.OK, status);
        var card = Assert.Single(Cards(body));
        Assert.Equal("warning", card.GetProperty("indicator").GetString());
        var detail = card.GetProperty("detail").GetString()!;
        Assert.Contains("No body site", detail, StringComparison.Ordinal);
        Assert.Contains("no note", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("No diagnosis", detail, StringComparison.Ordinal);
        var link = Assert.Single(card.GetProperty("links").EnumerateArray().ToList());
        Assert.Equal("smart", link.GetProperty("type").GetString());
        Assert.Equal("I89.0", ReferralAppContext.TryParse(link.GetProperty("appContext").GetString())!.Diagnosis);
    }

    public void Dispose() => ehr.Dispose();

    private async Task<(HttpStatusCode Status, string Body)> CallAsync(ReferralScenario scenario, string service, JsonObject request, string? token = "")
    {
        using var client = scenario.App.CreateClient();
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri($"/cds-services/{service}", UriKind.Relative))
        {
            Content = new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        token = token == "" ? ehr.Jwt(service, scenario.Time.GetUtcNow()) : token;
        if (token is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(message, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    private static List<JsonElement> Cards(string body)
    {
        using var json = JsonDocument.Parse(body);
        return [.. json.RootElement.GetProperty("cards").EnumerateArray().Select(c => c.Clone())];
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;
using SandboxEhr.Data;
using SandboxEhr.Fhir;
using SandboxEhr.Tests.Auth;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Fhir;

/// <summary>The FHIR endpoint: bearer tokens required, SMART scopes enforced, strict parsing of what is created.</summary>
public sealed class FhirAccessTests() : SandboxFlowTests(SmartFlow.SmartAppJwks, ClientKey.Rsa("smart-app-1"))
{
    private static readonly FhirJsonDeserializer Strict = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict));

    [Fact]
    public async Task A_call_without_a_token_is_refused_with_401_a_bearer_challenge_and_an_operation_outcome()
    {
        using var response = await Flow.FhirGetAsync($"Patient/{SyntheticIds.LymphedemaPatient}", accessToken: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Bearer realm=\"{App.FhirBase}\"", response.Headers.WwwAuthenticate.ToString());
        var outcome = await OutcomeAsync(response);
        Assert.Equal(OperationOutcome.IssueType.Login, outcome.Issue[0].Code);
    }

    [Fact]
    public async Task A_forged_or_expired_token_is_refused_with_invalid_token()
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.LymphedemaPatient);

        using var forged = await Flow.FhirGetAsync($"Patient/{SyntheticIds.LymphedemaPatient}", accessToken[..^4] + "AAAA");
        App.Time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        using var expired = await Flow.FhirGetAsync($"Patient/{SyntheticIds.LymphedemaPatient}", accessToken);

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Contains("error=\"invalid_token\"", forged.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
    }

    [Fact]
    public async Task Patient_scopes_reach_only_the_launch_patient()
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.LymphedemaPatient);

        using var own = await Flow.FhirGetAsync($"Condition/{SyntheticIds.LymphedemaPatient}-i89-0", accessToken);
        using var other = await Flow.FhirGetAsync($"Condition/{SyntheticIds.PregnantPatient}-z33-1", accessToken);
        using var otherSearch = await Flow.FhirGetAsync($"Condition?patient={SyntheticIds.PregnantPatient}", accessToken);
        using var otherPatient = await Flow.FhirGetAsync($"Patient/{SyntheticIds.PregnantPatient}", accessToken);

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal(OperationOutcome.IssueType.Forbidden, (await OutcomeAsync(other)).Issue[0].Code);
        Assert.Equal(HttpStatusCode.Forbidden, otherSearch.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, otherPatient.StatusCode);
    }

    [Fact]
    public async Task A_type_outside_the_granted_scopes_is_refused_with_403()
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.AnticoagulatedSciaticaPatient);

        using var response = await Flow.FhirGetAsync($"MedicationRequest?patient={SyntheticIds.AnticoagulatedSciaticaPatient}", accessToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("insufficient_scope", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Searching_the_problem_list_by_patient_and_clinical_status_returns_a_searchset_bundle()
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.LymphedemaPatient);

        using var response = await Flow.FhirGetAsync($"Condition?patient=Patient/{SyntheticIds.LymphedemaPatient}&clinical-status=active&_count=50", accessToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var bundle = Strict.Deserialize<Bundle>(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(Bundle.BundleType.Searchset, bundle.Type);
        var condition = (Condition)Assert.Single(bundle.Entry).Resource!;
        Assert.Equal("I89.0", condition.Code!.Coding[0].Code);
        Assert.Equal(1, bundle.Total);
        Assert.Equal($"{App.FhirBase}/Condition/{condition.Id}", bundle.Entry[0].FullUrl);
    }

    [Fact]
    public async Task A_patient_scoped_search_without_a_patient_stays_inside_the_launch_patient()
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.FibromyalgiaPatient);

        using var response = await Flow.FhirGetAsync("Condition", accessToken);

        var bundle = Strict.Deserialize<Bundle>(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(4, bundle.Entry.Count);
        Assert.All(bundle.Entry, e => Assert.Equal($"Patient/{SyntheticIds.FibromyalgiaPatient}", ((Condition)e.Resource!).Subject!.Reference));
    }

    [Fact]
    public async Task A_service_request_can_be_created_with_a_create_scope_and_gets_201_and_a_location()
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.WorkersCompWristPatient);

        using var response = await Flow.FhirPostAsync("ServiceRequest", ServiceRequest(SyntheticIds.WorkersCompWristPatient), accessToken);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = Strict.Deserialize<ServiceRequest>(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal($"{App.FhirBase}/ServiceRequest/{created.Id}/_history/1", response.Headers.Location!.ToString());
        Assert.Equal("1", created.Meta!.VersionId);
    }

    [Fact]
    public async Task A_conditional_create_with_if_none_exist_stores_the_record_once_and_answers_200_with_its_location_on_a_repeat()
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.WorkersCompWristPatient);
        var placer = Guid.NewGuid().ToString();
        var json = ServiceRequest(SyntheticIds.WorkersCompWristPatient, placer);
        var condition = $"identifier=urn:example:placer|{placer}";

        using var first = await Flow.FhirPostAsync("ServiceRequest", json, accessToken, condition);
        using var second = await Flow.FhirPostAsync("ServiceRequest", json, accessToken, condition);
        using var unsupported = await Flow.FhirPostAsync("ServiceRequest", json, accessToken, "note=anything");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        // This launch may create ServiceRequests but not read them: told it exists, not shown it.
        Assert.Equal(OperationOutcome.IssueSeverity.Information, (await OutcomeAsync(second)).Issue[0].Severity);
        Assert.Single(App.Services.GetRequiredService<FhirStore>().All<ServiceRequest>(), r => r.Identifier.Any(i => i.Value == placer));
        Assert.Equal(HttpStatusCode.BadRequest, unsupported.StatusCode);
        Assert.Contains("If-None-Exist", (await OutcomeAsync(unsupported)).Issue[0].Diagnostics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Creating_for_another_patient_or_a_type_without_create_scope_is_refused_with_403()
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.WorkersCompWristPatient);

        using var otherPatient = await Flow.FhirPostAsync("ServiceRequest", ServiceRequest(SyntheticIds.PregnantPatient), accessToken);
        using var observation = await Flow.FhirPostAsync("Observation", ClientAssertionTests.PainObservation(SyntheticIds.WorkersCompWristPatient), accessToken);

        Assert.Equal(HttpStatusCode.Forbidden, otherPatient.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, observation.StatusCode);
    }

    [Theory]
    [InlineData("""{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/dana-whitfield"},"bogus":1}""", "ServiceRequest.bogus")]
    [InlineData("""{"resourceType":"ServiceRequest","status":"sleeping","intent":"order","subject":{"reference":"Patient/dana-whitfield"}}""", "ServiceRequest.status")]
    [InlineData("""{"resourceType":"ServiceRequest","intent":"order","subject":{"reference":"Patient/dana-whitfield"}}""", null)]
    [InlineData("""{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/dana-whitfield"}}""", null)]
    [InlineData("""not json""", null)]
    public async Task A_bad_body_is_refused_with_400_and_an_operation_outcome_naming_the_element(string json, string? expression)
    {
        var accessToken = await EhrLaunchTokenAsync(SyntheticIds.WorkersCompWristPatient);

        using var response = await Flow.FhirPostAsync("ServiceRequest", json, accessToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var outcome = await OutcomeAsync(response);
        Assert.Equal(OperationOutcome.IssueSeverity.Error, outcome.Issue[0].Severity);
        if (expression is not null)
        {
            Assert.Contains(expression, outcome.Issue[0].Expression);
        }
    }

    [Fact]
    public async Task The_capability_statement_is_open_and_names_the_oauth_endpoints()
    {
        using var response = await Flow.FhirGetAsync("metadata", accessToken: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var capabilities = Strict.Deserialize<CapabilityStatement>(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var oauth = capabilities.Rest[0].Security!.GetExtension("http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris");
        Assert.Equal($"{App.Base}/auth/token", ((FhirUri)oauth!.GetExtension("token")!.Value!).Value);
    }

    [Fact]
    public async Task User_and_v1_scopes_reach_any_patient_the_physician_can_see()
    {
        var pkce = Pkce.Create();
        using var authorize = await Flow.AuthorizeAsync(SmartFlow.AuthorizeParameters(pkce, "openid fhirUser user/Patient.read user/Coverage.read user/Practitioner.read", launch: null));
        using var approved = await Flow.AnswerConsentAsync(authorize, SyntheticIds.FamilyPhysician, patientId: null);
        var (_, body, _) = await Flow.RedeemCodeAsync(SmartFlow.RedirectParameters(approved)["code"], pkce.Verifier, Key);
        var accessToken = body.GetProperty("access_token").GetString();

        using var patient = await Flow.FhirGetAsync($"Patient/{SyntheticIds.AutoWhiplashPatient}", accessToken);
        using var coverage = await Flow.FhirGetAsync($"Coverage?patient={SyntheticIds.AutoWhiplashPatient}", accessToken);
        var fhirUser = (await Tokens.ValidateAsync(App, body.GetProperty("id_token").GetString()!, SmartFlow.SmartAppId)).Claim("fhirUser");
        using var me = await Flow.FhirGetAsync(fhirUser[(App.FhirBase.Length + 1)..], accessToken);

        Assert.Equal(HttpStatusCode.OK, patient.StatusCode);
        var bundle = Strict.Deserialize<Bundle>(await coverage.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var autoCoverage = (Coverage)Assert.Single(bundle.Entry).Resource!;
        Assert.Equal("AUTOPOL", autoCoverage.Type!.Coding[0].Code);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.False(body.TryGetProperty("patient", out _));
    }

    private async Task<string> EhrLaunchTokenAsync(string patientId)
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(patientId);
        var (status, body, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);
        Assert.Equal(HttpStatusCode.OK, status);
        return body.GetProperty("access_token").GetString()!;
    }

    private static async Task<OperationOutcome> OutcomeAsync(HttpResponseMessage response) =>
        Strict.Deserialize<OperationOutcome>(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

    private static string ServiceRequest(string patientId, string placer = "placer-1") => $$"""
        {
          "resourceType": "ServiceRequest",
          "identifier": [{ "system": "urn:example:placer", "value": "{{placer}}" }],
          "status": "active",
          "intent": "order",
          "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral" }] }],
          "code": { "coding": [{ "system": "http://www.ama-assn.org/go/cpt", "code": "97124" }] },
          "subject": { "reference": "Patient/{{patientId}}" },
          "reasonCode": [{ "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G56.01" }] }]
        }
        """;
}

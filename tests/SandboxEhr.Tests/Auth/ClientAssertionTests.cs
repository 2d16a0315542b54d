using System.Net;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Auth;

/// <summary>private_key_jwt client assertions (SMART client-confidential-asymmetric) and SMART Backend Services.</summary>
public sealed class ClientAssertionTests() : SandboxFlowTests(SmartFlow.FunctionsJwks, ClientKey.EcP384("functions-es384"))
{
    private const string JwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    [Fact]
    public async Task A_backend_services_client_gets_a_short_system_token_with_an_es384_assertion_and_can_create_observations()
    {
        var (status, body, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("system/Observation.c", body.GetProperty("scope").GetString());
        Assert.Equal(300, body.GetProperty("expires_in").GetInt32());
        Assert.False(body.TryGetProperty("refresh_token", out _));
        var accessToken = body.GetProperty("access_token").GetString();

        using var created = await Flow.FhirPostAsync("Observation", PainObservation(SandboxEhr.Data.SyntheticIds.LymphedemaPatient), accessToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var read = await Flow.FhirGetAsync(created.Headers.Location!.AbsolutePath["/fhir/".Length..].Split("/_history")[0], accessToken);
        Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
    }

    [Fact]
    public async Task A_backend_services_client_files_a_progress_report_DocumentReference_posted_as_FHIR_XML_in_the_patients_chart()
    {
        var (status, body, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()), "system/DocumentReference.c");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("system/DocumentReference.c", body.GetProperty("scope").GetString());
        var patient = SandboxEhr.Data.SyntheticIds.LymphedemaPatient;
        var content = System.Text.Encoding.UTF8.GetBytes("Progress report");
        var document = new Hl7.Fhir.Model.DocumentReference
        {
            Status = Hl7.Fhir.Model.DocumentReferenceStatus.Current,
            Type = new Hl7.Fhir.Model.CodeableConcept("http://loinc.org", "11506-3", "Progress note"),
            Subject = new Hl7.Fhir.Model.ResourceReference($"Patient/{patient}"),
            Content = [new Hl7.Fhir.Model.DocumentReference.ContentComponent { Attachment = new Hl7.Fhir.Model.Attachment { ContentType = "text/plain", Data = content, Size = content.Length } }],
        };

        using var created = await Flow.FhirPostAsync("DocumentReference", new FhirXmlSerializer().SerializeToString(document), body.GetProperty("access_token").GetString(), mediaType: "application/fhir+xml");
        using var notXml = await Flow.FhirPostAsync("DocumentReference", "<DocumentReference", body.GetProperty("access_token").GetString(), mediaType: "application/fhir+xml");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var stored = Assert.Single(App.Services.GetRequiredService<SandboxEhr.Fhir.FhirStore>().All<Hl7.Fhir.Model.DocumentReference>(), d => d.Subject?.Reference == $"Patient/{patient}");
        Assert.Equal(content, stored.Content.Single().Attachment.Data);
        Assert.Equal(HttpStatusCode.BadRequest, notXml.StatusCode);
    }

    [Fact]
    public async Task An_rs384_assertion_is_accepted_too()
    {
        using var rsa = ClientKey.Rsa("functions-rs384");
        App.Jwks.Serve(SmartFlow.FunctionsJwks, ClientKey.JwksJson(Key, rsa));

        var (status, _, _) = await BackendTokenAsync(rsa.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()));

        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task An_assertion_signed_with_a_key_that_is_not_registered_is_refused_with_invalid_client()
    {
        using var stranger = ClientKey.EcP384("not-registered");

        var (status, body, response) = await BackendTokenAsync(stranger.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task An_assertion_signed_by_another_key_under_a_registered_kid_is_refused_with_invalid_client()
    {
        using var impostor = ClientKey.EcP384(Key.Kid);

        var (status, body, _) = await BackendTokenAsync(impostor.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_reused_jti_is_refused_with_invalid_client()
    {
        var jti = Guid.NewGuid().ToString();
        var (first, _, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow(), jti: jti));
        Assert.Equal(HttpStatusCode.OK, first);

        var (second, body, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow(), jti: jti));

        Assert.Equal(HttpStatusCode.Unauthorized, second);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_assertion_for_another_audience_is_refused_with_invalid_client()
    {
        var (status, body, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, "http://localhost/other-token", App.Time.GetUtcNow()));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_assertion_that_lives_longer_than_five_minutes_is_refused_with_invalid_client()
    {
        var (status, body, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(10)));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_expired_assertion_is_refused_with_invalid_client()
    {
        var assertion = Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(1));
        App.Time.Advance(TimeSpan.FromMinutes(2));

        var (status, body, _) = await BackendTokenAsync(assertion);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_assertion_whose_sub_is_not_the_client_is_refused_with_invalid_client()
    {
        var (status, _, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow(), subject: "someone-else"));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task An_rs256_assertion_is_refused_because_smart_asks_for_rs384_or_es384()
    {
        using var rs256 = ClientKey.Rsa("functions-rs256", SecurityAlgorithms.RsaSha256);
        App.Jwks.Serve(SmartFlow.FunctionsJwks, ClientKey.JwksJson(Key, rs256));

        var (status, body, _) = await BackendTokenAsync(rs256.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_rotated_key_is_found_by_fetching_the_jwks_again_and_the_set_is_cached_otherwise()
    {
        var (first, _, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()));
        var (second, _, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()));
        Assert.Equal(HttpStatusCode.OK, first);
        Assert.Equal(HttpStatusCode.OK, second);
        Assert.Equal(1, App.Jwks.Fetches);

        using var next = ClientKey.EcP384("functions-next");
        App.Jwks.Serve(SmartFlow.FunctionsJwks, ClientKey.JwksJson(Key, next));
        var (rotated, _, _) = await BackendTokenAsync(next.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()));

        Assert.Equal(HttpStatusCode.OK, rotated);
        Assert.Equal(2, App.Jwks.Fetches);
    }

    [Fact]
    public async Task A_system_scope_the_backend_client_may_not_have_is_refused_with_invalid_scope()
    {
        var (status, body, _) = await BackendTokenAsync(Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow()), "system/Patient.rs");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_scope", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_client_registered_only_for_authorization_code_may_not_use_client_credentials()
    {
        using var smartKey = ClientKey.Rsa("smart-app-1");
        App.Jwks.Serve(SmartFlow.SmartAppJwks, ClientKey.JwksJson(smartKey));

        var (status, body, _) = await Flow.TokenAsync(
            ("grant_type", "client_credentials"),
            ("scope", "system/Observation.c"),
            ("client_assertion_type", JwtBearer),
            ("client_assertion", smartKey.Assertion(SmartFlow.SmartAppId, App.TokenEndpoint, App.Time.GetUtcNow())));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("unauthorized_client", body.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("password", "unsupported_grant_type")]
    [InlineData("", "invalid_request")]
    public async Task A_bad_grant_type_is_refused_per_rfc_6749(string grantType, string error)
    {
        var (status, body, _) = await Flow.TokenAsync(
            ("grant_type", grantType),
            ("client_assertion_type", JwtBearer),
            ("client_assertion", Key.Assertion(SmartFlow.FunctionsId, App.TokenEndpoint, App.Time.GetUtcNow())));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(error, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_token_request_without_client_authentication_is_refused_with_invalid_client()
    {
        var (status, body, _) = await Flow.TokenAsync(("grant_type", "client_credentials"), ("scope", "system/Observation.c"));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
    }

    private Task<(HttpStatusCode Status, System.Text.Json.JsonElement Body, HttpResponseMessage Response)> BackendTokenAsync(string assertion, string scope = "system/Observation.c") =>
        Flow.TokenAsync(
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_assertion_type", JwtBearer),
            ("client_assertion", assertion));

    public static string PainObservation(string patientId) => $$"""
        {
          "resourceType": "Observation",
          "status": "final",
          "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey" }] }],
          "code": { "coding": [{ "system": "http://loinc.org", "code": "72514-3", "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported" }] },
          "subject": { "reference": "Patient/{{patientId}}" },
          "valueInteger": 4
        }
        """;
}

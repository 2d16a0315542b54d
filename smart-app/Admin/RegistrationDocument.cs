using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Referrals;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Admin;

/// <summary>
/// What an EHR administrator registers, as RFC 7591 client metadata with SMART's <c>launch_uri</c>. Standard
/// fields are what a registration endpoint reads; <c>scope_reasons</c> and <c>backend_services</c> are this app's
/// own additions (a registration endpoint ignores members it does not know, RFC 7591 §2).
/// </summary>
public sealed record ClientRegistrationDocument(
    [property: JsonPropertyName("client_name")] string ClientName,
    [property: JsonPropertyName("launch_uri")] string LaunchUri,
    [property: JsonPropertyName("redirect_uris")] IReadOnlyList<string> RedirectUris,
    [property: JsonPropertyName("jwks_uri")] string JwksUri,
    [property: JsonPropertyName("token_endpoint_auth_method")] string TokenEndpointAuthMethod,
    [property: JsonPropertyName("token_endpoint_auth_signing_alg")] string TokenEndpointAuthSigningAlg,
    [property: JsonPropertyName("grant_types")] IReadOnlyList<string> GrantTypes,
    [property: JsonPropertyName("response_types")] IReadOnlyList<string> ResponseTypes,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("scope_v1")] string ScopeV1,
    [property: JsonPropertyName("scope_reasons")] IReadOnlyList<ScopeReason> ScopeReasons,
    [property: JsonPropertyName("backend_services")] BackendServicesRegistration BackendServices);

/// <summary>The functions app's SMART Backend Services client: it writes progress Observations (and the referral) into the EHR.</summary>
public sealed record BackendServicesRegistration(
    [property: JsonPropertyName("client_name")] string ClientName,
    [property: JsonPropertyName("jwks_uri")] string JwksUri,
    [property: JsonPropertyName("token_endpoint_auth_method")] string TokenEndpointAuthMethod,
    [property: JsonPropertyName("token_endpoint_auth_signing_alg")] string TokenEndpointAuthSigningAlg,
    [property: JsonPropertyName("grant_types")] IReadOnlyList<string> GrantTypes,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("scope_v1")] string ScopeV1,
    [property: JsonPropertyName("scope_reasons")] IReadOnlyList<ScopeReason> ScopeReasons);

public sealed record ScopeReason(
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("reason")] string Reason);

/// <summary>Builds the document from the app's own configuration, so what is served is what the app will ask for.</summary>
public sealed class RegistrationDocumentBuilder(
    IOptions<AppOptions> app,
    IOptions<FunctionsOptions> functions,
    IOptions<SigningKeyOptions> keys,
    EhrRegistry ehrs)
{
    public const string Path = "/.well-known/registration.json";
    public const string ClientName = "Medical-massage referral";
    public const string BackendScope = "system/Observation.c system/DocumentReference.c system/ServiceRequest.c";

    /// <summary>Why the app asks for each scope it may request (SMART App Launch 2.2: ask for no more than needed).</summary>
    private static readonly Dictionary<string, string> Reasons = new(StringComparer.Ordinal)
    {
        ["launch"] = "EHR launch: binds the app to the patient and encounter open in the chart.",
        ["launch/patient"] = "Standalone launch: the EHR asks the physician to pick the patient.",
        ["openid"] = "An id_token identifying the signed-in physician.",
        ["fhirUser"] = "The physician's FHIR resource in the id_token: the referral's requester.",
        ["online_access"] = "A refresh token while the physician works in the app, no longer (no offline access).",
        ["patient/Patient.rs"] = "The patient banner and the referral's subject.",
        ["patient/Condition.rs"] = "The problem list: suggests diagnoses and body sites.",
        ["patient/Coverage.rs"] = "Insurance on the referral (payer, policy and claim number).",
        ["patient/MedicationRequest.rs"] = "Medications: precautions such as anticoagulants.",
        ["patient/Encounter.r"] = "The visit the app is launched in: its reason names the diagnoses to pre-select.",
        ["user/Practitioner.rs"] = "The referring physician's name and identifiers.",
        ["user/PractitionerRole.rs"] = "The referring physician's role and organization.",
        ["user/Organization.r"] = "The payer of an auto or workers' compensation coverage: its phone and the claim's adjuster, for the therapist.",
        ["patient/Practitioner.rs"] = "The referring physician's name and identifiers.",
        ["patient/PractitionerRole.rs"] = "The referring physician's role and organization.",
        ["patient/Organization.r"] = "The payer of an auto or workers' compensation coverage: its phone and the claim's adjuster, for the therapist.",
        ["system/Observation.c"] = "Writes the therapist's session progress into the patient's chart.",
        ["system/DocumentReference.c"] = "Files the progress report and the discharge summary (PDF and XHTML) in the patient's chart; only for EHRs whose Ehrs:N:Writes is Documents or Both.",
        ["system/ServiceRequest.c"] = "Creates the sent referral in the EHR (the app's only writer of it); only for EHRs with the functions app's Ehrs:N:WriteServiceRequest = true.",
    };

    public ClientRegistrationDocument Build()
    {
        var baseUrl = app.Value.BaseUrl.TrimEnd('/');
        var functionsBase = functions.Value.BaseUrl.TrimEnd('/');

        // Everything any launch may ask for: both launch kinds, the defaults, and what an EHR's Scopes adds (no writes:
        // the referral's copy in the EHR is the backend-services client's).
        var scopes = new List<string> { "launch", "launch/patient" };
        scopes.AddRange(SmartScopes.Split(SmartScopes.Default));
        foreach (var ehr in ehrs.All)
        {
            scopes.AddRange(SmartScopes.Split(ehr.Scopes));
        }

        scopes = [.. scopes.Distinct(StringComparer.Ordinal)];
        var backendScopes = SmartScopes.Split(BackendScope).ToList();

        return new ClientRegistrationDocument(
            ClientName,
            baseUrl + "/launch",
            [app.Value.RedirectUri],
            baseUrl + "/.well-known/jwks.json",
            "private_key_jwt",
            keys.Value.Algorithm,
            ["authorization_code", "refresh_token"],
            ["code"],
            string.Join(' ', scopes),
            string.Join(' ', scopes.Select(SmartScopes.ToV1).Distinct(StringComparer.Ordinal)),
            [.. scopes.Select(s => new ScopeReason(s, ReasonFor(s)))],
            new BackendServicesRegistration(
                ClientName + " (progress write-back)",
                functionsBase + "/api/backend/jwks.json",
                "private_key_jwt",
                "RS384",
                ["client_credentials"],
                BackendScope,
                string.Join(' ', backendScopes.Select(SmartScopes.ToV1).Distinct(StringComparer.Ordinal)),
                [.. backendScopes.Select(s => new ScopeReason(s, ReasonFor(s)))]));
    }

    private string ReasonFor(string scope) =>
        Reasons.TryGetValue(scope, out var reason) ? reason
        : $"Configured in Ehrs:N:Scopes for {string.Join(", ", ehrs.All.Where(e => SmartScopes.Split(e.Scopes).Contains(scope)).Select(e => string.IsNullOrEmpty(e.Name) ? e.Iss : e.Name))}.";
}

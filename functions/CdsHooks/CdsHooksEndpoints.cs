using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Referral.Functions.Audit;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Referral.Functions.CdsHooks;

/// <summary>
/// CDS Hooks 2.0: discovery at <c>/cds-services</c>, and two services an EHR calls while the physician works.
/// <c>patient-view</c> suggests a referral for an active problem in the referral's condition value set that no open
/// referral covers; <c>order-select</c> offers to finish a massage order in the app and names what it lacks.
/// Served by the API, not the smart-app: the API holds what a card depends on (the open referrals, the shared jti
/// replay store, the audit trail), so answering needs no second hop inside the hook's time budget.
/// Every call is audited; an EHR whose JWT fails any check gets 401 and no card.
/// </summary>
public static partial class CdsHooksEndpoints
{
    public const string PatientViewId = "medical-massage-referral";
    public const string OrderSelectId = "medical-massage-order";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly FhirJsonDeserializer Lenient = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    private static readonly CdsDiscovery Discovery = new(
    [
        new("patient-view", PatientViewId, "Medical-massage referral",
            "Suggests a medical-massage referral when the patient has an active condition massage is prescribed for (lymphedema, "
            + "sciatica, carpal tunnel and the rest of the referral's condition value set) and no open referral for it; names the "
            + "therapist training the condition needs and the precautions in the record, and launches the referral app with the diagnosis chosen.",
            HookRecords.Prefetch,
            "Register the referral SMART app too: the card's link launches it (appContext carries the diagnosis)."),
        new("order-select", OrderSelectId, "Medical-massage order",
            "When a massage order (CPT 97124 or 97140, SNOMED CT 387854002) is picked, offers to finish it in the referral app and "
            + "warns of what it lacks: a diagnosis, a body site, a note for a precaution the record shows.",
            HookRecords.Prefetch,
            "Register the referral SMART app too: the card's link launches it."),
    ]);

    public static IServiceCollection AddCdsHooks(this IServiceCollection services)
    {
        services.AddOptions<CdsHooksOptions>().BindConfiguration(CdsHooksOptions.Section)
            .Validate(o => o.Clients.Count == 0 || Uri.TryCreate(o.BaseUrl, UriKind.Absolute, out _), "CdsHooks:BaseUrl must be the API's absolute public URL (the aud of the EHRs' JWTs) when CdsHooks:Clients lists any EHR.")
            .Validate(o => o.Clients.Count == 0 || Uri.TryCreate(o.AppLaunchUrl, UriKind.Absolute, out _), "CdsHooks:AppLaunchUrl must be the smart-app's absolute launch URL (the cards' link).")
            .Validate(o => o.Clients.All(c => !string.IsNullOrWhiteSpace(c.Issuer) && Uri.TryCreate(c.JwksUrl, UriKind.Absolute, out _) && Uri.TryCreate(c.FhirServer, UriKind.Absolute, out _)),
                "Each CdsHooks:Clients entry needs Issuer, an absolute JwksUrl and an absolute FhirServer.")
            .Validate(o => o.Clients.All(c => c.MaxTokenLifetime > TimeSpan.Zero && c.MaxTokenLifetime <= TimeSpan.FromHours(1)), "Each CdsHooks:Clients entry's MaxTokenLifetime must be more than zero and at most an hour.")
            .Validate(o => o.FhirTimeout > TimeSpan.Zero && o.FhirTimeout <= TimeSpan.FromSeconds(5), "CdsHooks:FhirTimeout must be more than zero and at most five seconds (an EHR's hook budget).")
            .ValidateOnStart();
        services.AddSingleton<CdsClientTokens>();
        services.AddSingleton<HookRecords>();
        // CdsClientTokens.KeySetTimeout bounds the fetch on the app's clock; HttpClient's own timeout is a backstop behind it.
        services.AddHttpClient(CdsClientTokens.HttpClientName, client => client.Timeout = CdsClientTokens.KeySetTimeout * 2);
        services.AddHttpClient(HookRecords.HttpClientName);
        return services;
    }

    public static void MapCdsHooks(this IEndpointRouteBuilder app)
    {
        // Discovery is public: it describes the services, never a patient.
        app.MapGet("/cds-services", () => Results.Json(Discovery, Json)).WithName("cds-discovery");
        app.MapPost("/cds-services/{id}", CallAsync).WithName("cds-service");
    }

    /// <summary>
    /// What the endpoints use; each member is marked a service for the reason
    /// <see cref="Referral.Functions.Referrals.ReferralEndpoints.Services"/> gives.
    /// </summary>
    public sealed record Services(
        [FromServices] CdsClientTokens Tokens,
        [FromServices] HookRecords Records,
        [FromServices] ReferralStore Store,
        [FromServices] AuditTrail Audit,
        [FromServices] IOptions<CdsHooksOptions> Options,
        [FromServices] ILogger<CdsHooksOptions> Logger);

    private static async Task<IResult> CallAsync(HttpContext http, string id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        if (id is not (PatientViewId or OrderSelectId))
        {
            return Results.NotFound();
        }

        var authentication = await services.Tokens.AuthenticateAsync(http.Request.Headers.Authorization.ToString(), id, cancellationToken);
        var caller = new Caller
        {
            Kind = CallerKind.Ehr,
            Id = authentication.Client?.Issuer ?? authentication.ClaimedIssuer ?? "unknown",
            Display = authentication.Client is { } known ? "CDS client " + known.Issuer : "Unverified CDS client (claimed issuer: " + (authentication.ClaimedIssuer ?? "none") + ")",
        };
        if (!authentication.Succeeded)
        {
            LogRefused(services.Logger, id, authentication.Refusal!);
            await services.Audit.RecordAsync(Entry(http, caller, id, patient: null, success: false), cancellationToken);
            http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return Results.Unauthorized();
        }

        CdsRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<CdsRequest>(http.Request.Body, Json, cancellationToken);
        }
        catch (JsonException)
        {
            request = null;
        }

        var expectedHook = id == PatientViewId ? "patient-view" : "order-select";
        var patientId = request?.ContextString("patientId");
        if (request is null || request.Hook != expectedHook || string.IsNullOrEmpty(patientId) || patientId.Contains('/', StringComparison.Ordinal))
        {
            await services.Audit.RecordAsync(Entry(http, caller, id, patient: null, success: false), cancellationToken);
            return Results.BadRequest(new { error = $"A {expectedHook} request names hook \"{expectedHook}\" and context.patientId (an id)." });
        }

        var patient = "Patient/" + patientId;
        var client = authentication.Client!;
        var launchUrl = services.Options.Value.AppLaunchUrl;
        var record = await services.Records.ReadAsync(request, client, patientId, cancellationToken);
        CdsResponse response;
        if (id == PatientViewId)
        {
            response = record is null ? CdsResponse.None : await PatientViewAsync(services, client, patient, record, launchUrl, cancellationToken);
        }
        else
        {
            response = OrderSelect(request, record, launchUrl);
        }

        await services.Audit.RecordAsync(Entry(http, caller, id, patient, success: true), cancellationToken);
        return Results.Json(response, Json);
    }

    private static async Task<CdsResponse> PatientViewAsync(Services services, CdsClient client, string patient, HookRecord record, string launchUrl, CancellationToken cancellationToken)
    {
        var candidates = ReferralCards.Candidates(record.Conditions);
        if (candidates.Count == 0)
        {
            return CdsResponse.None;
        }

        // Referrals are stored under the EHR's FHIR base, as the launches' iss named it.
        var referrals = await services.Store.FindAsync(ReferralLookup.Patient, client.FhirServer.TrimEnd('/'), patient, cancellationToken);
        var covered = referrals.Where(IsOpen)
            .SelectMany(r => ReferralSummary.Of(r.Request, r.Task).Diagnoses)
            .Select(d => d.Condition).OfType<MassageCondition>().Select(c => c.Key)
            .ToHashSet(StringComparer.Ordinal);
        var card = ReferralCards.PatientView([.. candidates.Where(c => !covered.Contains(c.Condition.Key))], record, launchUrl);
        return card is null ? CdsResponse.None : new CdsResponse([card]);
    }

    private static CdsResponse OrderSelect(CdsRequest request, HookRecord? record, string launchUrl)
    {
        if (!request.Context.TryGetProperty("draftOrders", out var draftOrders) || draftOrders.ValueKind != JsonValueKind.Object)
        {
            return CdsResponse.None;
        }

        var selections = request.Context.TryGetProperty("selections", out var selected) && selected.ValueKind == JsonValueKind.Array
            ? selected.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.String).Select(s => s.GetString()!).ToHashSet(StringComparer.Ordinal)
            : [];
        Bundle bundle;
        try
        {
            bundle = Lenient.Deserialize<Bundle>(draftOrders.GetRawText());
        }
        catch (DeserializationFailedException)
        {
            return CdsResponse.None;
        }

        var cards = bundle.Entry.Select(e => e.Resource).OfType<ServiceRequest>()
            .Where(r => selections.Contains("ServiceRequest/" + r.Id) && ReferralCards.IsMassageOrder(r))
            .Select(r => ReferralCards.OrderSelect(r, record, launchUrl))
            .ToList();
        return new CdsResponse(cards);
    }

    /// <summary>An active order whose fulfilment has not ended (declined, cancelled, completed or failed).</summary>
    private static bool IsOpen(StoredReferral referral) =>
        referral.Request.Status == RequestStatus.Active
        && referral.Task.Status is not (FhirTask.TaskStatus.Completed or FhirTask.TaskStatus.Cancelled or FhirTask.TaskStatus.Rejected
            or FhirTask.TaskStatus.Failed or FhirTask.TaskStatus.EnteredInError);

    // The hook reads the patient's problem list (and medications) to decide on a card.
    private static AuditEntry Entry(HttpContext http, Caller caller, string service, string? patient, bool success) =>
        AuditEntry.Of(http, caller, "operation", AuditEvent.AuditEventAction.E, "PlanDefinition/" + service, patient, success);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CDS call to {Service} refused: {Reason}.")]
    private static partial void LogRefused(ILogger logger, string service, string reason);
}

using System.Net.Http.Headers;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.Options;
using Referral.Model;

namespace Referral.Functions.CdsHooks;

/// <summary>What a hook needs of the patient's record: the active problem list and the active medications.</summary>
public sealed record HookRecord(IReadOnlyList<Condition> Conditions, IReadOnlyList<MedicationRequest> Medications);

/// <summary>
/// The record from the EHR's prefetch, or, for a prefetch key the EHR left out, from its FHIR server with the access
/// token it sent (<c>fhirAuthorization</c>). The server is asked only when it is the calling EHR's registered one, and
/// only within <see cref="CdsHooksOptions.FhirTimeout"/>: a slow, failing or refusing server means no record (null),
/// so no card, never an error.
/// </summary>
public sealed partial class HookRecords(IHttpClientFactory http, IOptions<CdsHooksOptions> options, TimeProvider time, ILogger<HookRecords> logger)
{
    public const string HttpClientName = "cds-fhir";
    public const string ConditionsKey = "conditions";
    public const string MedicationsKey = "medications";

    /// <summary>Prefetch templates (CDS Hooks 2.0) for what both hooks need: the active problem list and active medications.</summary>
    public static IReadOnlyDictionary<string, string> Prefetch { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [ConditionsKey] = "Condition?patient={{context.patientId}}&clinical-status=active&category=problem-list-item",
        [MedicationsKey] = "MedicationRequest?patient={{context.patientId}}&status=active",
    };

    // EHRs add elements and extensions of their own; what the hook does not read must not stop it.
    private static readonly FhirJsonDeserializer Lenient = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    public async Task<HookRecord?> ReadAsync(CdsRequest request, CdsClient client, string patientId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        using var budget = new Deadline(options.Value.FhirTimeout, time, cancellationToken);
        try
        {
            var conditions = ResourcesAsync<Condition>(request, client, ConditionsKey, patientId, budget.Token);
            var medications = ResourcesAsync<MedicationRequest>(request, client, MedicationsKey, patientId, budget.Token);
            var (foundConditions, foundMedications) = (await conditions, await medications);
            if (foundConditions is null)
            {
                return null;
            }

            return new HookRecord(
                [.. foundConditions.Where(c => IsActive(c) && IsFor(c.Subject, patientId))],
                [.. (foundMedications ?? []).Where(m => m.Status is MedicationRequest.MedicationrequestStatus.Active && IsFor(m.Subject, patientId))]);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogSlow(logger, client.Issuer, options.Value.FhirTimeout.TotalMilliseconds);
            return null;
        }
        catch (Exception e) when (e is FhirOperationException or HttpRequestException or DeserializationFailedException or FormatException or JsonException)
        {
            // The reason's type only: a FHIR server's error text may quote the record.
            LogFailed(logger, client.Issuer, e.GetType().Name);
            return null;
        }
    }

    /// <summary>The resources of one prefetch key: from the prefetch when the EHR sent the key (null there: none), else from the FHIR server; null when neither can say.</summary>
    private async Task<IReadOnlyList<T>?> ResourcesAsync<T>(CdsRequest request, CdsClient client, string key, string patientId, CancellationToken cancellationToken)
        where T : Resource, new()
    {
        if (request.Prefetch is not null && request.Prefetch.TryGetValue(key, out var prefetched))
        {
            if (prefetched.ValueKind == JsonValueKind.Null)
            {
                return [];
            }

            var resource = Lenient.Deserialize<Resource>(prefetched.GetRawText());
            return resource switch
            {
                Bundle bundle => [.. bundle.Entry.Select(e => e.Resource).OfType<T>()],
                T single => [single],
                _ => [],
            };
        }

        if (request.FhirAuthorization?.AccessToken is not { Length: > 0 } accessToken
            || !string.Equals(request.FhirServer?.TrimEnd('/'), client.FhirServer.TrimEnd('/'), StringComparison.Ordinal))
        {
            return null;
        }

        using var httpClient = http.CreateClient(HttpClientName);
        httpClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        var fhir = new FhirClient(new Uri(client.FhirServer.TrimEnd('/') + "/"), httpClient, new FhirClientSettings
        {
            VerifyFhirVersion = false,
            PreferredFormat = ResourceFormat.Json,
        });
        var criteria = Prefetch[key].Split('?')[1].Replace("{{context.patientId}}", Uri.EscapeDataString(patientId), StringComparison.Ordinal).Split('&');
        var found = new List<T>();
        // The first page only: a problem list or medication list longer than a page is beyond what a card needs.
        var page = await fhir.SearchAsync<T>(criteria, ct: cancellationToken);
        found.AddRange(page?.Entry.Select(e => e.Resource).OfType<T>() ?? []);
        return found;
    }

    private static bool IsActive(Condition condition) =>
        condition.ClinicalStatus?.Coding.Any(c => c.Code is "active" or "recurrence" or "relapse") == true
        && condition.VerificationStatus?.Coding.Any(c => c.Code is "refuted" or "entered-in-error") != true;

    /// <summary>A resource of another patient (a prefetch mix-up) is never read as this patient's.</summary>
    private static bool IsFor(ResourceReference? subject, string patientId) =>
        subject?.Reference is { } reference && Security.FhirReference.Key(reference) == "Patient/" + patientId;

    [LoggerMessage(Level = LogLevel.Warning, Message = "The FHIR server of CDS client {Issuer} did not answer within {Milliseconds} ms: no card.")]
    private static partial void LogSlow(ILogger logger, string issuer, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the record from the FHIR server of CDS client {Issuer} failed ({Reason}): no card.")]
    private static partial void LogFailed(ILogger logger, string issuer, string reason);
}

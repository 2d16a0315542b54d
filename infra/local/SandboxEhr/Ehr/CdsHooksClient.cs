using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Model;
using SandboxEhr.Auth;
using SandboxEhr.Fhir;

namespace SandboxEhr.Ehr;

/// <summary>A card as the EHR shows it.</summary>
public sealed record CdsCard(
    [property: JsonPropertyName("summary")] string Summary,
    [property: JsonPropertyName("detail")] string? Detail,
    [property: JsonPropertyName("indicator")] string Indicator,
    [property: JsonPropertyName("source")] CdsSource? Source,
    [property: JsonPropertyName("links")] IReadOnlyList<CdsLink>? Links);

public sealed record CdsSource([property: JsonPropertyName("label")] string Label);

public sealed record CdsLink(
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("appContext")] string? AppContext);

/// <summary>
/// The EHR as a CDS Hooks client, as a real one behaves: it discovers the services, sends each call with a JWT signed
/// by its own key (published in its JWKS; <c>iss</c> its base URL, <c>aud</c> the service's URL, five minutes, a fresh
/// <c>jti</c>) and the prefetch the service asked for, read from its own records. A service that fails or is slow
/// leaves the chart without cards.
/// </summary>
public sealed partial class CdsHooksClient(IHttpClientFactory http, SigningKeys keys, FhirStore store, IOptions<SandboxOptions> options, TimeProvider time, ILogger<CdsHooksClient> logger)
{
    public const string HttpClientName = "cds-hooks";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<IReadOnlyList<CdsCard>> CallAsync(
        SandboxEndpoints urls, string hook, string patientId, string practitionerId, CancellationToken cancellationToken, Action<JsonObject>? context = null)
    {
        if (string.IsNullOrEmpty(options.Value.CdsServices))
        {
            return [];
        }

        var servicesBase = options.Value.CdsServices.TrimEnd('/') + "/cds-services";
        // The budget runs on the sandbox's clock (a test's fake clock decides when the services took too long).
        using var budget = new Deadline(options.Value.CdsTimeout, time, cancellationToken);
        try
        {
            using var client = http.CreateClient(HttpClientName);
            using var discovery = JsonDocument.Parse(await client.GetStringAsync(new Uri(servicesBase), budget.Token));
            var cards = new List<CdsCard>();
            foreach (var service in discovery.RootElement.GetProperty("services").EnumerateArray().Where(s => s.GetProperty("hook").GetString() == hook))
            {
                var id = service.GetProperty("id").GetString()!;
                var request = Request(urls, hook, patientId, practitionerId, service);
                context?.Invoke(request["context"]!.AsObject());
                using var message = new HttpRequestMessage(HttpMethod.Post, new Uri($"{servicesBase}/{Uri.EscapeDataString(id)}"))
                {
                    Content = new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"),
                };
                message.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Jwt(urls, $"{servicesBase}/{id}"));
                using var response = await client.SendAsync(message, budget.Token);
                if (!response.IsSuccessStatusCode)
                {
                    LogRefused(logger, id, (int)response.StatusCode);
                    continue;
                }

                var answer = await response.Content.ReadFromJsonAsync<CdsAnswer>(Json, budget.Token);
                cards.AddRange(answer?.Cards ?? []);
            }

            return cards;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or KeyNotFoundException or InvalidOperationException
                                   && !cancellationToken.IsCancellationRequested)
        {
            LogFailed(logger, hook, e.GetType().Name);
            return [];
        }
    }

    private JsonObject Request(SandboxEndpoints urls, string hook, string patientId, string practitionerId, JsonElement service)
    {
        var prefetch = new JsonObject();
        if (service.TryGetProperty("prefetch", out var templates) && templates.ValueKind == JsonValueKind.Object)
        {
            foreach (var template in templates.EnumerateObject())
            {
                // The two templates this EHR fills from its own records; any other is left out, and the service may read it.
                var type = template.Value.GetString()?.Split('?')[0];
                Bundle? bundle = type switch
                {
                    "Condition" => Searchset(store.All<Condition>().Where(c => PatientCompartment.PatientOf(c) == patientId
                        && c.ClinicalStatus?.Coding.Any(x => x.Code == "active") == true && c.Category.Any(x => x.Coding.Any(y => y.Code == "problem-list-item")))),
                    "MedicationRequest" => Searchset(store.All<MedicationRequest>().Where(m => PatientCompartment.PatientOf(m) == patientId
                        && m.Status == MedicationRequest.MedicationrequestStatus.Active)),
                    _ => null,
                };
                if (bundle is not null)
                {
                    prefetch[template.Name] = JsonNode.Parse(FhirJson.Serialize(bundle));
                }
            }
        }

        return new JsonObject
        {
            ["hook"] = hook,
            ["hookInstance"] = Guid.NewGuid().ToString(),
            ["fhirServer"] = urls.Fhir,
            ["context"] = new JsonObject { ["userId"] = $"Practitioner/{practitionerId}", ["patientId"] = patientId },
            ["prefetch"] = prefetch,
        };
    }

    private static Bundle Searchset(IEnumerable<Resource> resources)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Searchset };
        bundle.Entry.AddRange(resources.Select(r => new Bundle.EntryComponent { Resource = r }));
        bundle.Total = bundle.Entry.Count;
        return bundle;
    }

    private string Jwt(SandboxEndpoints urls, string serviceUrl)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = urls.Issuer,
            Audience = serviceUrl,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            Subject = new ClaimsIdentity(),
            Claims = new Dictionary<string, object> { ["jti"] = RandomTokens.Create(), ["sub"] = "sandbox-ehr-cds-client" },
            SigningCredentials = keys.Credentials,
        });
    }

    private sealed record CdsAnswer([property: JsonPropertyName("cards")] IReadOnlyList<CdsCard>? Cards);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The CDS service {Service} answered {Status}: no cards from it.")]
    private static partial void LogRefused(ILogger logger, string service, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The CDS services for {Hook} failed ({Reason}): the page shows without cards.")]
    private static partial void LogFailed(ILogger logger, string hook, string reason);
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Referral.Functions.CdsHooks;

/// <summary>The CDS Hooks 2.0 request envelope (not FHIR: its FHIR parts, prefetch and draft orders, are parsed by Firely).</summary>
public sealed record CdsRequest
{
    [JsonPropertyName("hook")]
    public string? Hook { get; init; }

    [JsonPropertyName("hookInstance")]
    public string? HookInstance { get; init; }

    [JsonPropertyName("fhirServer")]
    public string? FhirServer { get; init; }

    [JsonPropertyName("fhirAuthorization")]
    public CdsFhirAuthorization? FhirAuthorization { get; init; }

    [JsonPropertyName("context")]
    public JsonElement Context { get; init; }

    [JsonPropertyName("prefetch")]
    public Dictionary<string, JsonElement>? Prefetch { get; init; }

    public string? ContextString(string name) =>
        Context.ValueKind == JsonValueKind.Object && Context.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

public sealed record CdsFhirAuthorization
{
    [JsonPropertyName("access_token")]
    public string? AccessToken { get; init; }

    [JsonPropertyName("token_type")]
    public string? TokenType { get; init; }

    [JsonPropertyName("scope")]
    public string? Scope { get; init; }

    [JsonPropertyName("subject")]
    public string? Subject { get; init; }
}

public sealed record CdsResponse([property: JsonPropertyName("cards")] IReadOnlyList<CdsCard> Cards)
{
    public static CdsResponse None { get; } = new([]);
}

public sealed record CdsCard
{
    [JsonPropertyName("uuid")]
    public required string Uuid { get; init; }

    [JsonPropertyName("summary")]
    public required string Summary { get; init; }

    [JsonPropertyName("detail")]
    public string? Detail { get; init; }

    /// <summary><c>info</c>, <c>warning</c> or <c>critical</c>.</summary>
    [JsonPropertyName("indicator")]
    public required string Indicator { get; init; }

    [JsonPropertyName("source")]
    public required CdsSource Source { get; init; }

    [JsonPropertyName("links")]
    public IReadOnlyList<CdsLink> Links { get; init; } = [];
}

public sealed record CdsSource([property: JsonPropertyName("label")] string Label);

public sealed record CdsLink
{
    [JsonPropertyName("label")]
    public required string Label { get; init; }

    [JsonPropertyName("url")]
    public required string Url { get; init; }

    /// <summary><c>smart</c>: the EHR launches the URL as a SMART app, handing it <see cref="AppContext"/> in the token response.</summary>
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("appContext")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AppContext { get; init; }
}

public sealed record CdsDiscovery([property: JsonPropertyName("services")] IReadOnlyList<CdsServiceDescription> Services);

public sealed record CdsServiceDescription(
    [property: JsonPropertyName("hook")] string Hook,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("prefetch")] IReadOnlyDictionary<string, string> Prefetch,
    [property: JsonPropertyName("usageRequirements")] string UsageRequirements);

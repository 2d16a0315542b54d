using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Referral.Functions.Triggers;

/// <summary>
/// What the Functions host POSTs to <c>/{FunctionName}</c> for a non-HTTP trigger (custom handler request payload):
/// <c>Data</c> holds the trigger's value under its binding name, <c>Metadata</c> the trigger metadata
/// (for a queue: <c>DequeueCount</c>, <c>Id</c>, <c>InsertionTime</c>, <c>ExpirationTime</c>, <c>NextVisibleTime</c>,
/// <c>PopReceipt</c>; always <c>sys</c>).
/// </summary>
public sealed record InvocationRequest
{
    public Dictionary<string, JsonElement> Data { get; init; } = [];

    public Dictionary<string, JsonElement> Metadata { get; init; } = [];

    /// <summary>
    /// The text of a queue message bound as <paramref name="binding"/>. The documented payload carries it as a JSON
    /// string; the host's own serializer (GetHttpScriptInvocationContextValue) JSON-encodes strings once more, and a
    /// JSON message may arrive as an object. All three forms give back the message text.
    /// </summary>
    public string? MessageText(string binding)
    {
        if (!Data.TryGetValue(binding, out var value))
        {
            return null;
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
                {
                    try
                    {
                        return JsonSerializer.Deserialize<string>(text) ?? text;
                    }
                    catch (JsonException)
                    {
                        return text;
                    }
                }

                return text;
            case JsonValueKind.Object or JsonValueKind.Array:
                return value.GetRawText();
            default:
                return null;
        }
    }

    /// <summary>When the message was put on the queue, where the metadata says (a string, possibly JSON-encoded once more).</summary>
    public DateTimeOffset? InsertionTime() =>
        Metadata.TryGetValue("InsertionTime", out var value) && value.ValueKind == JsonValueKind.String
        && DateTimeOffset.TryParse(value.GetString()!.Trim('"'), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;

    /// <summary>How many times the queue has handed this message out, 1 the first time: a number, or a string holding one.</summary>
    public int DequeueCount()
    {
        if (!Metadata.TryGetValue("DequeueCount", out var value))
        {
            return 1;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
        {
            return number;
        }

        return value.ValueKind == JsonValueKind.String
            && int.TryParse(value.GetString()!.Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : 1;
    }
}

/// <summary>The answer the host expects: outputs by binding name, invocation log lines, and the <c>$return</c> value.</summary>
public sealed record InvocationResponse
{
    public Dictionary<string, object?> Outputs { get; init; } = [];

    public IReadOnlyList<string> Logs { get; init; } = [];

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? ReturnValue { get; init; }

    public static IResult Ok(params string[] logs) => Results.Json(new InvocationResponse { Logs = logs }, Json.Options);

    /// <summary>A failure: the host leaves the message on the queue to be retried (and, after the last try, moves it to the poison queue).</summary>
    public static IResult Failed(string log, int statusCode = StatusCodes.Status500InternalServerError) =>
        Results.Json(new InvocationResponse { Logs = [log] }, Json.Options, statusCode: statusCode);
}

/// <summary>The host's timer value: <c>{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{...},"IsPastDue":false}</c>.</summary>
public sealed record TimerInfo
{
    public TimerScheduleInfo? Schedule { get; init; }

    public TimerScheduleStatus? ScheduleStatus { get; init; }

    public bool IsPastDue { get; init; }
}

public sealed record TimerScheduleInfo
{
    public bool AdjustForDST { get; init; } = true;
}

public sealed record TimerScheduleStatus
{
    public DateTimeOffset Last { get; init; }

    public DateTimeOffset Next { get; init; }

    public DateTimeOffset LastUpdated { get; init; }
}

public static class Json
{
    /// <summary>The host writes and reads these payloads with PascalCase names (Newtonsoft defaults).</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = null,
        PropertyNameCaseInsensitive = true,
    };
}

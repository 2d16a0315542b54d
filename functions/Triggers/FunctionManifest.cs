using System.Globalization;
using System.Text.Json;

namespace Referral.Functions.Triggers;

public enum TriggerKind
{
    Http,
    Queue,
    Timer,
    Other,
}

/// <summary>One function folder's trigger, as its <c>function.json</c> declares it.</summary>
public sealed record FunctionDefinition
{
    public required string Name { get; init; }

    public required TriggerKind Kind { get; init; }

    /// <summary>The trigger binding's name: the key of its value in the invocation's <c>Data</c>.</summary>
    public required string Binding { get; init; }

    /// <summary>Queue triggers: the queue, with <c>%setting%</c> already resolved.</summary>
    public string? QueueName { get; init; }

    /// <summary>Queue triggers: the setting that names the storage account.</summary>
    public string? Connection { get; init; }

    /// <summary>Timer triggers: the NCRONTAB schedule, with <c>%setting%</c> already resolved.</summary>
    public string? Schedule { get; init; }
}

/// <summary>The queue settings of <c>host.json</c> (<c>extensions.queues</c>), with the host's defaults.</summary>
public sealed record QueueHostSettings
{
    /// <summary>After this many failed tries the host moves a message to <c>{queue}-poison</c>.</summary>
    public int MaxDequeueCount { get; init; } = 5;

    /// <summary>How long a failed message stays invisible before its next try: the retry backoff.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;

    public int BatchSize { get; init; } = 16;
}

/// <summary>
/// The functions as the Functions host sees them: every folder next to <c>host.json</c> holding a
/// <c>function.json</c>. Binding properties written <c>%name%</c> are app settings, resolved as the host does.
/// </summary>
public sealed class FunctionManifest
{
    private FunctionManifest(IReadOnlyList<FunctionDefinition> functions, QueueHostSettings queues)
    {
        Functions = functions;
        Queues = queues;
    }

    public IReadOnlyList<FunctionDefinition> Functions { get; }

    public QueueHostSettings Queues { get; }

    public static FunctionManifest Read(string root, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var functions = new List<FunctionDefinition>();
        foreach (var file in Directory.EnumerateFiles(root, "function.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var folder = Path.GetDirectoryName(file)!;
            // Only the folders beside host.json are functions (not copies under bin/ or obj/).
            if (!string.Equals(Path.GetDirectoryName(folder), Path.TrimEndingDirectorySeparator(root), StringComparison.Ordinal))
            {
                continue;
            }

            using var json = JsonDocument.Parse(File.ReadAllText(file));
            var trigger = json.RootElement.GetProperty("bindings").EnumerateArray()
                .First(b => b.TryGetProperty("type", out var type) && type.GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            var type = trigger.GetProperty("type").GetString();
            functions.Add(new FunctionDefinition
            {
                Name = Path.GetFileName(folder),
                Kind = type switch
                {
                    "httpTrigger" => TriggerKind.Http,
                    "queueTrigger" => TriggerKind.Queue,
                    "timerTrigger" => TriggerKind.Timer,
                    _ => TriggerKind.Other,
                },
                Binding = trigger.GetProperty("name").GetString()!,
                QueueName = Resolve(Property(trigger, "queueName"), configuration),
                Connection = Property(trigger, "connection") ?? "AzureWebJobsStorage",
                Schedule = Resolve(Property(trigger, "schedule"), configuration),
            });
        }

        return new FunctionManifest(functions, ReadQueueSettings(Path.Combine(root, "host.json")));
    }

    /// <summary>host.json's queue settings (retries, visibility timeout, batch size); the defaults when it says none.</summary>
    public static QueueHostSettings ReadQueueSettings(string hostJson)
    {
        var settings = new QueueHostSettings();
        if (!File.Exists(hostJson))
        {
            return settings;
        }

        using var json = JsonDocument.Parse(File.ReadAllText(hostJson));
        if (!json.RootElement.TryGetProperty("extensions", out var extensions) || !extensions.TryGetProperty("queues", out var queues))
        {
            return settings;
        }

        if (queues.TryGetProperty("maxDequeueCount", out var max))
        {
            settings = settings with { MaxDequeueCount = max.GetInt32() };
        }

        if (queues.TryGetProperty("visibilityTimeout", out var visibility))
        {
            settings = settings with { VisibilityTimeout = TimeSpan.Parse(visibility.GetString()!, CultureInfo.InvariantCulture) };
        }

        if (queues.TryGetProperty("batchSize", out var batch))
        {
            settings = settings with { BatchSize = batch.GetInt32() };
        }

        return settings;
    }

    private static string? Property(JsonElement binding, string name) =>
        binding.TryGetProperty(name, out var value) ? value.GetString() : null;

    /// <summary>The host reads <c>%name%</c> in a binding property as the app setting <c>name</c>.</summary>
    private static string? Resolve(string? value, IConfiguration configuration)
    {
        if (value is not { Length: > 2 } || value[0] != '%' || value[^1] != '%')
        {
            return value;
        }

        var setting = value[1..^1];
        return configuration[setting] ?? throw new InvalidOperationException($"The binding setting '{setting}' does not resolve to a value.");
    }
}

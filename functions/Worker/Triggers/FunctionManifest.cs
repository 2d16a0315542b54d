using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;

namespace Referral.Worker.Triggers;

public enum TriggerKind
{
    Queue,
    Timer,
}

/// <summary>One function of this worker, as its <c>[Function]</c> method and trigger attribute declare it.</summary>
public sealed record FunctionDefinition
{
    public required string Name { get; init; }

    public required TriggerKind Kind { get; init; }

    /// <summary>The method the host (or the local runner) invokes: an instance method of a class activated from DI.</summary>
    public required MethodInfo Method { get; init; }

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
/// The functions of this worker as the Worker SDK sees them: every method marked <c>[Function]</c>, with its queue
/// or timer trigger (the SDK writes the same into <c>functions.metadata</c>, which the contract tests compare), and
/// the queue settings of <c>host.json</c>. Trigger properties written <c>%name%</c> are app settings, resolved as the host does.
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

    /// <summary>The functions of <paramref name="assembly"/> and the queue settings of the host.json in <paramref name="root"/>.</summary>
    public static FunctionManifest Read(Assembly assembly, string root, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentNullException.ThrowIfNull(configuration);
        var functions = new List<FunctionDefinition>();
        foreach (var method in assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)))
        {
            if (method.GetCustomAttribute<FunctionAttribute>() is not { } function)
            {
                continue;
            }

            var parameters = method.GetParameters();
            if (parameters.Select(p => p.GetCustomAttribute<QueueTriggerAttribute>()).FirstOrDefault(a => a is not null) is { } queue)
            {
                functions.Add(new FunctionDefinition
                {
                    Name = function.Name,
                    Kind = TriggerKind.Queue,
                    Method = method,
                    QueueName = Resolve(queue.QueueName, configuration),
                    Connection = queue.Connection ?? "AzureWebJobsStorage",
                });
            }
            else if (parameters.Select(p => p.GetCustomAttribute<TimerTriggerAttribute>()).FirstOrDefault(a => a is not null) is { } timer)
            {
                functions.Add(new FunctionDefinition
                {
                    Name = function.Name,
                    Kind = TriggerKind.Timer,
                    Method = method,
                    Schedule = Resolve(timer.Schedule, configuration),
                });
            }
            else
            {
                throw new InvalidOperationException($"Function '{function.Name}' has a trigger the local runner does not fire; only queue and timer triggers are run here.");
            }
        }

        return new FunctionManifest([.. functions.OrderBy(f => f.Name, StringComparer.Ordinal)], ReadQueueSettings(Path.Combine(root, "host.json")));
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

using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Referral.Operations;

namespace Referral.Functions.Telemetry;

/// <summary>
/// The functions app's own counters (meter <see cref="AppTelemetry.SourceName"/>). Their tags are kinds and outcomes
/// only: never a referral, a patient or a person.
/// </summary>
public static class ReferralMetrics
{
    /// <summary>Referrals stored for the first time (a retried submit that finds its first write is not counted again).</summary>
    public static readonly Counter<long> Submitted = AppTelemetry.Meter.CreateCounter<long>(
        "referral.referrals.submitted", "{referral}", "Referrals submitted and stored.");

    /// <summary>
    /// Submits refused, one per refused request, by <c>reason</c>: the validation rule of its first problem
    /// (<c>Outcomes.RuleOf</c>, e.g. <c>npi-invalid</c>), the FHIR issue type where no rule names it (a parse error:
    /// <c>structure</c>), or the check that refused it (<c>foreign-reference</c>, <c>not-the-requester</c>,
    /// <c>no-patient-in-context</c>, <c>another-patient</c>). A rule's code, never the value that broke it.
    /// </summary>
    public static readonly Counter<long> Refused = AppTelemetry.Meter.CreateCounter<long>(
        "referral.referrals.refused", "{referral}", "Referral submits refused, by reason.");

    /// <summary>Sessions recorded (a replayed request is not counted again).</summary>
    public static readonly Counter<long> SessionsRecorded = AppTelemetry.Meter.CreateCounter<long>(
        "referral.sessions.recorded", "{session}", "Treatment sessions recorded by therapists.");

    /// <summary>EHR write-back tries by <c>outcome</c>: <c>succeeded</c>, <c>retried</c> (failed, will be tried again), <c>poisoned</c> (the last try failed).</summary>
    public static readonly Counter<long> WriteBacks = AppTelemetry.Meter.CreateCounter<long>(
        "referral.ehr.writebacks", "{try}", "EHR write-back tries by outcome.");

    /// <summary>Notification emails sent, by the event <c>kind</c>.</summary>
    public static readonly Counter<long> NotificationsSent = AppTelemetry.Meter.CreateCounter<long>(
        "referral.notifications.sent", "{message}", "Notification emails sent.");

    public static void Refuse(string reason) => Refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Counts a refusal by the first problem of <paramref name="problems"/>.</summary>
    public static void Refuse(IEnumerable<Hl7.Fhir.Model.OperationOutcome.IssueComponent> problems)
    {
        var first = problems.FirstOrDefault();
        Refuse(first is null ? "unknown" : Referral.Model.Fhir.Outcomes.RuleOf(first) ?? Hl7.Fhir.Utility.EnumUtility.GetLiteral(first.Code) ?? "unknown");
    }

    public static void WriteBack(string kind, bool succeeded, int attempt, int maxAttempts) =>
        WriteBacks.Add(1, new KeyValuePair<string, object?>("kind", kind),
            new KeyValuePair<string, object?>("outcome", succeeded ? "succeeded" : attempt >= maxAttempts ? "poisoned" : "retried"));

    /// <summary>A write-back that failed for a reason that may pass and was queued again with backoff.</summary>
    public static void WriteBackRetried(string kind) =>
        WriteBacks.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("outcome", "retried"));
}

/// <summary>
/// One trace across the queues: a message carries the W3C <c>traceparent</c> of the work that queued it (its
/// <c>TraceParent</c> field), and the function that takes it from the queue runs under a <c>process</c> span whose
/// parent is that context. The Functions host calls the function in a trace of its own; that span is linked, so
/// both stay findable.
/// </summary>
public static class QueueTrace
{
    /// <summary>The <c>traceparent</c> of the work now running, for a message being queued; null when nothing is traced.</summary>
    public static string? Current => Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;

    /// <summary>The span of putting a message on <paramref name="queue"/>; the message's traceparent is taken inside it.</summary>
    public static Activity? StartPublish(string queue) =>
        AppTelemetry.Source.StartActivity($"publish {queue}", ActivityKind.Producer)?
            .SetTag("messaging.system", "azure_queue_storage")
            .SetTag("messaging.operation.type", "send")
            .SetTag("messaging.destination.name", queue);

    /// <summary>
    /// Starts the span of one invocation of a queue- or timer-triggered function (the worker's), parented by the
    /// message's trace context where it carries one; <paramref name="message"/> is null for a timer. Not async: the
    /// span must stay the current one for the function that runs next.
    /// </summary>
    public static Activity? StartProcess(string function, Azure.Storage.Queues.Models.QueueMessage? message)
    {
        if (!AppTelemetry.Source.HasListeners())
        {
            return null;
        }

        var (parent, kind, referral) = Read(message?.Body?.ToString()) ?? (default, null, null);
        var current = Activity.Current;
        var isMessage = message is not null;
        // Locally the caller may already run in the message's trace: then the span nests under the invocation.
        var links = current is not null && parent != default && current.TraceId != parent.TraceId ? new[] { new ActivityLink(current.Context) } : null;
        var activity = AppTelemetry.Source.StartActivity(
            ActivityKind.Consumer,
            parent == default || current?.TraceId == parent.TraceId ? default : parent,
            links: links,
            name: $"process {function}");
        if (activity is null)
        {
            return null;
        }

        activity.SetTag("faas.name", function);
        activity.SetTag("faas.trigger", isMessage ? "pubsub" : "timer");
        if (isMessage)
        {
            activity.SetTag("messaging.system", "azure_queue_storage");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.message.id", message!.MessageId);
            activity.SetTag("messaging.azure.queue.dequeue_count", message.DequeueCount);
        }

        // An event's kind and the referral's id ({therapist}.{hash}): no patient data.
        activity.SetTag("referral.event", kind);
        activity.SetTag("referral.id", referral);
        return activity;
    }

    private static (ActivityContext Parent, string? Kind, string? Referral)? Read(string? text)
    {
        if (text is not { Length: > 1 } || text[0] != '{')
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            var parent = root.TryGetProperty("TraceParent", out var value) && value.ValueKind == JsonValueKind.String
                && ActivityContext.TryParse(value.GetString(), null, isRemote: true, out var context)
                    ? context
                    : default;
            return (parent, String(root, "Kind"), String(root, "Referral"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

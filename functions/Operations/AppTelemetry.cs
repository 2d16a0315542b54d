using System.Diagnostics;
using System.Diagnostics.Metrics;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Referral.Operations;

/// <summary>
/// Both apps compile this one file (the smart-app links it). OpenTelemetry traces and metrics (and, when exported, the
/// structured logs): ASP.NET Core and HttpClient instrumentation, the Azure SDK's own activity sources (storage, Key
/// Vault) and the app's own source and meter (<see cref="SourceName"/>: the queue work and its counters).
/// Exporters come only from settings: the standard <c>OTEL_EXPORTER_OTLP_*</c> variables (a collector), and
/// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> (Azure Monitor). With neither set nothing leaves the process.
/// Every span passes <see cref="TelemetryRedaction"/> before any exporter sees it: query values, the patient's id in a
/// FHIR path and the detail of error descriptions are cut, since they may carry patient data.
/// </summary>
internal static class AppTelemetry
{
    /// <summary>The app's own ActivitySource and Meter.</summary>
    public const string SourceName = "Referral";

    public static readonly ActivitySource Source = new(SourceName);

    public static readonly Meter Meter = new(SourceName);

    /// <summary>The OTLP settings the exporter reads (any of them set means "export there").</summary>
    private static readonly string[] OtlpSettings =
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    ];

    public const string AzureMonitorSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>Adds the app's telemetry, named <paramref name="serviceName"/> (<c>service.name</c>; each instance its own <c>service.instance.id</c>).</summary>
    public static TBuilder AddTelemetry<TBuilder>(this TBuilder builder, string serviceName, params string[] healthPaths)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The Azure SDK (Azure.Core) reports its operations (TableClient.SubmitTransaction, QueueClient.SendMessage...)
        // through ActivitySource only behind this switch; without it they would be invisible to OpenTelemetry.
        AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);

        var configuration = builder.Configuration;
        var otlp = OtlpSettings.Any(s => !string.IsNullOrWhiteSpace(configuration[s]));
        var azureMonitor = configuration[AzureMonitorSetting];
        var exportsToAzure = !string.IsNullOrWhiteSpace(azureMonitor);

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource(SourceName, "Azure.*")
                    .AddAspNetCoreInstrumentation(o =>
                    {
                        // The platform's probes would drown the requests that matter.
                        o.Filter = http => !healthPaths.Any(p => http.Request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
                        // An exception's message may quote input (a patient's name in a refused field): never recorded.
                        o.RecordException = false;
                    })
                    .AddHttpClientInstrumentation(o =>
                    {
                        o.RecordException = false;
                        // A storage call is already a span of the Azure SDK's own (Azure.Core.Http); not a second one.
                        o.FilterHttpRequestMessage = _ => Activity.Current is not { } current
                            || (current.Source.Name != AzureHttpSource && current.Parent?.Source.Name != AzureHttpSource);
                    })
                    // First, so every exporter (and a test's in-memory one, added after) sees only redacted spans.
                    .AddProcessor(new TelemetryRedaction());
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }

                if (exportsToAzure)
                {
                    tracing.AddAzureMonitorTraceExporter(o => o.ConnectionString = azureMonitor);
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SourceName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }

                if (exportsToAzure)
                {
                    metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = azureMonitor);
                }
            });

        // The structured logs go where the traces go (they already hold no patient data); with no exporter they stay
        // with the app's usual providers only.
        if (otlp || exportsToAzure)
        {
            telemetry.WithLogging(logging =>
            {
                if (otlp)
                {
                    logging.AddOtlpExporter();
                }

                if (exportsToAzure)
                {
                    logging.AddAzureMonitorLogExporter(o => o.ConnectionString = azureMonitor);
                }
            });
        }

        return builder;
    }

    private const string AzureHttpSource = "Azure.Core.Http";
}

/// <summary>
/// Cuts what may carry patient data from every span before it is exported. URLs keep their route and ids (a referral's
/// id is <c>{therapist}.{hash}</c>), but: every query value (<c>?patient=</c>, <c>subject=</c>, <c>identifier=</c>,
/// <c>birthdate=</c>, a table query's <c>$filter</c>) becomes <see cref="Redacted"/>; the id after a
/// <c>Patient</c>, <c>Person</c> or <c>RelatedPerson</c> segment of a path (an EHR read of the patient) becomes
/// <see cref="Redacted"/>; an error's description keeps its first line only (an Azure error quotes its response
/// after it). Request and response bodies are never recorded by any instrumentation here.
/// </summary>
internal sealed class TelemetryRedaction : BaseProcessor<Activity>
{
    public const string Redacted = "REDACTED";

    private static readonly string[] UrlTags = ["url.full", "http.url", "url.path", "http.target", "url.query", "url.original"];

    private static readonly HashSet<string> PersonTypes = new(["Patient", "Person", "RelatedPerson"], StringComparer.Ordinal);

    public override void OnEnd(Activity data)
    {
        ArgumentNullException.ThrowIfNull(data);
        foreach (var tag in UrlTags)
        {
            if (data.GetTagItem(tag) is string value && value.Length > 0)
            {
                data.SetTag(tag, tag == "url.query" ? RedactQuery(value) : RedactUrl(value));
            }
        }

        data.DisplayName = RedactUrl(data.DisplayName);
        if (data.StatusDescription is { } description)
        {
            var firstLine = description.Split('\n', 2)[0].Trim();
            data.SetStatus(data.Status, RedactUrl(firstLine));
        }
    }

    /// <summary>A URL or path with every query value and every person's id cut; the rest as it was.</summary>
    public static string RedactUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var fragment = url.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            url = url[..fragment];
        }

        var query = url.IndexOf('?', StringComparison.Ordinal);
        var path = query >= 0 ? url[..query] : url;
        var redacted = RedactPath(path);
        return query >= 0 ? redacted + RedactQuery(url[query..]) : redacted;
    }

    /// <summary><c>?a=1&amp;b=2</c> becomes <c>?a=REDACTED&amp;b=REDACTED</c>: the names say what was asked, never the values.</summary>
    public static string RedactQuery(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var leading = query.StartsWith('?') ? "?" : "";
        var parts = query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)[0] + "=" + Redacted);
        return leading + string.Join('&', parts);
    }

    private static string RedactPath(string path)
    {
        var segments = path.Split('/');
        for (var i = 1; i < segments.Length; i++)
        {
            if (PersonTypes.Contains(segments[i - 1]) && segments[i].Length > 0 && !segments[i].StartsWith('$') && !segments[i].StartsWith('{'))
            {
                segments[i] = Redacted;
            }
        }

        return string.Join('/', segments);
    }
}

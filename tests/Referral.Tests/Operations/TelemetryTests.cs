using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Referral.Tests.Infrastructure;
using static Referral.Tests.SmartApp.ReferralFormTests;

namespace Referral.Tests.Operations;

/// <summary>
/// Issue 16, item 4: one referral is one trace from the physician's "Sign and send" in the smart-app, over HTTP to the
/// functions API, through the notification queue to its function and on through the write-back queue to the EHR;
/// and nothing exported names the patient. Both apps run with an in-memory exporter added after their own telemetry
/// set-up (so after its redaction); the functions app listens on a real loopback port, so the trace context crosses
/// HTTP as a traceparent header, not in memory. The write-back runs here, so the test runs alone (background-work collection).
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class TelemetryTests(Infrastructure.BackgroundWork.OwnAzurite own)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>The test patient as the fake EHR holds her: name, id, identifiers (MRN, claim number) and birth date.</summary>
    private static readonly string[] PatientData =
        ["Dana", "Whitfield", FakeEhr.PatientId, "MRN-100001", "WC-2026-004817", "1981-04-12", "04/12/1981"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_referral_sent_from_the_smart_app_is_one_trace_through_the_API_and_both_queue_functions_and_no_span_names_the_patient()
    {
        var (appSpans, functionsSpans, functionsMetrics) = (new List<Activity>(), new List<Activity>(), new List<Metric>());
        var functionsPort = Loopback.FreePort();
        var functionsBase = $"http://127.0.0.1:{functionsPort}";
        using var ehr = new FakeEhr();
        var harness = new SmartAppHarness(
            own.Azurite, ehr, ehrTakesTheReferral: true,
            extra: new Dictionary<string, string?> { ["Functions:BaseUrl"] = functionsBase },
            functionsHandler: () => new SocketsHttpHandler(),
            appServices: services => services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(appSpans)),
            functionsServices: services =>
            {
                services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(functionsSpans));
                services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(functionsMetrics));
            });
        var functions = harness.Functions;
        try
        {
            functions.UseKestrel(o => o.Listen(IPAddress.Loopback, functionsPort));
            functions.StartServer();
            using var browser = await harness.StartAsync();
            var steps = await harness.LaunchAsync(browser);

            // The physician signs and sends; the status page searches the API by patient (?patient=Patient/dana-whitfield).
            var detail = await SendAsync(browser, steps);
            Assert.Contains("data-ehr-copy=\"pending\"", await browser.GetStringAsync(new Uri(detail, UriKind.Relative), Ct), StringComparison.Ordinal);
            // The notification, then the write-back it queues.
            await functions.Triggers.DrainAsync(Deadline, Ct);
            await functions.Triggers.DrainAsync(Deadline, Ct);
            Assert.Single(ehr.Creates("ServiceRequest"));

            functions.Services.GetRequiredService<MeterProvider>().ForceFlush();
            Assert.Equal(1, Sum(functionsMetrics, "referral.referrals.submitted"));
            Assert.Equal(1, Sum(functionsMetrics, "referral.ehr.writebacks", ("kind", "service-request"), ("outcome", "succeeded")));
            Assert.True(Sum(functionsMetrics, "referral.notifications.sent") >= 1);
        }
        finally
        {
            // Stopping the apps ends and flushes every span (a server span ends just after its client has the answer).
            await harness.DisposeAsync();
        }

        var spans = appSpans.Concat(functionsSpans).DistinctBy(s => s.SpanId).ToList();

        // The API's create was called over HTTP by the smart-app: its parent is remote, a client span of the smart-app's send.
        var create = Assert.Single(spans, s => s.Kind == ActivityKind.Server && Tag(s, "http.route") == "/api/fhir/ServiceRequest" && Tag(s, "http.request.method") == "POST");
        Assert.True(create.HasRemoteParent);
        var trace = create.TraceId;
        var send = Assert.Single(spans, s => s.Kind == ActivityKind.Server && s.TraceId == trace && Tag(s, "http.request.method") == "POST" && Tag(s, "url.path")!.StartsWith("/context/", StringComparison.Ordinal));
        Assert.Contains(spans, s => s.Kind == ActivityKind.Client && s.SpanId == create.ParentSpanId && s.TraceId == trace);
        Assert.Null(send.Parent);

        // The queue functions run in the same trace, parented by the context the message carried (remote, from the queue).
        var notify = Assert.Single(spans, s => s.DisplayName == "process referral-notify" && s.TraceId == trace);
        Assert.Equal(ActivityKind.Consumer, notify.Kind);
        Assert.Contains(spans, s => s.DisplayName == "publish referral-notifications" && s.SpanId == notify.ParentSpanId);
        var writeBack = Assert.Single(spans, s => s.DisplayName == "process ehr-writeback" && s.TraceId == trace);
        Assert.Contains(spans, s => s.DisplayName == "publish ehr-writeback" && s.SpanId == writeBack.ParentSpanId && s.TraceId == trace);
        // ... down to the EHR: the write-back's POST of the ServiceRequest, and the storage calls of the Azure SDK.
        Assert.Contains(spans, s => s.Kind == ActivityKind.Client && s.TraceId == trace && Tag(s, "http.request.method") == "POST"
            && Tag(s, "url.full") == ehr.FhirBase + "/ServiceRequest");
        Assert.Contains(spans, s => s.TraceId == trace && s.Source.Name.StartsWith("Azure.Data.Tables", StringComparison.Ordinal));

        // The search by patient was traced, its parameter's value cut: the review asks it as an entry of a FHIR batch,
        // a span of its own inside the batch's server span.
        var search = Assert.Single(spans, s => Tag(s, "http.route") == "/api/fhir/ServiceRequest" && Tag(s, "http.request.method") == "GET"
            && Tag(s, "url.query")?.Contains("patient=REDACTED", StringComparison.Ordinal) == true);
        Assert.Contains(spans, s => s.Kind == ActivityKind.Server && s.SpanId == search.ParentSpanId && Tag(s, "http.route") == "/api/fhir");
        Assert.Contains(spans, s => Tag(s, "url.full")?.Contains("/Patient/REDACTED", StringComparison.Ordinal) == true);

        // Nothing exported anywhere names the patient.
        foreach (var span in spans)
        {
            var text = Text(span);
            foreach (var datum in PatientData)
            {
                Assert.False(text.Contains(datum, StringComparison.OrdinalIgnoreCase), $"A span ({span.Source.Name}: {span.DisplayName}) holds '{datum}':\n{text}");
            }
        }
    }

    /// <summary>Review and "Sign and send"; the status page's address.</summary>
    internal static async Task<string> SendAsync(HttpClient browser, SmartAppHarness.LaunchSteps steps)
    {
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, review.StatusCode);
        var sendPage = await browser.GetStringAsync(review.Headers.Location!, Ct);
        using var sent = await browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), Form(sendPage), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        return sent.Headers.Location!.ToString();
    }

    private static string? Tag(Activity span, string name) => span.GetTagItem(name)?.ToString();

    /// <summary>Everything of a span an exporter sends: its name, status, tags, events, links and baggage.</summary>
    private static string Text(Activity span) => string.Join('\n',
        new[] { span.DisplayName, span.OperationName, span.StatusDescription ?? "" }
            .Concat(span.TagObjects.Select(t => $"{t.Key}={t.Value}"))
            .Concat(span.Events.SelectMany(e => new[] { e.Name }.Concat(e.Tags.Select(t => $"{t.Key}={t.Value}"))))
            .Concat(span.Links.SelectMany(l => l.Tags?.Select(t => $"{t.Key}={t.Value}") ?? []))
            .Concat(span.Baggage.Select(b => $"{b.Key}={b.Value}")));

    /// <summary>The latest collected sum of a counter, over its points whose tags include all of <paramref name="tags"/>.</summary>
    private static long Sum(List<Metric> metrics, string name, params (string Key, string Value)[] tags)
    {
        var metric = metrics.LastOrDefault(m => m.Name == name);
        if (metric is null)
        {
            return 0;
        }

        long sum = 0;
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            var pointTags = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var tag in point.Tags)
            {
                pointTags[tag.Key] = tag.Value?.ToString();
            }

            if (tags.All(t => pointTags.GetValueOrDefault(t.Key) == t.Value))
            {
                sum += point.GetSumLong();
            }
        }

        return sum;
    }
}

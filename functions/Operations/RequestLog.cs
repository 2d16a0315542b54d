using System.Diagnostics;

namespace Referral.Operations;

/// <summary>
/// Both apps compile this one file (the smart-app links it). The one request log line of each request names the route
/// it matched, never the values in it: <c>GET /api/fhir/ServiceRequest/{id} 200 12 ms</c>, with the query's names but
/// not its values (<c>?patient=REDACTED</c>). The framework's own request and routing logs print the whole path (a
/// patient's id in a search, a referral's id in an operation) at Information and Debug; they are held at Warning
/// here, in code, so no log-level setting an operator raises while diagnosing brings the ids back (a provider-specific
/// setting, <c>Logging:Console:LogLevel:...</c>, still would: the README says not to). HttpClient's own loggers, which
/// print each EHR URL (<c>Patient/{id}</c> reads), are removed; the redacted spans of <see cref="TelemetryRedaction"/>
/// cover those calls.
/// </summary>
internal static partial class RequestLog
{
    public const string Category = "Referral.Requests";

    /// <summary>The framework categories that log request paths below Warning.</summary>
    private static readonly string[] PathLoggingCategories = ["Microsoft.AspNetCore.Hosting.Diagnostics", "Microsoft.AspNetCore.Routing"];

    public static WebApplicationBuilder AddRequestLog(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var category in PathLoggingCategories)
        {
            builder.Logging.AddFilter(category, level => level >= LogLevel.Warning);
        }

        builder.Services.ConfigureHttpClientDefaults(http => http.RemoveAllLoggers());
        return builder;
    }

    /// <summary>
    /// Logs each request's method, matched route, status and time. First in the pipeline, so the status is the one the
    /// error handlers set; the route is read once the request is done. The platform's
    /// probes of <paramref name="quietPaths"/> are not logged (they would drown the requests that matter).
    /// </summary>
    public static IApplicationBuilder UseRequestLog(this IApplicationBuilder app, params string[] quietPaths)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (context, next) =>
        {
            if (quietPaths.Any(p => context.Request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase)))
            {
                await next(context);
                return;
            }

            // Taken first: a HEAD is routed as its GET further in.
            var method = context.Request.Method;
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                if (logger.IsEnabled(LogLevel.Information))
                {
                    var route = RouteOf(context);
                    var elapsed = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    Served(logger, method, route, context.Response.StatusCode, elapsed);
                }
            }
        });
    }

    /// <summary>The route template the request matched, with the query's names only; "(no route)" for a path nothing matched.</summary>
    public static string RouteOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = context.GetEndpoint() is RouteEndpoint endpoint
            ? "/" + endpoint.RoutePattern.RawText?.TrimStart('/')
            : "(no route)";
        return context.Request.QueryString.HasValue
            ? route + TelemetryRedaction.RedactQuery(context.Request.QueryString.Value!)
            : route;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Route} {StatusCode} {ElapsedMs} ms")]
    private static partial void Served(ILogger logger, string method, string route, int statusCode, long elapsedMs);
}

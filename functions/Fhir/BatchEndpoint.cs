using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.AspNetCore.WebUtilities;
using Referral.Model.Fhir;
using Referral.Operations;

namespace Referral.Functions.Fhir;

/// <summary>
/// FHIR's <c>batch</c> interaction (<c>POST [base]</c> with a Bundle of type <c>batch</c>): several reads, searches and
/// <c>$validate</c>s in one call with one token, run at the same time, each entry answered on its own (its status,
/// ETag, Location and resource) in a <c>batch-response</c>. Each entry runs through this API's own routing and
/// endpoint, with the entry's authorization checked against the caller as a call of its own would be, and its own
/// audit entry; a failing entry fails alone. Changes are not taken in a batch (each has its own idempotency and
/// If-Match rules): an entry that would change something is refused with a 405, and so is a batch inside a batch.
/// </summary>
public static class BatchEndpoint
{
    /// <summary>Entries per batch: enough for a page's questions, not a way to make one call do a search's work a hundred times.</summary>
    public const int MaxEntries = 10;

    private const string FhirBase = "/api/fhir";

    public static void MapBatch(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The entries' own pipeline: the request log (a line an entry, as a call of its own would have) and the app's
        // FHIR errors, then the endpoint the entry's method and path name, among every endpoint the app maps (read at
        // the first batch, once all are mapped). Authentication is the batch's: the entries carry its caller.
        var routes = new Lazy<Route[]>(() => Routes(app.Services.GetRequiredService<EndpointDataSource>()));
        var pipeline = ((IApplicationBuilder)app).New();
        pipeline.UseRequestLog();
        pipeline.UseFhirErrors();
        pipeline.Run(http => RunEndpointAsync(http, routes.Value));
        var entries = pipeline.Build();
        app.MapPost(FhirBase, (HttpContext http, CancellationToken ct) => BatchAsync(http, entries, ct))
            .RequireAuthorization().WithName("batch");
    }

    private static async Task<FhirResult> BatchAsync(HttpContext http, RequestDelegate entries, CancellationToken cancellationToken)
    {
        var (json, error) = await FhirBody.ReadAsync(http.Request, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        if (!FhirJson.TryParse<Bundle>(json!, out var bundle, out var outcome))
        {
            return Outcome.Of(outcome, StatusCodes.Status400BadRequest);
        }

        if (bundle!.Type != Bundle.BundleType.Batch)
        {
            return Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.NotSupported,
                "This API takes a Bundle of type batch at its base (a transaction is not supported).", "Bundle.type");
        }

        if (bundle.Entry.Count is 0 or > MaxEntries)
        {
            return Outcome.BadRequest($"A batch holds 1 to {MaxEntries} entries.", "Bundle.entry");
        }

        // Each entry is a call's work: the call took one permit, the other entries take theirs before any runs.
        if (await http.RequestServices.GetRequiredService<ApiRateLimiter>().AcquireAsync(http, bundle.Entry.Count - 1,
                $" (each of a batch's entries counts as a call: this one's {bundle.Entry.Count} are over the limit)", cancellationToken) is { } throttled)
        {
            return throttled;
        }

        // The entries run at the same time (none changes anything, and a batch's entries may run in any order; this
        // API's services are all singletons), each answered in its place.
        var answers = await Task.WhenAll(bundle.Entry.Select((entry, i) => AnswerAsync(http, entries, entry, $"Bundle.entry[{i}]", cancellationToken)));
        return new FhirResult(new Bundle { Type = Bundle.BundleType.BatchResponse, Entry = [.. answers] });
    }

    /// <summary>One entry's answer: refused as it stands, or the response of its endpoint run on a request of its own.</summary>
    private static async Task<Bundle.EntryComponent> AnswerAsync(HttpContext http, RequestDelegate entries, Bundle.EntryComponent entry, string path, CancellationToken cancellationToken)
    {
        if (entry.Request is not { Method: { } method, Url: { Length: > 0 } url })
        {
            return Refused(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required, "Each entry needs request.method and request.url.", path + ".request");
        }

        var target = Target(url);
        if (target is null)
        {
            return Refused(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid,
                "request.url must be relative to this API's base: a type, a type and id, or an operation, with its query.", path + ".request.url");
        }

        // Reads and searches, and $validate: nothing a batch entry does is a change.
        var validate = method == Bundle.HTTPVerb.POST && target.Value.Path.EndsWith("/$validate", StringComparison.Ordinal) && entry.Resource is not null;
        if (method != Bundle.HTTPVerb.GET && !validate)
        {
            return Refused(StatusCodes.Status405MethodNotAllowed, OperationOutcome.IssueType.NotSupported,
                "A batch here takes reads, searches and $validate (POST with the resource); send a change as a call of its own.", path + ".request");
        }

        var body = validate ? FhirJson.Serialize(entry.Resource!) : null;
        return await RunAsync(http, entries, method.ToString(), target.Value, body, entry.Request.IfNoneMatch, cancellationToken);
    }

    /// <summary>A relative entry url as a path under the FHIR base and its query; null for anything else (absolute, the base itself, a dot segment).</summary>
    private static (string Path, string Query)? Target(string url)
    {
        var question = url.IndexOf('?', StringComparison.Ordinal);
        var path = (question < 0 ? url : url[..question]).TrimStart('/');
        var query = question < 0 ? "" : url[question..];
        var segments = path.Split('/');
        if (path.Length == 0 || url.Contains("://", StringComparison.Ordinal) || url.Contains('#', StringComparison.Ordinal)
            || segments.Any(s => s is "" or "." or ".." || s.Contains('\\', StringComparison.Ordinal) || s.Contains('%', StringComparison.Ordinal)))
        {
            return null;
        }

        return ($"{FhirBase}/{path}", query);
    }

    /// <summary>
    /// Runs an entry as a request of its own. Its <c>ifNoneMatch</c> is the request's <c>If-None-Match</c>, so a read of
    /// the version the client holds is a 304 without the resource, as the read alone would be; <c>ifModifiedSince</c> is
    /// not passed on, as this API answers reads by version only.
    /// </summary>
    private static async Task<Bundle.EntryComponent> RunAsync(
        HttpContext outer, RequestDelegate entries, string method, (string Path, string Query) target, string? body, string? ifNoneMatch, CancellationToken cancellationToken)
    {
        using var requestBody = new MemoryStream(body is null ? [] : System.Text.Encoding.UTF8.GetBytes(body));
        using var responseBody = new MemoryStream();
        var request = new HttpRequestFeature
        {
            Method = method,
            Scheme = outer.Request.Scheme,
            PathBase = outer.Request.PathBase,
            Path = target.Path,
            QueryString = target.Query,
            Protocol = outer.Request.Protocol,
            Body = requestBody,
        };
        request.Headers.Host = outer.Request.Headers.Host;
        request.Headers.Accept = FhirResult.ContentType;
        if (ifNoneMatch is { Length: > 0 })
        {
            request.Headers.IfNoneMatch = ifNoneMatch;
        }

        if (body is not null)
        {
            request.Headers.ContentType = FhirResult.ContentType;
            request.Headers.ContentLength = requestBody.Length;
        }

        var answered = new EntryAnswer();
        var features = new FeatureCollection();
        features.Set(answered);
        features.Set<IHttpRequestFeature>(request);
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(responseBody));
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = cancellationToken });
        features.Set<IHttpConnectionFeature>(outer.Features.Get<IHttpConnectionFeature>());
        features.Set<IHttpRequestIdentifierFeature>(new HttpRequestIdentifierFeature { TraceIdentifier = outer.TraceIdentifier });
        var http = new DefaultHttpContext(features) { User = outer.User, RequestServices = outer.RequestServices };
        // A span of its own inside the batch's, tagged as a server span would be (TelemetryRedaction cuts the query's values).
        using (var activity = AppTelemetry.Source.StartActivity("batch entry"))
        {
            activity?.SetTag("http.request.method", method).SetTag("url.path", target.Path).SetTag("url.query", target.Query);
            await entries(http);
            if (activity is not null)
            {
                var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
                activity.DisplayName = $"{method} {route ?? "(no route)"}";
                activity.SetTag("http.route", route).SetTag("http.response.status_code", http.Response.StatusCode);
            }
        }

        var answer = new Bundle.EntryComponent
        {
            Response = new Bundle.ResponseComponent
            {
                Status = StatusLine(http.Response.StatusCode),
                Etag = http.Response.Headers.ETag is { Count: > 0 } etag ? etag.ToString() : null,
                Location = http.Response.Headers.Location is { Count: > 0 } location ? location.ToString() : null,
            },
        };
        // A FHIR answer is the endpoint's resource itself (FhirResult hands it over); anything else it wrote (a report's
        // PDF, the package's tarball) is a Binary of that content type, as FHIR carries other content.
        var resource = answered.Resource ?? (responseBody.Length > 0
            ? new Binary { ContentType = http.Response.ContentType ?? "application/octet-stream", Data = responseBody.ToArray() }
            : null);
        // An error's OperationOutcome is the entry's outcome (FHIR's place for it in a batch-response); anything else its resource.
        if (http.Response.StatusCode >= StatusCodes.Status400BadRequest && resource is OperationOutcome failure)
        {
            answer.Response.Outcome = failure;
        }
        else
        {
            answer.Resource = resource;
        }

        return answer;
    }

    /// <summary>Set on an entry's request: <see cref="FhirResult"/> leaves its resource here instead of writing it.</summary>
    internal sealed class EntryAnswer
    {
        public Resource? Resource { get; set; }
    }

    /// <summary>An endpoint of the FHIR API as an entry finds it: its route, its methods, and how specific its route is.</summary>
    private sealed record Route(RouteEndpoint Endpoint, TemplateMatcher Matcher, IReadOnlyList<string> Methods, decimal Precedence)
    {
        private AuthorizationPolicy? policy;

        /// <summary>
        /// The endpoint's combined authorization policy, combined once where the provider allows it to be kept (as
        /// ASP.NET Core's authorization middleware keeps it per endpoint).
        /// </summary>
        public async Task<AuthorizationPolicy?> PolicyAsync(IAuthorizationPolicyProvider provider)
        {
            if (policy is not null)
            {
                return policy;
            }

            var combined = await AuthorizationPolicy.CombineAsync(provider, Endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>(),
                Endpoint.Metadata.GetOrderedMetadata<AuthorizationPolicy>());
            if (provider.AllowsCachingPolicies)
            {
                policy = combined;
            }

            return combined;
        }
    }

    /// <summary>The FHIR API's endpoints, the most specific route first (a literal segment before a parameter: <c>$validate</c> before <c>{id}</c>).</summary>
    private static Route[] Routes(EndpointDataSource endpoints) =>
    [
        .. endpoints.Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith(FhirBase + "/", StringComparison.Ordinal) == true)
            .Select(e =>
            {
                var template = new RouteTemplate(e.RoutePattern);
                return new Route(e, new TemplateMatcher(template, new RouteValueDictionary(e.RoutePattern.Defaults)),
                    e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [], RoutePrecedence.ComputeInbound(template));
            })
            .OrderBy(r => r.Precedence).ThenBy(r => r.Endpoint.Order),
    ];

    /// <summary>
    /// The end of an entry's pipeline: the endpoint its method and path name (404 for none, 405 for a path served only
    /// by other methods), its authorization policy checked against the batch's caller (the token was checked once, for
    /// the batch), then the endpoint itself with its filters (id checks, audit).
    /// </summary>
    private static async Task RunEndpointAsync(HttpContext http, Route[] routes)
    {
        var (route, values, pathServed) = (default(Route), default(RouteValueDictionary), false);
        foreach (var candidate in routes)
        {
            var matched = new RouteValueDictionary();
            if (candidate.Matcher.TryMatch(http.Request.Path, matched))
            {
                pathServed = true;
                if (candidate.Methods.Contains(http.Request.Method, StringComparer.OrdinalIgnoreCase))
                {
                    (route, values) = (candidate, matched);
                    break;
                }
            }
        }

        if (route is null)
        {
            http.Response.StatusCode = pathServed ? StatusCodes.Status405MethodNotAllowed : StatusCodes.Status404NotFound;
            return;
        }

        http.Request.RouteValues = values!;
        http.SetEndpoint(route.Endpoint);
        if (route.Endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null)
        {
            var policy = await route.PolicyAsync(http.RequestServices.GetRequiredService<IAuthorizationPolicyProvider>());
            if (policy is not null
                && !(await http.RequestServices.GetRequiredService<IAuthorizationService>().AuthorizeAsync(http.User, http, policy)).Succeeded)
            {
                http.Response.StatusCode = http.User.Identity?.IsAuthenticated == true ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
                return;
            }
        }

        await route.Endpoint.RequestDelegate!(http);
    }

    /// <summary>An entry's <c>response.status</c>: the code and its reason phrase (<c>404 Not Found</c>), as FHIR's examples write it.</summary>
    private static string StatusLine(int status) => $"{status} {ReasonPhrases.GetReasonPhrase(status)}".TrimEnd();

    /// <summary>An entry refused before it ran: its status and the OperationOutcome that names the element at fault.</summary>
    private static Bundle.EntryComponent Refused(int status, OperationOutcome.IssueType code, string diagnostics, string expression) => new()
    {
        Response = new Bundle.ResponseComponent
        {
            Status = StatusLine(status),
            Outcome = Outcome.Issue(code, diagnostics, expression),
        },
    };
}

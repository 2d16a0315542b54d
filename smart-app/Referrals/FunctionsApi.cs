using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text;
using Duende.IdentityModel;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Referrals;

public sealed class FunctionsOptions
{
    public const string Section = "Functions";

    public string BaseUrl { get; set; } = "http://127.0.0.1:7071";

    /// <summary>The <c>aud</c> the functions API expects in the tokens the app signs.</summary>
    public string Audience { get; set; } = "medical-massage-functions";
}

public sealed class FunctionsUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Whom a call to the functions API is made for, which decides its bearer token (DESIGN.md §6): a launched physician
/// (a token the app signs per call) or a signed-in therapist (their OpenID Connect access token). Classes, not records:
/// a record's generated ToString would print the token into any log that formats the caller.
/// </summary>
public abstract class FunctionsCaller
{
    private protected FunctionsCaller()
    {
    }
}

/// <summary>The physician of a SMART launch: each call gets a fresh token the app signs from the launch's verified identity.</summary>
public sealed class PhysicianCaller(LaunchContext launch) : FunctionsCaller
{
    public LaunchContext Launch { get; } = launch;
}

/// <summary>A therapist signed in with OpenID Connect: calls carry the access token their provider issued for the API.</summary>
public sealed class TherapistCaller(string accessToken) : FunctionsCaller
{
    internal string AccessToken { get; } = accessToken;
}

/// <summary>An answer of the functions API: its status, its FHIR body (tolerantly parsed), and its ETag where it sent one.</summary>
public sealed record FunctionsResponse(HttpStatusCode Status, Resource? Body)
{
    public string? ETag { get; init; }

    /// <summary>The first issue's text when the body is an OperationOutcome.</summary>
    public string? Problem => (Body as OperationOutcome)?.Issue.FirstOrDefault() is { } issue ? issue.Details?.Text ?? issue.Diagnostics : null;
}

/// <summary>
/// The functions API (FHIR at <c>/api/fhir</c>). For a launched physician every call carries a token the app signs
/// (DESIGN.md §6): iss = the app's base URL, aud = the API, sub and fhirUser = the verified fhirUser, ehr = the
/// launch's iss, patient = the launched patient, at most five minutes, unique jti, kid in the header. For a therapist
/// it carries their access token. The HTTP and error handling is the same for both.
/// </summary>
public sealed class FunctionsApi(HttpClient http, SigningKeys keys, IOptions<AppOptions> app, IOptions<FunctionsOptions> options, IMemoryCache cache, TimeProvider time)
{
    /// <summary>
    /// How long the therapist directory is kept: a form, its review and its send read it within a minute, and a
    /// therapist who stops taking referrals is still refused by the API's own check of the send.
    /// </summary>
    public static readonly TimeSpan DirectoryLifetime = TimeSpan.FromMinutes(1);

    public const string FhirJsonMediaType = "application/fhir+json";
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(5);

    /// <summary>How long a call waits for the API, on the app's clock; then the page says the service is not available.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static readonly FhirJsonDeserializer Tolerant = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));

    public async Task<string> TokenForAsync(LaunchContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var now = time.GetUtcNow();
        return await keys.SignAsync(SigningPurpose.ApiToken, new Dictionary<string, object>
        {
            [JwtClaimTypes.Issuer] = app.Value.BaseUrl.TrimEnd('/'),
            [JwtClaimTypes.Audience] = options.Value.Audience,
            [JwtClaimTypes.Subject] = context.FhirUser,
            ["fhirUser"] = context.FhirUser,
            ["ehr"] = context.Iss,
            ["patient"] = context.PatientId,
            [JwtClaimTypes.IssuedAt] = now.ToUnixTimeSeconds(),
            [JwtClaimTypes.Expiration] = (now + TokenLifetime).ToUnixTimeSeconds(),
            [JwtClaimTypes.JwtId] = AppSession.Base64UrlToken(16),
        }, cancellationToken);
    }

    /// <summary>The most pages read for one list: a next link that never ends is cut here rather than looping.</summary>
    private const int MaxPages = 50;

    /// <summary>
    /// The whole therapist directory, every page of it; read again after <see cref="DirectoryLifetime"/> (on the app's
    /// clock), kept per API and per EHR (the inbox's therapists apart from every EHR). An empty answer is not kept.
    /// </summary>
    public async Task<IReadOnlyList<PractitionerRole>> TherapistsAsync(FunctionsCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var key = $"therapist-directory:{options.Value.BaseUrl}|{(caller is PhysicianCaller physician ? physician.Launch.Iss : "inbox")}";
        var now = time.GetUtcNow();
        if (cache.TryGetValue(key, out CachedDirectory? cached) && cached is not null && now - cached.Read < DirectoryLifetime && now >= cached.Read)
        {
            return cached.Therapists;
        }

        var therapists = await AllPagesAsync<PractitionerRole>(caller, "/api/fhir/PractitionerRole", cancellationToken);
        if (therapists.Count > 0)
        {
            cache.Set(key, new CachedDirectory(therapists, now), DirectoryLifetime);
        }

        return therapists;
    }

    private sealed record CachedDirectory(IReadOnlyList<PractitionerRole> Therapists, DateTimeOffset Read);

    /// <summary>
    /// Every match of a search: the first page, then each page its <c>next</c> link names, to the end. A next link is
    /// followed as a path on the configured functions API, like every other call (the API writes its links with the
    /// host it was reached by, which behind a proxy need not be the configured one), and only for the same search type.
    /// </summary>
    private async Task<IReadOnlyList<T>> AllPagesAsync<T>(FunctionsCaller caller, string path, CancellationToken cancellationToken)
        where T : Resource
    {
        var found = new List<T>();
        var searched = new Uri(new Uri("http://functions"), path).AbsolutePath;
        string? next = path;
        for (var pages = 0; next is not null && pages < MaxPages; pages++)
        {
            var response = await GetAsync(caller, next, cancellationToken);
            found.AddRange(Entries<T>(response));
            next = response.Body is Bundle bundle
                && bundle.Link.FirstOrDefault(l => l.Relation == "next")?.Url is { } url && Uri.TryCreate(url, UriKind.Absolute, out var link)
                && link.AbsolutePath == searched
                ? link.PathAndQuery
                : null;
        }

        return found;
    }

    /// <summary>
    /// The review's two questions in one call (a FHIR <c>batch</c>, one token): the physician's own open (active)
    /// referrals for the launched patient (<c>GET ServiceRequest?patient=&amp;requester=&amp;status=active</c>) and, for a
    /// <paramref name="draft"/>, the API's judgement of it as a send would be judged (<c>POST ServiceRequest/$validate</c>:
    /// its FHIR package's profile with Firely's validator, the rules of every input, the business rules; nothing stored).
    /// A question the API did not answer is an error, not "none": a duplicate must not slip through because the search
    /// failed, and a draft is not offered for sending unjudged.
    /// </summary>
    public async Task<(IReadOnlyList<ServiceRequest> Open, OperationOutcome? Judged)> ReviewAsync(PhysicianCaller caller, ServiceRequest? draft, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var requester = TypeAndId(caller.Launch.FhirUser);
        var parameters = new Dictionary<string, string?> { ["patient"] = "Patient/" + caller.Launch.PatientId, ["status"] = "active" };
        if (requester.StartsWith("Practitioner/", StringComparison.Ordinal))
        {
            // The API's requester parameter takes a Practitioner; a PractitionerRole fhirUser is filtered below instead.
            parameters["requester"] = requester;
        }

        List<Bundle.EntryComponent> entries = [Entry(Bundle.HTTPVerb.GET, QueryHelpers.AddQueryString("ServiceRequest", parameters))];
        if (draft is not null)
        {
            entries.Add(Entry(Bundle.HTTPVerb.POST, "ServiceRequest/$validate", draft));
        }

        var (status, answers) = await BatchAsync(caller, entries, "the review", cancellationToken);
        if (answers is null)
        {
            throw new FunctionsUnavailableException($"The referral service did not answer the review ({(int)status}).");
        }

        if (StatusOf(answers[0]) != HttpStatusCode.OK || answers[0].Resource is not Bundle found)
        {
            throw new FunctionsUnavailableException($"The referral service did not say which referrals are open ({answers[0].Response?.Status}).");
        }

        // The judgement is an OperationOutcome whatever its status (a 400's, naming what it could not read, too).
        var judged = draft is null ? null
            : (answers[1].Resource ?? answers[1].Response?.Outcome) as OperationOutcome
              ?? throw new FunctionsUnavailableException($"The referral service did not check the referral ({answers[1].Response?.Status}).");
        return ([.. found.Entry.Select(e => e.Resource).OfType<ServiceRequest>()
            .Where(r => r.Status == RequestStatus.Active && r.Requester?.Reference is { } by && TypeAndId(by) == requester)], judged);
    }

    /// <summary>
    /// The launched patient's referrals, each with its Task (null where the API sent none), in one search:
    /// <c>GET ServiceRequest?patient=&amp;_revinclude=Task:focus</c>, every page.
    /// </summary>
    public async Task<IReadOnlyList<(ServiceRequest Request, Hl7.Fhir.Model.Task? Task)>> ReferralsWithTasksAsync(PhysicianCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var found = await AllPagesAsync<Resource>(caller, QueryHelpers.AddQueryString("/api/fhir/ServiceRequest", new Dictionary<string, string?>
        {
            ["patient"] = "Patient/" + caller.Launch.PatientId,
            ["_revinclude"] = RevIncludeTask,
        }), cancellationToken);
        return WithTasks(found);
    }

    /// <summary>
    /// One referral with its Task and the Task's ETag (for a change guarded by If-Match), in one search:
    /// <c>GET ServiceRequest?_id=&amp;_revinclude=Task:focus</c>. Nothing when it is absent or not the caller's.
    /// </summary>
    public async Task<(ServiceRequest? Request, Hl7.Fhir.Model.Task? Task, string? ETag)> ReferralWithTaskAsync(FunctionsCaller caller, string id, CancellationToken cancellationToken)
    {
        var response = await GetAsync(caller, QueryHelpers.AddQueryString("/api/fhir/ServiceRequest", new Dictionary<string, string?>
        {
            ["_id"] = id,
            ["_revinclude"] = RevIncludeTask,
        }), cancellationToken);
        var (request, task) = WithTasks(Entries<Resource>(response)).FirstOrDefault(r => r.Request.Id == id);
        return (request, task, ETagOf(task));
    }

    /// <summary>
    /// One referral's whole course in one search: the ServiceRequest, its Task (and the Task's ETag), the sessions'
    /// Procedures and Observations and the messages on the Task, oldest first:
    /// <c>GET ServiceRequest?_id=&amp;_revinclude=Task:focus&amp;_revinclude=Procedure:based-on&amp;_revinclude=Observation:based-on&amp;_revinclude:iterate=Communication:part-of</c>.
    /// A referral absent or not the caller's has no Request.
    /// </summary>
    public async Task<ReferralCourse> ReferralCourseAsync(FunctionsCaller caller, string id, CancellationToken cancellationToken)
    {
        var response = await GetAsync(caller, QueryHelpers.AddQueryString("/api/fhir/ServiceRequest",
        [
            KeyValuePair.Create("_id", (string?)id),
            KeyValuePair.Create("_revinclude", (string?)RevIncludeTask),
            KeyValuePair.Create("_revinclude", (string?)"Procedure:based-on"),
            KeyValuePair.Create("_revinclude", (string?)"Observation:based-on"),
            KeyValuePair.Create("_revinclude:iterate", (string?)"Communication:part-of"),
        ]), cancellationToken);
        var found = Entries<Resource>(response);
        var (request, task) = WithTasks(found).FirstOrDefault(r => r.Request.Id == id);
        return new ReferralCourse(request, task, ETagOf(task),
            [.. found.OfType<Procedure>()], [.. found.OfType<Observation>()], [.. found.OfType<Communication>()]);
    }

    private const string RevIncludeTask = "Task:focus";

    /// <summary>The API's ETag of a Task: its version (which the referral's ServiceRequest shares), for a change guarded by If-Match.</summary>
    private static string? ETagOf(Hl7.Fhir.Model.Task? task) => task?.Meta?.VersionId is { } version ? $"W/\"{version}\"" : null;

    /// <summary>Each ServiceRequest of a searchset with the Task whose focus it is.</summary>
    private static List<(ServiceRequest Request, Hl7.Fhir.Model.Task? Task)> WithTasks(IEnumerable<Resource> found)
    {
        var resources = found.ToList();
        var tasks = resources.OfType<Hl7.Fhir.Model.Task>()
            .GroupBy(t => ResourceIdOf(t.Focus?.Reference), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        return [.. resources.OfType<ServiceRequest>().Where(r => r.Id is not null).Select(r => (r, tasks.GetValueOrDefault(r.Id!)))];
    }

    /// <summary>
    /// One page of a therapist's inbox (<c>GET /api/fhir/Task?owner=&amp;status=a,b&amp;_include=Task:focus</c>), newest first:
    /// each Task with its ServiceRequest, and the continuation of the next page (the API's <c>_page</c>), if any.
    /// </summary>
    public async Task<InboxResults> InboxAsync(FunctionsCaller caller, string owner, IReadOnlyList<string> statuses, string? page, int count, CancellationToken cancellationToken)
    {
        var response = await GetAsync(caller, QueryHelpers.AddQueryString("/api/fhir/Task", InboxPageParameters(owner, statuses, page, count)), cancellationToken);
        return InboxResultsOf(response.Status, response.Body);
    }

    /// <summary>
    /// The inbox in one call, a FHIR batch whose entries the API runs at the same time: how many of the therapist's
    /// Tasks each of <paramref name="counted"/> holds (<c>_summary=count</c>; null where the API did not say), and one
    /// page of the list <paramref name="statuses"/>, as <see cref="InboxAsync"/> reads it.
    /// </summary>
    public async Task<(IReadOnlyList<int?> Counts, InboxResults Page)> InboxWithCountsAsync(
        FunctionsCaller caller, string owner, IReadOnlyList<IReadOnlyList<string>> counted, IReadOnlyList<string> statuses, string? page, int count, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counted);
        List<Bundle.EntryComponent> entries =
        [
            .. counted.Select(list => Entry(Bundle.HTTPVerb.GET, QueryHelpers.AddQueryString("Task", new Dictionary<string, string?>
            {
                ["owner"] = owner,
                ["status"] = string.Join(',', list),
                ["_summary"] = "count",
            }))),
            Entry(Bundle.HTTPVerb.GET, QueryHelpers.AddQueryString("Task", InboxPageParameters(owner, statuses, page, count))),
        ];
        var (status, answers) = await BatchAsync(caller, entries, "for the inbox", cancellationToken);
        if (answers is null)
        {
            // Refused as a whole (401: the sign-in's token is no longer good): no counts, and the page says why.
            return ([.. counted.Select(_ => (int?)null)], new InboxResults([], null, status));
        }

        var pageAnswer = answers[^1];
        return (
            [.. answers.Take(counted.Count).Select(a => StatusOf(a) == HttpStatusCode.OK && a.Resource is Bundle found ? found.Total : null)],
            InboxResultsOf(StatusOf(pageAnswer), pageAnswer.Resource));
    }

    /// <summary>
    /// <paramref name="entries"/> as one FHIR batch (<c>POST /api/fhir</c>, one token): their answers, in order, or null
    /// with the status when the API refused the batch as a whole. A 200 that is not their batch-response is a failure of
    /// the service (<paramref name="what"/> says what it did not answer).
    /// </summary>
    private async Task<(HttpStatusCode Status, List<Bundle.EntryComponent>? Answers)> BatchAsync(
        FunctionsCaller caller, List<Bundle.EntryComponent> entries, string what, CancellationToken cancellationToken)
    {
        var response = await SendAsync(caller, HttpMethod.Post, "/api/fhir", new Bundle { Type = Bundle.BundleType.Batch, Entry = entries }, null, cancellationToken);
        if (response.Status != HttpStatusCode.OK)
        {
            return (response.Status, null);
        }

        return response.Body is Bundle { Type: Bundle.BundleType.BatchResponse } answered && answered.Entry.Count == entries.Count
            ? (response.Status, answered.Entry)
            : throw new FunctionsUnavailableException($"The referral service did not answer {what} ({(int)response.Status}).");
    }

    private static Bundle.EntryComponent Entry(Bundle.HTTPVerb method, string url, Resource? resource = null) =>
        new() { Request = new Bundle.RequestComponent { Method = method, Url = url }, Resource = resource };

    private static Dictionary<string, string?> InboxPageParameters(string owner, IReadOnlyList<string> statuses, string? page, int count)
    {
        var parameters = new Dictionary<string, string?>
        {
            ["owner"] = owner,
            ["status"] = string.Join(',', statuses),
            ["_include"] = "Task:focus",
            ["_count"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (!string.IsNullOrEmpty(page))
        {
            parameters["_page"] = page;
        }

        return parameters;
    }

    /// <summary>
    /// A page of the inbox as the API answered it: with a 200, its searchset of Tasks with their ServiceRequests
    /// (<c>_include=Task:focus</c>) as the rows and the next page's continuation; else no rows and the status.
    /// </summary>
    private static InboxResults InboxResultsOf(HttpStatusCode status, Resource? answer)
    {
        if (status != HttpStatusCode.OK || answer is not Bundle bundle)
        {
            return new InboxResults([], null, status);
        }

        var requests = bundle.Entry.Select(e => e.Resource).OfType<ServiceRequest>().Where(r => r.Id is not null).ToDictionary(r => r.Id!, StringComparer.Ordinal);
        var rows = bundle.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>()
            .Select(t => (Task: t, Request: requests.GetValueOrDefault(ResourceIdOf(t.Focus?.Reference))))
            .ToList();
        var next = bundle.Link.FirstOrDefault(l => l.Relation == "next")?.Url is { } url && Uri.TryCreate(url, UriKind.Absolute, out var nextUri)
            ? QueryHelpers.ParseQuery(nextUri.Query).GetValueOrDefault("_page").ToString()
            : null;
        return new InboxResults(rows, string.IsNullOrEmpty(next) ? null : next, HttpStatusCode.OK);
    }

    /// <summary>A batch entry's status (<c>response.status</c>, "200 OK") as a code; 0 when it is not one.</summary>
    private static HttpStatusCode StatusOf(Bundle.EntryComponent answer) =>
        int.TryParse((answer.Response?.Status ?? "").Split(' ')[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)
            ? (HttpStatusCode)code
            : 0;

    /// <summary>
    /// POSTs the referral: 201 when new, 200 with the original when the placer id was seen (a retry), else the
    /// OperationOutcome. With <paramref name="ifNoneExist"/> (search parameters) a conditional create: 200 with another
    /// referral that matches them, or 412 when several do, and nothing is created.
    /// </summary>
    public Task<FunctionsResponse> SubmitAsync(FunctionsCaller caller, ServiceRequest request, string? ifNoneExist, CancellationToken cancellationToken) =>
        SendAsync(caller, HttpMethod.Post, "/api/fhir/ServiceRequest", request, ifNoneExist is null ? null : ("If-None-Exist", ifNoneExist), cancellationToken);

    public Task<FunctionsResponse> CancelAsync(FunctionsCaller caller, string id, string reason, CancellationToken cancellationToken) =>
        OperationAsync(caller, id, "cancel", Parameters(("reason", new FhirString(reason))), null, cancellationToken);

    /// <summary>
    /// <c>POST /api/fhir/Task/{id}/${operation}</c> ($accept, $decline, $record-session, ...) with its Parameters;
    /// <paramref name="ifMatch"/> (the ETag of the Task as read) makes a change to a Task changed since a 412.
    /// </summary>
    public Task<FunctionsResponse> OperationAsync(FunctionsCaller caller, string id, string operation, Parameters? parameters, string? ifMatch, CancellationToken cancellationToken) =>
        SendAsync(caller, HttpMethod.Post, $"/api/fhir/Task/{Uri.EscapeDataString(id)}/${operation}", parameters, ifMatch is null ? null : ("If-Match", ifMatch), cancellationToken);

    /// <summary>Parameters of FHIR values; a null value leaves its parameter out.</summary>
    public static Parameters Parameters(params (string Name, DataType? Value)[] values)
    {
        var parameters = new Parameters();
        foreach (var (name, value) in values)
        {
            if (value is not null)
            {
                parameters.Parameter.Add(new Parameters.ParameterComponent { Name = name, Value = value });
            }
        }

        return parameters;
    }

    /// <summary>A GET of a relative path (a search, a read, a next link made relative) for the caller.</summary>
    public Task<FunctionsResponse> GetAsync(FunctionsCaller caller, string path, CancellationToken cancellationToken) =>
        SendAsync(caller, HttpMethod.Get, path, null, null, cancellationToken);

    /// <summary>
    /// A referral's progress report (<c>$progress-report</c>) as the API renders it, for the caller: the file, or null
    /// with the status when the API refused it (404 for a referral the caller may not see).
    /// </summary>
    public async Task<(HttpStatusCode Status, ReportFile? File)> ReportAsync(
        FunctionsCaller caller, string referralId, bool payerCopy, bool xhtml, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var path = $"/api/fhir/ServiceRequest/{Uri.EscapeDataString(referralId)}/$progress-report?copy={(payerCopy ? "payer" : "chart")}&format={(xhtml ? "xhtml" : "pdf")}";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.Value.BaseUrl.TrimEnd('/') + path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await BearerForAsync(caller, cancellationToken));
        return await SendForAsync(request, async response => new ReportFile(
            await response.Content.ReadAsByteArrayAsync(cancellationToken),
            response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream",
            response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName?.Trim('"') ?? (xhtml ? "report.xhtml" : "report.pdf")),
            cancellationToken);
    }

    /// <summary>
    /// The functions API's EHR registrations (<c>GET /api/admin/ehrs</c>, administrators only), for an administrator
    /// signed in with the inbox's provider: what its write-back puts in each EHR's charts. The list, or null with the
    /// status when the API refused the token (401, 403); an API that fails or cannot be reached throws
    /// <see cref="FunctionsUnavailableException"/>.
    /// </summary>
    public async Task<(HttpStatusCode Status, IReadOnlyList<FunctionsEhrRegistration>? Ehrs)> EhrRegistrationsAsync(TherapistCaller admin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(admin);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.Value.BaseUrl.TrimEnd('/') + EhrRegistrationsPath));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin.AccessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        var (status, list) = await SendForAsync(request, response => response.Content.ReadFromJsonAsync<FunctionsEhrRegistrations>(Json, cancellationToken), cancellationToken);
        return (status, status != HttpStatusCode.OK ? null : list?.Ehrs ?? throw new FunctionsUnavailableException("The referral service answered without a list of EHRs."));
    }

    /// <summary>
    /// A call whose answer is not FHIR (a report's file, the administrators' list): the status, and what
    /// <paramref name="read"/> takes from a 200 (null otherwise). A 5xx, no answer, or an answer that cannot be read
    /// throws <see cref="FunctionsUnavailableException"/>.
    /// </summary>
    private async Task<(HttpStatusCode Status, T? Value)> SendForAsync<T>(HttpRequestMessage request, Func<HttpResponseMessage, Task<T?>> read, CancellationToken cancellationToken)
        where T : class
    {
        using var deadline = new Deadline(Timeout, time, cancellationToken);
        try
        {
            using var response = await http.SendAsync(request, deadline.Token);
            if ((int)response.StatusCode >= 500)
            {
                throw new FunctionsUnavailableException($"The referral service failed ({(int)response.StatusCode}).");
            }

            return response.StatusCode == HttpStatusCode.OK ? (response.StatusCode, await read(response)) : (response.StatusCode, null);
        }
        catch (JsonException e)
        {
            throw new FunctionsUnavailableException("The referral service's answer is not what this app reads.", e);
        }
        catch (HttpRequestException e)
        {
            throw new FunctionsUnavailableException("The referral service could not be reached.", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FunctionsUnavailableException("The referral service did not answer in time.", e);
        }
    }

    public const string EhrRegistrationsPath = "/api/admin/ehrs";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private async Task<string> BearerForAsync(FunctionsCaller caller, CancellationToken cancellationToken) => caller switch
    {
        PhysicianCaller physician => await TokenForAsync(physician.Launch, cancellationToken),
        TherapistCaller therapist => therapist.AccessToken,
        _ => throw new ArgumentOutOfRangeException(nameof(caller), "An unknown kind of caller."),
    };

    /// <summary>One call to the API with a token for <paramref name="caller"/>; <paramref name="condition"/> is the request's If-Match or If-None-Exist.</summary>
    private async Task<FunctionsResponse> SendAsync(
        FunctionsCaller caller, HttpMethod method, string path, Resource? body, (string Header, string Value)? condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        using var request = new HttpRequestMessage(method, new Uri(options.Value.BaseUrl.TrimEnd('/') + path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await BearerForAsync(caller, cancellationToken));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(FhirJsonMediaType));
        if (condition is { } conditional)
        {
            request.Headers.TryAddWithoutValidation(conditional.Header, conditional.Value);
        }

        if (body is not null)
        {
            request.Content = new StringContent(FhirJson.Serialize(body), Encoding.UTF8, FhirJsonMediaType);
        }

        using var deadline = new Deadline(Timeout, time, cancellationToken);
        try
        {
            using var response = await http.SendAsync(request, deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            Resource? resource = null;
            if (text.TrimStart().StartsWith('{'))
            {
                try
                {
                    resource = Tolerant.DeserializeResource(text);
                }
                catch (DeserializationFailedException e)
                {
                    resource = e.PartialResult as Resource;
                }
            }

            if ((int)response.StatusCode >= 500)
            {
                throw new FunctionsUnavailableException($"The referral service failed ({(int)response.StatusCode}).");
            }

            return new FunctionsResponse(response.StatusCode, resource) { ETag = response.Headers.ETag?.ToString() };
        }
        catch (HttpRequestException e)
        {
            throw new FunctionsUnavailableException("The referral service could not be reached.", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FunctionsUnavailableException("The referral service did not answer in time.", e);
        }
    }

    /// <summary>A reference as <c>Type/id</c>, written relative or absolute.</summary>
    internal static string TypeAndId(string reference)
    {
        var parts = reference.TrimEnd('/').Split('/');
        return parts.Length >= 2 ? $"{parts[^2]}/{parts[^1]}" : reference;
    }

    private static string ResourceIdOf(string? reference) => reference is null ? "" : reference[(reference.LastIndexOf('/') + 1)..];

    private static List<T> Entries<T>(FunctionsResponse response)
        where T : Resource =>
        response.Status == HttpStatusCode.OK && response.Body is Bundle bundle ? [.. bundle.Entry.Select(e => e.Resource).OfType<T>()] : [];
}

/// <summary>One referral with its Task (and its ETag), its sessions' Procedures and Observations and its messages, as one search returns them.</summary>
public sealed record ReferralCourse(
    ServiceRequest? Request, Hl7.Fhir.Model.Task? Task, string? ETag,
    IReadOnlyList<Procedure> Procedures, IReadOnlyList<Observation> Observations, IReadOnlyList<Communication> Messages);

/// <summary>The body of the functions API's <c>GET /api/admin/ehrs</c>.</summary>
public sealed record FunctionsEhrRegistrations(IReadOnlyList<FunctionsEhrRegistration>? Ehrs);

/// <summary>
/// One of the functions API's EHR registrations: <see cref="ChartWrites"/> is what its write-back puts in the EHR's
/// charts (<c>observations</c>, <c>documents</c>, <c>both</c>, or <c>nothing</c> when write-back is off).
/// </summary>
public sealed record FunctionsEhrRegistration(string Iss, string ClientId, bool WriteBack, bool WriteServiceRequest, string ChartWrites, int ReportEverySessions);

/// <summary>A downloaded report: its bytes, media type and file name (which carries no patient data).</summary>
public sealed record ReportFile(byte[] Content, string ContentType, string FileName);

/// <summary>One page of a therapist's inbox: each Task with its ServiceRequest (null if the API did not include it) and the next page's continuation.</summary>
public sealed record InboxResults(IReadOnlyList<(Hl7.Fhir.Model.Task Task, ServiceRequest? Request)> Rows, string? Next, HttpStatusCode Status);

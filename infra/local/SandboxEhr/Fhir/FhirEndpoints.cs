using System.Globalization;
using System.Text;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.WebUtilities;
using SandboxEhr.Auth;

namespace SandboxEhr.Fhir;

/// <summary>The FHIR R4 endpoint at <c>/fhir</c>: capabilities, read, search and create, behind bearer tokens and SMART scopes.</summary>
public static class FhirEndpoints
{
    /// <summary>Bodies above this are refused: no referral or observation comes near it.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public static readonly IReadOnlySet<string> CreatableTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "Observation", "ServiceRequest", "Procedure", "Task", "DocumentReference",
    };

    private static readonly HashSet<string> ResultParameters = new(StringComparer.Ordinal) { "_count", "_sort", "_format", "_summary", "_elements", "_total" };

    public static IEndpointRouteBuilder MapFhir(this IEndpointRouteBuilder app)
    {
        var fhir = app.MapGroup("/fhir").RequireCors(Cors.Public);
        fhir.MapGet("/metadata", (HttpRequest request, SandboxUrls urls) => FhirJson.Result(CapabilityStatementDocument.Create(urls.For(request))));
        fhir.MapGet("/{type}/{id}", ReadAsync);
        fhir.MapGet("/{type}", SearchAsync);
        fhir.MapPost("/{type}", CreateAsync).DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> ReadAsync(string type, string id, HttpContext context, FhirAccess access, FhirStore store, SandboxUrls urls)
    {
        var endpoints = urls.For(context.Request);
        var (caller, refusal) = await access.AuthenticateAsync(context, endpoints);
        if (caller is null)
        {
            return refusal!;
        }

        if (!FhirSearch.Parameters.ContainsKey(type))
        {
            return NotSupported(type);
        }

        if (!caller.May(type, FhirPermissions.Read, null))
        {
            return FhirAccess.Forbidden(context, endpoints, $"The granted scopes do not allow reading {type}.");
        }

        var resource = store.Read(type, id);
        if (resource is null)
        {
            return FhirJson.Outcome(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound, $"{type}/{id} is not known.");
        }

        if (!caller.May(type, FhirPermissions.Read, resource))
        {
            return FhirAccess.Forbidden(context, endpoints, $"The granted patient scopes do not reach {type}/{id}.");
        }

        SetVersionHeaders(context.Response, resource);
        return FhirJson.Result(resource);
    }

    private static async Task<IResult> SearchAsync(string type, HttpContext context, FhirAccess access, FhirStore store, SandboxUrls urls, TimeProvider time)
    {
        var endpoints = urls.For(context.Request);
        var (caller, refusal) = await access.AuthenticateAsync(context, endpoints);
        if (caller is null)
        {
            return refusal!;
        }

        if (!FhirSearch.Parameters.TryGetValue(type, out var supported))
        {
            return NotSupported(type);
        }

        if (!caller.May(type, FhirPermissions.Search, null))
        {
            return FhirAccess.Forbidden(context, endpoints, $"The granted scopes do not allow searching {type}.");
        }

        // FHIR's default is lenient: unknown parameters are ignored (and left out of the self link), unless the client asks for strict handling.
        var strict = context.Request.Headers["Prefer"].ToString().Contains("handling=strict", StringComparison.OrdinalIgnoreCase);
        var used = new List<KeyValuePair<string, string?>>();
        foreach (var (name, values) in context.Request.Query)
        {
            if (supported.Contains(name))
            {
                used.AddRange(values.Select(v => new KeyValuePair<string, string?>(name, v)));
            }
            else if (strict && !ResultParameters.Contains(name))
            {
                return FhirJson.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.NotSupported, $"Search parameter '{name}' is not supported for {type}.");
            }
        }

        if (caller.SearchLimitedToPatient(type))
        {
            var named = used.Where(p => FhirSearch.PatientParameters.Contains(p.Key) || (type == "Patient" && p.Key == "_id"))
                .SelectMany(p => (p.Value ?? "").Split(','))
                .Select(v => PatientCompartment.IdIn(v.Trim(), "Patient"));
            if (caller.PatientId is null || named.Any(p => p != caller.PatientId))
            {
                return FhirAccess.Forbidden(context, endpoints, "The granted patient scopes do not reach that patient.");
            }
        }

        var matches = store.All(type)
            .Where(r => used.All(p => FhirSearch.Matches(r, p.Key, p.Value ?? "")))
            .Where(r => caller.May(type, FhirPermissions.Search, r))
            .ToList();
        var bundle = new Bundle
        {
            Id = Guid.NewGuid().ToString(),
            Meta = new Meta { LastUpdated = time.GetUtcNow() },
            Type = Bundle.BundleType.Searchset,
            Total = matches.Count,
            Link = [new Bundle.LinkComponent { Relation = "self", Url = QueryHelpers.AddQueryString($"{endpoints.Fhir}/{type}", used) }],
            Entry =
            [
                .. matches.Select(r => new Bundle.EntryComponent
                {
                    FullUrl = $"{endpoints.Fhir}/{type}/{r.Id}",
                    Resource = r,
                    Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
                }),
            ],
        };
        return FhirJson.Result(bundle);
    }

    private static async Task<IResult> CreateAsync(string type, HttpContext context, FhirAccess access, FhirStore store, SandboxUrls urls)
    {
        var endpoints = urls.For(context.Request);
        var (caller, refusal) = await access.AuthenticateAsync(context, endpoints);
        if (caller is null)
        {
            return refusal!;
        }

        if (!FhirSearch.Parameters.ContainsKey(type))
        {
            return NotSupported(type);
        }

        if (!CreatableTypes.Contains(type))
        {
            return FhirJson.Outcome(StatusCodes.Status405MethodNotAllowed, OperationOutcome.IssueType.NotSupported, $"This server does not create {type}.");
        }

        if (!caller.May(type, FhirPermissions.Create, null))
        {
            return FhirAccess.Forbidden(context, endpoints, $"The granted scopes do not allow creating {type}.");
        }

        var mediaType = context.Request.ContentType?.Split(';')[0].Trim();
        var xml = mediaType is FhirJson.XmlMediaType or "application/xml";
        if (!xml && mediaType is not (FhirJson.MediaType or "application/json"))
        {
            return FhirJson.Outcome(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported, "Send the resource as application/fhir+json or application/fhir+xml.");
        }

        var body = await ReadBodyAsync(context.Request);
        if (body is null)
        {
            return FhirJson.Outcome(StatusCodes.Status413PayloadTooLarge, OperationOutcome.IssueType.TooLong, $"The body is over {MaxBodyBytes} bytes.");
        }

        var resource = xml ? FhirJson.ParseXml(body, out var problems) : FhirJson.Parse(body, out problems);
        if (resource is null)
        {
            return FhirJson.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Structure,
                string.Join(" ", problems.Select(p => p.Message)), problems.Select(p => p.Path));
        }

        if (resource.TypeName != type)
        {
            return FhirJson.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid,
                $"The body is a {resource.TypeName}, but was posted to {type}.", [$"{resource.TypeName}"]);
        }

        var patientId = PatientCompartment.PatientOf(resource);
        if (patientId is null || store.Read("Patient", patientId) is null)
        {
            return FhirJson.Outcome(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Invalid,
                "The resource must reference a Patient this server knows.", [type == "Task" ? "Task.for" : $"{type}.subject"]);
        }

        if (!caller.May(type, FhirPermissions.Create, resource))
        {
            return FhirAccess.Forbidden(context, endpoints, "The granted patient scopes do not reach that patient.");
        }

        var condition = context.Request.Headers["If-None-Exist"].ToString();
        Resource stored;
        if (condition.Length == 0)
        {
            stored = store.Create(resource);
        }
        else
        {
            var criteria = QueryHelpers.ParseQuery(condition.StartsWith('?') ? condition : "?" + condition);
            var unsupported = criteria.Keys.FirstOrDefault(name => !FhirSearch.Parameters[type].Contains(name, StringComparer.Ordinal));
            if (criteria.Count == 0 || unsupported is not null)
            {
                return FhirJson.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.NotSupported,
                    $"If-None-Exist must be search parameters this server supports for {type} ({string.Join(", ", FhirSearch.Parameters[type])}).");
            }

            var (created, matches) = store.CreateIfNoneExist(resource, r => criteria.All(c => c.Value.All(v => FhirSearch.Matches(r, c.Key, v!))));
            if (created is null)
            {
                if (matches.Count > 1)
                {
                    return FhirJson.Outcome(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Duplicate,
                        $"If-None-Exist matches {matches.Count} {type} resources.");
                }

                // FHIR conditional create: one match means the resource exists already; 200 and nothing created. Its
                // content goes only to a caller who may read it; a create-only caller learns where it is.
                var existing = matches[0];
                SetVersionHeaders(context.Response, existing);
                context.Response.Headers.Location = $"{endpoints.Fhir}/{type}/{existing.Id}/_history/{existing.Meta?.VersionId}";
                return caller.May(type, FhirPermissions.Read, existing)
                    ? FhirJson.Result(existing, StatusCodes.Status200OK)
                    : FhirJson.Result(new OperationOutcome
                    {
                        Issue =
                        [
                            new OperationOutcome.IssueComponent
                            {
                                Severity = OperationOutcome.IssueSeverity.Information,
                                Code = OperationOutcome.IssueType.Informational,
                                Diagnostics = $"The {type} exists already; nothing was created.",
                            },
                        ],
                    }, StatusCodes.Status200OK);
            }

            stored = created;
        }

        SetVersionHeaders(context.Response, stored);
        context.Response.Headers.Location = $"{endpoints.Fhir}/{type}/{stored.Id}/_history/{stored.Meta?.VersionId}";
        return FhirJson.Result(stored, StatusCodes.Status201Created);
    }

    private static IResult NotSupported(string type) =>
        FhirJson.Outcome(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotSupported, $"This server does not serve '{type}'.");

    private static void SetVersionHeaders(HttpResponse response, Resource resource)
    {
        response.Headers.ETag = $"W/\"{resource.Meta?.VersionId ?? "1"}\"";
        if (resource.Meta?.LastUpdated is { } updated)
        {
            response.Headers.LastModified = updated.ToString("R", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Reads at most <see cref="MaxBodyBytes"/>; null when the body is longer.</summary>
    private static async Task<string?> ReadBodyAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}

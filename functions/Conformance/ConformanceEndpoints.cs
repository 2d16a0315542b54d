using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Model.Conformance;
using Referral.Model.Terminology;

namespace Referral.Functions.Conformance;

/// <summary>
/// <c>GET /api/fhir/metadata</c>: the CapabilityStatement, built from the shared model's fragment and narrowed
/// to what this app really serves (read off its own endpoints), plus the terminology the model defines
/// (<c>ValueSet</c> read and <c>$expand</c>, <c>CodeSystem</c> read).
/// </summary>
public static class ConformanceEndpoints
{
    public static IEndpointRouteBuilder MapConformance(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/fhir/metadata", (HttpRequest request, EndpointDataSource endpoints, TimeProvider time) =>
            new FhirResult(BuildCapabilityStatement(endpoints, time.GetUtcNow(), $"{request.Scheme}://{request.Host}/api/fhir")))
            .AllowAnonymous().WithName("metadata");
        app.MapGet("/api/fhir/ValueSet/{id}", (string id) =>
            ConformanceArtifacts.ValueSets().FirstOrDefault(v => v.Id == id) is { } valueSet ? new FhirResult(valueSet) : Outcome.NotFound("ValueSet", id))
            .RequireAuthorization().WithName("valueset-read");
        app.MapGet("/api/fhir/ValueSet/$expand", (HttpRequest request, ValueSetExpander expander) =>
                Expand(expander, request.Query["url"].ToString(), request.Query["filter"].ToString(), request.Query.TryGetValue("count", out var count) ? count.ToString() : null))
            .RequireAuthorization().WithName("valueset-expand");
        app.MapPost("/api/fhir/ValueSet/$expand", ExpandPostedAsync).RequireAuthorization().WithName("valueset-expand-post");
        app.MapGet("/api/fhir/CodeSystem/{id}", (string id) =>
            ConformanceArtifacts.CodeSystems().FirstOrDefault(c => c.Id == id) is { } codeSystem ? new FhirResult(codeSystem) : Outcome.NotFound("CodeSystem", id))
            .RequireAuthorization().WithName("codesystem-read");
        // The package and its definitions hold no patient data: anyone (an EHR integrator, a validator) may read them.
        app.MapGet(ReferralPackage.Route, () => Results.File(ReferralPackage.Instance.Tarball, "application/gzip", $"{ReferralPackage.Name}.tgz"))
            .AllowAnonymous().WithName("package");
        app.MapGet("/api/fhir/StructureDefinition/{id}", (string id) => Definition("StructureDefinition", id)).AllowAnonymous().WithName("structuredefinition-read");
        app.MapGet("/api/fhir/OperationDefinition/{id}", (string id) => Definition("OperationDefinition", id)).AllowAnonymous().WithName("operationdefinition-read");
        return app;
    }

    private static FhirResult Definition(string type, string id) =>
        ReferralPackage.Instance.Resources.FirstOrDefault(r => r.TypeName == type && r.Id == id) is { } resource
            ? new FhirResult(resource)
            : Outcome.NotFound(type, id);

    /// <summary>
    /// <c>POST ValueSet/$expand</c> with a Parameters body, as FHIR clients send it (Firely's <c>ExpandValueSetAsync</c>):
    /// <c>url</c> (uri or canonical), <c>filter</c> (string), <c>count</c> (integer). A ValueSet given in the body
    /// (<c>valueSet</c>) or any other parameter is refused: only this server's value sets are expanded.
    /// </summary>
    private static async Task<FhirResult> ExpandPostedAsync(HttpRequest request, ValueSetExpander expander, CancellationToken cancellationToken)
    {
        var (parameters, error) = await FhirBody.ReadParametersAsync(request, operation: null, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        string? url = null, filter = null, count = null;
        foreach (var parameter in parameters!.Parameter)
        {
            var path = $"Parameters.parameter.where(name='{parameter.Name}')";
            switch (parameter.Name, parameter.Value)
            {
                case ("url", FhirUri uri):
                    url = uri.Value;
                    break;
                case ("url", Canonical canonical):
                    url = canonical.Value;
                    break;
                case ("filter", FhirString text):
                    filter = text.Value;
                    break;
                case ("count", Integer number):
                    count = number.Value?.ToString(CultureInfo.InvariantCulture);
                    break;
                case ("url" or "filter" or "count", _):
                    return Outcome.BadRequest($"{parameter.Name} has the wrong type: url is a valueUri, filter a valueString, count a valueInteger.", path);
                default:
                    return Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.NotSupported,
                        $"$expand here takes url, filter and count; '{parameter.Name}' is not supported (only this server's value sets are expanded).", path);
            }
        }

        return Expand(expander, url, filter, count);
    }

    private static FhirResult Expand(ValueSetExpander expander, string? url, string? filter, string? countText)
    {
        if (string.IsNullOrEmpty(url))
        {
            return Outcome.BadRequest("$expand needs the ValueSet's canonical url.", "url");
        }

        int? count = null;
        if (countText is not null)
        {
            if (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed is < 1 or > 1000)
            {
                return Outcome.BadRequest("count must be a whole number from 1 to 1000.", "count");
            }

            count = parsed;
        }

        return expander.Expand(url, filter ?? "", count) is { } expansion
            ? new FhirResult(expansion)
            : Outcome.Error(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound, $"No ValueSet has the url {url}.", "url");
    }

    public static CapabilityStatement BuildCapabilityStatement(EndpointDataSource endpoints, DateTimeOffset now, string baseAddress)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var routes = endpoints.Endpoints.OfType<RouteEndpoint>()
            .Select(e => (Pattern: e.RoutePattern.RawText ?? "", Methods: e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [],
                Search: e.Metadata.GetMetadata<SearchDeclaration>()))
            .Where(r => r.Pattern.StartsWith("/api/fhir/", StringComparison.Ordinal))
            .ToList();
        var servedTypes = routes.Select(r => r.Pattern.Split('/')[3]).Where(t => ModelInfo.IsKnownResource(t)).ToHashSet(StringComparer.Ordinal);

        var statement = ConformanceArtifacts.CreateCapabilityStatement(now, baseAddress);
        // Every answer is written in either format (FhirFormats); operation bodies are read in either.
        statement.Format = ["json", "xml"];
        var rest = statement.Rest[0];
        if (endpoints.Endpoints.OfType<RouteEndpoint>().Any(e => e.RoutePattern.RawText == "/api/fhir" && e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains("POST") == true))
        {
            rest.Interaction =
            [
                new CapabilityStatement.SystemInteractionComponent
                {
                    Code = CapabilityStatement.SystemRestfulInteraction.Batch,
                    Documentation = $"Up to {BatchEndpoint.MaxEntries} reads, searches and $validate (POST with the resource) in one call; each entry is " +
                        "authorized and audited as a call of its own and answered on its own; a read's request.ifNoneMatch is its If-None-Match (304 for the version held). Changes are not taken in a batch (405 for that entry); no transaction.",
                },
            ];
        }

        rest.Resource.RemoveAll(r => !servedTypes.Contains(r.Type!));
        foreach (var type in servedTypes.Where(t => rest.Resource.All(r => r.Type != t)).Order(StringComparer.Ordinal))
        {
            rest.Resource.Add(new CapabilityStatement.ResourceComponent { Type = type });
        }

        foreach (var resource in rest.Resource)
        {
            var own = routes.Where(r => r.Pattern.Split('/')[3] == resource.Type).ToList();
            resource.Interaction =
            [
                .. Interaction(own.Any(r => r.Methods.Contains("GET") && r.Pattern.EndsWith("/{id}", StringComparison.Ordinal)), CapabilityStatement.TypeRestfulInteraction.Read),
                .. Interaction(own.Any(r => r.Methods.Contains("GET") && r.Pattern.EndsWith("/{id}/_history/{vid}", StringComparison.Ordinal)), CapabilityStatement.TypeRestfulInteraction.Vread),
                .. Interaction(own.Any(r => r.Methods.Contains("GET") && r.Pattern.EndsWith("/{id}/_history", StringComparison.Ordinal)), CapabilityStatement.TypeRestfulInteraction.HistoryInstance),
                .. Interaction(own.Any(r => r.Methods.Contains("GET") && r.Pattern == $"/api/fhir/{resource.Type}"), CapabilityStatement.TypeRestfulInteraction.SearchType),
                .. Interaction(own.Any(r => r.Methods.Contains("POST") && r.Pattern == $"/api/fhir/{resource.Type}"), CapabilityStatement.TypeRestfulInteraction.Create),
            ];
            // What the search endpoint declares is what its handler reads (Search.ReadAsync): one source for both.
            var search = own.Select(r => r.Search).FirstOrDefault(d => d is not null);
            resource.SearchParam = search is null ? [] : [.. search.Parameters.Append(search.CountParameter).Select(p =>
                new CapabilityStatement.SearchParamComponent
                {
                    Name = p.Name,
                    Type = p.Type,
                    Documentation = p.Documentation,
                    // Beyond core FHIR: the package's SearchParameter (PackageSearchParameters) defines it.
                    Definition = PackageSearchParameters.IsCore(resource.Type!, p.Name) ? null : PackageSearchParameters.Url(resource.Type!, p.Name),
                })];
            resource.SearchInclude = search is null ? [] : [.. search.Includes];
            resource.SearchRevInclude = search is null ? [] : [.. search.RevIncludes, .. search.RevIncludesIterate];
            if (resource.Type == "ValueSet" && resource.Operation.FirstOrDefault(o => o.Name == "expand") is { } expand)
            {
                expand.Documentation = "By GET (url, filter, count in the query) or by POST (a Parameters body with url, filter, count). " +
                    "filter: each word starts a word of the display, synonyms or code.";
            }
            foreach (var operation in own.Select(r => r.Pattern.Split('/')[^1]).Where(s => s.StartsWith('$')).Distinct(StringComparer.Ordinal))
            {
                if (resource.Operation.All(o => o.Name != operation[1..]))
                {
                    resource.Operation.Add(new CapabilityStatement.OperationComponent
                    {
                        Name = operation[1..],
                        Definition = $"{Referral.Model.Canonicals.Base}/OperationDefinition/{resource.Type}-{operation[1..]}",
                        Documentation = (resource.Type, operation[1..]) switch
                        {
                            ("Task", Sessions.SessionEndpoints.RecordSessionOperation) =>
                                "Records one session, by the therapist the referral is assigned to: a Parameters body with start (dateTime), minutes, " +
                                "bodySite (CodeableConcept with laterality, 1..*), technique (Coding, 1..*), painBefore, painAfter (0-10), " +
                                "rangeOfMotion (parts joint, movement, degrees), functionalScore (parts instrument, score) and note. The server makes the " +
                                "Procedure and Observations (LOINC 72514-3 pain, range of motion, functional score), stores them with the Task's change in " +
                                "one transaction and queues their write-back to the EHR; it answers a Parameters with task, procedure, observation, session " +
                                "and remainingSessions. A session past the prescribed count or validity, on a body site not prescribed, or on a referral " +
                                "not accepted is a 422 naming the parameter; the same session sent again is answered with what was stored; If-Match guards " +
                                "against stale changes.",
                            ("Task", Referrals.TaskParameters.CompleteOperation) =>
                                "Completes the course, by the therapist the referral is assigned to (from session completed; after a no-show with a " +
                                "'reason'), with a Parameters body: 'outcome' (valueString, plain text) is how the course went and is required once a " +
                                "session has been recorded, because the physician who prescribed the treatment is owed its result; a course closed with " +
                                "no session recorded (a no-show) may omit it. 'recommendations' (valueString, plain text, optional, only with an outcome) " +
                                "is what should happen next; 'reason' where the state machine needs one (closing after a no-show). The discharge summary " +
                                "is stored as Task.output (discharge-outcome, discharge-recommendations) in the same transaction that completes the Task and " +
                                "the ServiceRequest, and the physician is notified. A missing outcome is a 400 naming Parameters.parameter.where(name='outcome'); " +
                                "If-Match guards against stale changes.",
                            ("Task", "decline") =>
                                "Declines the referral, by the therapist it is sent to, with a Parameters body carrying 'reason' (required, plain text); " +
                                "the physician is notified with the reason. If-Match guards against stale changes.",
                            ("Task", Referrals.TaskParameters.RequestRenewalOperation) =>
                                "Asks the physician to renew the prescription, by the therapist the referral is assigned to, while it is accepted or under " +
                                "treatment (otherwise 409): a Parameters body with 'reason' (valueString, plain text, required) and 'sessions' (valueInteger " +
                                "1-52, optional: the additional sessions asked for). Stored as a Task.output renewal-request (valueAnnotation: time, text, " +
                                "author; the sessions in the renewal-additional-sessions extension), earlier requests kept; the physician is notified. " +
                                "Answers the changed Task; If-Match guards against stale changes.",
                            ("Task", Referrals.TaskParameters.ApproveRenewalOperation) =>
                                "Approves the pending renewal request, by the physician who wrote the referral only (else 403): a Parameters body with " +
                                "'sessions' (valueInteger, the sessions added; at most 52 in all) and 'validUntil' (valueDate, the prescription's new last day). " +
                                "The prescription is revised as the next version of the same ServiceRequest (repeat.count and boundsPeriod.end), the answer " +
                                "is stored as a Task.output renewal-answer, the Task goes on; the therapist is notified. No request pending, or a course that " +
                                "ended, is a 409. If-Match guards against stale changes.",
                            ("Task", Referrals.TaskParameters.DeclineRenewalOperation) =>
                                "Declines the pending renewal request, by the physician who wrote the referral only (else 403), with 'reason' (valueString, " +
                                "required); stored as a Task.output renewal-answer; the therapist is notified. If-Match guards against stale changes.",
                            ("Task", Referrals.TaskParameters.HoldOperation) =>
                                "Puts a new referral (Task requested) on hold while the therapist waits for an answer, by the therapist it is sent to " +
                                "(else 403): a Parameters body with 'reason' (valueString, plain text, required: a missing one is a 400 naming " +
                                "Parameters.parameter.where(name='reason')). The Task becomes on-hold with the reason in statusReason (business status " +
                                "stays BSeR 2.0) and the hold is kept as a Task.output on-hold (valueAnnotation); the physician is notified without the " +
                                "reason. From on-hold the therapist may $resume, $accept or $decline, the physician may $cancel. A referral already on " +
                                "hold, accepted or ended is a 409. If-Match guards against stale changes.",
                            ("Task", Referrals.TaskParameters.ResumeOperation) =>
                                "Takes a referral off hold, back to requested, by the therapist it is sent to (else 403); no body or an empty Parameters. " +
                                "The resume is kept as a Task.output resumed; a referral not on hold is a 409. If-Match guards against stale changes.",
                            ("Task", Referrals.TaskParameters.MessageOperation) =>
                                "Writes a question or answer on the referral, by the therapist it is sent to or the physician who wrote it (else 403), " +
                                "before or during treatment (after it ended, 409): a Parameters body with 'text' (valueString, plain text, at most 2000 " +
                                "characters). Stored as a Communication about the ServiceRequest and partOf the Task, in the referral's partition; the same " +
                                "message sent again is stored once (200). The other party is notified without the text.",
                            ("Task", _) =>
                                "A transition of the referral's Task, checked by the referral state machine; a Parameters body with 'reason' where one is needed; If-Match guards against stale changes.",
                            _ => null,
                        },
                    });
                }
            }
        }

        rest.Documentation = "Searches are lenient: a parameter a search does not take is ignored and left out of the Bundle's self link; " +
            "with Prefer: handling=strict it is a 400 naming it. Every search pages (_count up to each search's maximum, the next link's _page is " +
            "bound to the caller and the search). Answers are FHIR JSON or XML (_format, Accept), else 406; HEAD is served wherever GET is; " +
            "reads carry meta.versionId equal to the ETag and answer If-None-Match with 304. Operations whose parameters are all optional take " +
            "an empty Parameters or no body.";
        rest.Security = new CapabilityStatement.SecurityComponent
        {
            Description = "Bearer JWTs only: physicians' tokens signed per call by the smart-app (validated against its JWKS), " +
                "therapists' and administrators' access tokens from the configured OpenID Connect provider.",
        };
        return statement;
    }

    private static IEnumerable<CapabilityStatement.ResourceInteractionComponent> Interaction(bool served, CapabilityStatement.TypeRestfulInteraction code) =>
        served ? [new CapabilityStatement.ResourceInteractionComponent { Code = code }] : [];
}

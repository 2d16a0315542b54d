using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Functions.Security;

namespace Referral.Functions.Audit;

public static class AuditEndpoints
{
    public static SearchDeclaration Search { get; } = new("AuditEvent",
    [
        new("date", SearchParamType.Date,
            "The days (YYYY-MM-DD; eq, ge, gt, le, lt; repeat for a range, e.g. date=ge2026-01-01&date=le2026-01-31); default today; a range needs a lower bound. Newest first. Administrators only."),
        new("patient", SearchParamType.Reference, "Patient/[id]."),
        new("agent", SearchParamType.String, "Who acted, as recorded."),
    ], DefaultCount: 50, MaxCount: 200)
    {
        TotalDocumentation = $"total is left out: the trail is read one day's partition at a time and is never counted in full. A page looks at up to {AuditTrail.DaysPerPage} days, so a page over a quiet range may hold fewer events than _count and still have a next link.",
    };

    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/fhir/AuditEvent", SearchAsync)
            .RequireAuthorization(ApiAuthentication.AdminPolicy)
            .WithName("auditevent-search")
            .WithMetadata(Search);
        return app;
    }

    /// <summary><c>GET /api/fhir/AuditEvent?date=[prefix]YYYY-MM-DD[&amp;date=...][&amp;patient=Patient/x][&amp;agent=...][&amp;_count=n]</c>, for administrators.</summary>
    private static async Task<FhirResult> SearchAsync(HttpContext http, Caller caller, AuditTrail trail, TimeProvider time, PageTokens pages, CancellationToken cancellationToken)
    {
        var (search, searchError) = await Fhir.Search.ReadAsync(http, Search, pages);
        if (searchError is not null)
        {
            return searchError;
        }

        var query = search!.Query;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (Days(query, today) is not var (from, to))
        {
            return Outcome.BadRequest("date must be days written [eq|ge|gt|le|lt]YYYY-MM-DD; a range needs a lower bound (ge or gt).", "date");
        }

        var patient = SearchQuery.Value(query, "patient");
        if (patient is not null && !(patient.StartsWith("Patient/", StringComparison.Ordinal) && SearchQuery.IsFhirId(patient["Patient/".Length..])))
        {
            return Outcome.BadRequest("patient must be written Patient/[id].", "patient");
        }

        var agent = SearchQuery.Value(query, "agent");
        var (events, next) = await trail.SearchAsync(from, to, patient, agent, search.Count, search.Position, cancellationToken);

        await trail.RecordAsync(AuditEntry.Search(caller, "AuditEvent", http, patient), cancellationToken);

        return new FhirResult(await search.BundleAsync(events, next, total: null, fullUrl: e => $"urn:uuid:{e.Id}"));
    }

    /// <summary>The days the <c>date</c> parameters name (default today; no later than today); null when one is not a day or the range has no lower bound.</summary>
    private static (DateOnly From, DateOnly To)? Days(IQueryCollection query, DateOnly today)
    {
        if (!query.TryGetValue("date", out var values))
        {
            return (today, today);
        }

        DateOnly? from = null;
        DateOnly? to = null;
        foreach (var value in values)
        {
            var text = value ?? "";
            var prefix = text.Length > 2 && char.IsAsciiLetter(text[0]) ? text[..2] : "";
            if (prefix is not ("" or "eq" or "ge" or "gt" or "le" or "lt")
                || !DateOnly.TryParseExact(text[prefix.Length..], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                return null;
            }

            var (low, high) = prefix switch
            {
                "ge" => (day, DateOnly.MaxValue),
                "gt" => (day.AddDays(1), DateOnly.MaxValue),
                "le" => (DateOnly.MinValue, day),
                "lt" => (DateOnly.MinValue, day.AddDays(-1)),
                _ => (day, day),
            };

            from = from is null || low > from ? low : from;
            to = to is null || high < to ? high : to;
        }

        if (from is null || from == DateOnly.MinValue)
        {
            return null;
        }

        var last = to!.Value > today ? today : to.Value;
        return (from.Value, last);
    }
}

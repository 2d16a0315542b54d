using System.Globalization;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using Referral.Functions.Fhir;
using Referral.Functions.Security;

namespace Referral.Functions.Audit;

public static class AuditEndpoints
{
    public static readonly IReadOnlyList<string> Parameters = ["date", "patient", "agent", "_count"];

    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/fhir/AuditEvent", SearchAsync)
            .RequireAuthorization(ApiAuthentication.AdminPolicy)
            .WithName("auditevent-search");
        return app;
    }

    /// <summary><c>GET /api/fhir/AuditEvent?date=YYYY-MM-DD[&amp;patient=Patient/x][&amp;agent=...][&amp;_count=n]</c>, for administrators.</summary>
    private static async Task<FhirResult> SearchAsync(HttpContext http, AuditTrail trail, TimeProvider time, IOptions<AuthOptions> auth, CancellationToken cancellationToken)
    {
        var query = http.Request.Query;
        if (SearchQuery.RejectUnknown(query, Parameters) is { } unknown)
        {
            return unknown;
        }

        var day = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (query.TryGetValue("date", out var date) && !DateOnly.TryParseExact(date.ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
        {
            return Outcome.BadRequest("date must be a day, written YYYY-MM-DD.", "date");
        }

        if (SearchQuery.Count(query, fallback: 50, max: 200, out var count) is { } badCount)
        {
            return badCount;
        }

        var patient = SearchQuery.Value(query, "patient");
        if (patient is not null && !(patient.StartsWith("Patient/", StringComparison.Ordinal) && SearchQuery.IsFhirId(patient["Patient/".Length..])))
        {
            return Outcome.BadRequest("patient must be written Patient/[id].", "patient");
        }

        var agent = SearchQuery.Value(query, "agent");
        var caller = Caller.From(http.User, auth.Value);
        var events = await trail.SearchAsync(day, patient, agent, count, cancellationToken);

        await trail.RecordAsync(new AuditEntry
        {
            Caller = caller,
            Interaction = "search-type",
            Action = AuditEvent.AuditEventAction.R,
            Entity = "AuditEvent",
            Patient = patient,
            Success = true,
            SourceAddress = http.Connection.RemoteIpAddress?.ToString(),
        }, cancellationToken);

        var bundle = new Bundle { Type = Bundle.BundleType.Searchset, Total = events.Count };
        foreach (var auditEvent in events)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"urn:uuid:{auditEvent.Id}",
                Resource = auditEvent,
                Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
            });
        }

        return new FhirResult(bundle);
    }

}

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
        var unknown = query.Keys.FirstOrDefault(k => !Parameters.Contains(k, StringComparer.Ordinal));
        if (unknown is not null)
        {
            return Outcome.BadRequest($"The search parameter '{unknown}' is not supported; use {string.Join(", ", Parameters)}.", unknown);
        }

        var day = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (query.TryGetValue("date", out var date) && !DateOnly.TryParseExact(date.ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
        {
            return Outcome.BadRequest("date must be a day, written YYYY-MM-DD.", "date");
        }

        var count = 50;
        if (query.TryGetValue("_count", out var countText) && (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > 200))
        {
            return Outcome.BadRequest("_count must be a whole number from 1 to 200.", "_count");
        }

        var patient = Single(query, "patient");
        if (patient is not null && !(patient.StartsWith("Patient/", StringComparison.Ordinal) && Referrals.ReferralEndpoints.IsFhirId(patient["Patient/".Length..])))
        {
            return Outcome.BadRequest("patient must be written Patient/[id].", "patient");
        }

        var agent = Single(query, "agent");
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

    private static string? Single(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
}

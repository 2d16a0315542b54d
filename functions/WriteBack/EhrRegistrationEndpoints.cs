using Microsoft.AspNetCore.Http.HttpResults;
using Referral.Functions.Security;

namespace Referral.Functions.WriteBack;

/// <summary>
/// <c>GET /api/admin/ehrs</c>, for administrators only: each <c>Ehrs</c> registration and what the write-back puts in
/// its charts, for the smart-app's self-check. Not part of <c>/api/health</c>, which anyone may read: the list says
/// which EHRs (hospitals) use the service. It holds client ids, which are public, and never a secret.
/// </summary>
public static class EhrRegistrationEndpoints
{
    public const string Path = "/api/admin/ehrs";

    public static IEndpointRouteBuilder MapEhrRegistrations(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (EhrRegistry registry) => List(registry))
            .RequireAuthorization(ApiAuthentication.AdminPolicy)
            .WithName("admin-ehrs");
        return app;
    }

    private static Ok<EhrRegistrationList> List(EhrRegistry registry) =>
        TypedResults.Ok(new EhrRegistrationList([.. registry.All.Select(EhrRegistrationSummary.Of)]));
}

/// <summary>The body of <c>GET /api/admin/ehrs</c>.</summary>
public sealed record EhrRegistrationList(IReadOnlyList<EhrRegistrationSummary> Ehrs);

/// <summary>
/// One registration as an administrator reads it: <see cref="ChartWrites"/> is what the write-back puts in the EHR's
/// charts (<c>observations</c>, <c>documents</c>, <c>both</c>, or <c>nothing</c> when write-back is off).
/// </summary>
public sealed record EhrRegistrationSummary(string Iss, string ClientId, bool WriteBack, bool WriteServiceRequest, string ChartWrites, int ReportEverySessions)
{
    public const string Nothing = "nothing";
    public const string Observations = "observations";
    public const string Documents = "documents";
    public const string Both = "both";

    public static EhrRegistrationSummary Of(EhrRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var writes = (registration.WritesObservations, registration.WritesDocuments) switch
        {
            (true, true) => Both,
            (true, false) => Observations,
            (false, true) => Documents,
            _ => Nothing,
        };
        return new EhrRegistrationSummary(
            registration.Iss.TrimEnd('/'), registration.ClientId, registration.WriteBack, registration.WriteServiceRequest, writes, registration.ReportEverySessions);
    }
}

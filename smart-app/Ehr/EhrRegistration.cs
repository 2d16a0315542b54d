using Referral.SmartApp.Security;

namespace Referral.SmartApp.Ehr;

public static class EhrRegistration
{
    public static IServiceCollection AddEhrAccess(this IServiceCollection services)
    {
        services.AddSingleton<EhrClient>();
        services.AddSingleton<EhrStyle>();
        services.AddSingleton<PatientRecordReader>();
        return services;
    }

    /// <summary>The EHR's style for one launched context, as CSS from this origin (CSP allows no other).</summary>
    public static IEndpointRouteBuilder MapEhrStyle(this IEndpointRouteBuilder app)
    {
        app.MapGet("/context/{contextId}/ehr-style.css", async (string contextId, HttpContext http, PatientRecordReader records, CancellationToken cancellationToken) =>
        {
            var session = AppSession.IdOf(http);
            var record = session is null ? null : await records.LoadAsync(session, contextId, cancellationToken);
            return record?.StyleCss is { } css ? Results.Text(css, "text/css") : Results.NotFound();
        });
        return app;
    }
}

using Referral.SmartApp.Launch;

namespace Referral.SmartApp.Security;

/// <summary>
/// Headers on every response: a Content-Security-Policy with no inline script or style, and <c>frame-ancestors</c>
/// limited to the origins of the allow-listed EHRs (the app runs in their iframes and nowhere else).
/// </summary>
public static class SecurityHeaders
{
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app)
    {
        var ehrs = app.ApplicationServices.GetRequiredService<EhrRegistry>();
        var ancestors = string.Join(' ', ["'self'", .. ehrs.All.Select(e => e.Origin).Distinct(StringComparer.Ordinal)]);
        var policy = string.Join("; ",
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            $"frame-ancestors {ancestors}");

        return app.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = policy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            await next(context);
        });
    }
}

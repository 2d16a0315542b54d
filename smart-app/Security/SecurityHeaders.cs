using Microsoft.Extensions.Options;

namespace Referral.SmartApp.Security;

/// <summary>
/// Headers on every response: a Content-Security-Policy with no inline script, and
/// <c>frame-ancestors</c> limited to the EHR origins allowed to embed the app in an iframe.
/// </summary>
public static class SecurityHeaders
{
    public static IServiceCollection AddSecurityHeaders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FramingOptions>()
            .Bind(configuration.GetSection(FramingOptions.Section))
            .Validate(o => o.FrameAncestors.All(IsOrigin), "Security:FrameAncestors must list origins only, such as https://ehr.example.org.")
            .ValidateOnStart();
        return services;
    }

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app)
    {
        var framing = app.ApplicationServices.GetRequiredService<IOptions<FramingOptions>>().Value;
        var ancestors = string.Join(' ', ["'self'", .. framing.FrameAncestors]);
        var policy = string.Join("; ",
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
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

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment);
}

public sealed class FramingOptions
{
    public const string Section = "Security";

    /// <summary>Origins of the EHRs that may show the app in an iframe.</summary>
    public IList<string> FrameAncestors { get; } = [];
}

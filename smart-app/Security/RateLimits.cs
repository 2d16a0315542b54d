using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;

namespace Referral.SmartApp.Security;

/// <summary>
/// How often one client address may start an EHR launch (<c>/launch</c>) or finish a therapist sign-in (<c>/signin-oidc</c>)
/// (section <c>RateLimits</c>): each stores server-side state and calls out, so a flood is refused early.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary><c>/launch</c> calls per client address per <see cref="Window"/>.</summary>
    public int LaunchPermitLimit { get; set; } = 30;

    /// <summary>Therapist sign-in completions (<c>/signin-oidc</c>) per client address per <see cref="Window"/>.</summary>
    public int SignInPermitLimit { get; set; } = 30;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

public static class RateLimits
{
    public const string LaunchPath = "/launch";

    public static IServiceCollection AddRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var limits = configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        if (limits.LaunchPermitLimit < 1 || limits.SignInPermitLimit < 1 || limits.Window <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("RateLimits:LaunchPermitLimit and RateLimits:SignInPermitLimit must be at least 1 and RateLimits:Window positive.");
        }

        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var path = http.Request.Path;
                var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                if (path.Equals(LaunchPath, StringComparison.OrdinalIgnoreCase))
                {
                    return Window("launch|" + address, limits.LaunchPermitLimit, limits.Window);
                }

                return path.Equals(Inbox.InboxAuthentication.CallbackPath, StringComparison.OrdinalIgnoreCase)
                    ? Window("signin|" + address, limits.SignInPermitLimit, limits.Window)
                    : RateLimitPartition.GetNoLimiter("none");
            });
            options.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : limits.Window;
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                var response = context.HttpContext.Response;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                response.Headers.CacheControl = "no-store";
                response.ContentType = "text/html; charset=utf-8";
                await response.WriteAsync(Page(seconds), cancellationToken);
            };
        });
        return services;
    }

    private static RateLimitPartition<string> Window(string key, int permits, TimeSpan window) =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            QueueLimit = 0,
            Window = window,
            AutoReplenishment = true,
        });

    /// <summary>A plain page (no script, no styles of its own): what happened and when to try again.</summary>
    public static string Page(int seconds) =>
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Too many attempts</title></head><body>"
        + "<h1>Too many attempts</h1><p>This computer started too many launches or sign-ins in a short time. "
        + WebUtility.HtmlEncode(string.Create(CultureInfo.InvariantCulture, $"Please wait {seconds} seconds and try again."))
        + "</p></body></html>";
}

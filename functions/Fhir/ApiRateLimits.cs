using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Hl7.Fhir.Model;

namespace Referral.Functions.Fhir;

/// <summary>
/// How many API calls a caller may make (section <c>RateLimits</c>): a fixed window per caller (the token's issuer and
/// subject; an anonymous caller by client address), with a short queue so a burst waits rather than fails.
/// </summary>
public sealed class ApiRateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Calls per caller per <see cref="Window"/>.</summary>
    public int ApiPermitLimit { get; set; } = 600;

    /// <summary>Calls over the limit that wait for the next window instead of being refused at once.</summary>
    public int ApiQueueLimit { get; set; } = 100;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

public static class ApiRateLimits
{
    public static IServiceCollection AddApiRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var limits = configuration.GetSection(ApiRateLimitOptions.Section).Get<ApiRateLimitOptions>() ?? new ApiRateLimitOptions();
        if (limits.ApiPermitLimit < 1 || limits.ApiQueueLimit < 0 || limits.Window <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("RateLimits:ApiPermitLimit must be at least 1, RateLimits:ApiQueueLimit at least 0 and RateLimits:Window positive.");
        }

        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                http.Request.Path.StartsWithSegments("/api/health")
                    ? RateLimitPartition.GetNoLimiter("health")
                    : RateLimitPartition.GetFixedWindowLimiter(CallerKey(http), _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = limits.ApiPermitLimit,
                        QueueLimit = limits.ApiQueueLimit,
                        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                        Window = limits.Window,
                        AutoReplenishment = true,
                    }));
            options.OnRejected = async (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : limits.Window;
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await Outcome.Error(StatusCodes.Status429TooManyRequests, OperationOutcome.IssueType.Throttled,
                    "Too many requests from this caller; try again after the number of seconds in Retry-After.").ExecuteAsync(context.HttpContext);
            };
        });
        return services;
    }

    /// <summary>The caller: a validated token's issuer and subject; without one, the client address.</summary>
    public static string CallerKey(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var user = http.User;
        if (user.Identity?.IsAuthenticated == true && user.FindFirstValue("sub") is { Length: > 0 } subject)
        {
            return "sub:" + (user.FindFirst("sub")?.Issuer ?? "") + "|" + subject;
        }

        return "ip:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }
}

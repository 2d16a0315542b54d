using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.RateLimiting;

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

/// <summary>
/// The per-caller limiter of the API's calls, one for the app: the rate-limiting middleware takes a permit for each
/// request from it, and a FHIR batch takes one more for each entry past its first (<see cref="BatchEndpoint"/>), so ten
/// searches cost the same in one batch as in ten calls.
/// </summary>
public sealed class ApiRateLimiter(ApiRateLimitOptions limits) : IDisposable
{
    public PartitionedRateLimiter<HttpContext> Limiter { get; } = PartitionedRateLimiter.Create<HttpContext, string>(http =>
        http.Request.Path.StartsWithSegments("/api/health")
            ? RateLimitPartition.GetNoLimiter("health")
            : RateLimitPartition.GetFixedWindowLimiter(ApiRateLimits.CallerKey(http), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = limits.ApiPermitLimit,
                QueueLimit = limits.ApiQueueLimit,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                Window = limits.Window,
                AutoReplenishment = true,
            }));

    /// <summary>
    /// Takes <paramref name="permits"/> more of the caller's permits, waiting in the caller's queue as a call over the
    /// limit does; null when they were taken, else the 429 (more than a whole window's permits is refused at once).
    /// <paramref name="why"/> is said after "Too many requests from this caller".
    /// </summary>
    public async Task<FhirResult?> AcquireAsync(HttpContext http, int permits, string why, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (permits <= 0)
        {
            return null;
        }

        if (permits > limits.ApiPermitLimit)
        {
            return ApiRateLimits.Throttled(http, limits.Window, why);
        }

        using var lease = await Limiter.AcquireAsync(http, permits, cancellationToken);
        return lease.IsAcquired ? null : ApiRateLimits.Throttled(http, RetryAfter(lease, limits.Window), why);
    }

    internal static TimeSpan RetryAfter(RateLimitLease lease, TimeSpan window) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : window;

    public void Dispose() => Limiter.Dispose();
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

        services.AddSingleton(_ => new ApiRateLimiter(limits));
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, _) =>
                await Throttled(context.HttpContext, ApiRateLimiter.RetryAfter(context.Lease, limits.Window)).ExecuteAsync(context.HttpContext);
        });
        services.AddOptions<RateLimiterOptions>().Configure<ApiRateLimiter>((options, limiter) => options.GlobalLimiter = limiter.Limiter);
        return services;
    }

    /// <summary>The 429 for a caller over their limit: Retry-After in whole seconds and an OperationOutcome that says so.</summary>
    public static FhirResult Throttled(HttpContext http, TimeSpan retryAfter, string? why = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return Outcome.Error(StatusCodes.Status429TooManyRequests, OperationOutcome.IssueType.Throttled,
            $"Too many requests from this caller{why}; try again after the number of seconds in Retry-After.");
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

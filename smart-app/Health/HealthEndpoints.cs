using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Caching.Distributed;
using Referral.Model;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Health;

/// <summary>
/// <c>GET /health</c>, which App Service probes on every instance: 200 while the instance can serve, 503 when the
/// state it shares with the other instances (Redis) cannot be reached within a few seconds, so the platform sends the
/// traffic elsewhere. It says which shared state is in use, nothing else (no address, no key).
/// </summary>
public static class HealthEndpoints
{
    public const string Path = "/health";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, CheckAsync).WithName("health");
        return app;
    }

    private static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> CheckAsync(IDistributedCache cache, IConfiguration configuration, TimeProvider time, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(configuration[SharedState.ConfigurationKey]))
        {
            return TypedResults.Ok(new HealthReport("ok", "memory (one instance only)"));
        }

        using var timeout = new Deadline(Timeout, time, cancellationToken);
        try
        {
            await cache.GetAsync("health-probe", timeout.Token);
            return TypedResults.Ok(new HealthReport("ok", "redis up"));
        }
        catch (Exception e) when (e is OperationCanceledException or StackExchange.Redis.RedisException or TimeoutException)
        {
            return TypedResults.Json(new HealthReport("degraded", "redis down"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}

public sealed record HealthReport(string Status, string SharedState);

using Microsoft.AspNetCore.Http.HttpResults;
using Referral.Functions.Conformance;
using Referral.Functions.Storage;

namespace Referral.Functions.Health;

/// <summary>
/// Two probes. <c>GET /api/health/live</c> (liveness): the process answers; it touches nothing else, so a platform
/// that restarts on it never restarts the app for an outage a restart cannot cure. <c>GET /api/health</c>
/// (readiness): the app can serve, i.e. storage answers; 200 <c>ok</c>, or 503 <c>degraded</c> naming the service
/// that is down; 503 <c>starting</c> while Firely's validator loads after a start (<see cref="PackageWarmUp"/>), so no
/// instance takes traffic whose first submit would wait for it. App Service probes readiness (infra: <c>healthCheckPath</c>), as its guidance asks of the path.
/// </summary>
public static class HealthEndpoints
{
    public const string LivePath = "/api/health/live";

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/health", ReadyAsync).WithName("health");
        app.MapGet(LivePath, () => TypedResults.Ok(new LiveReport("ok"))).WithName("health-live");
        return app;
    }

    private static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> ReadyAsync(
        StorageReadiness readiness, PackageWarmUp validator, CancellationToken cancellationToken)
    {
        var health = await readiness.CheckAsync(cancellationToken);
        var warm = validator.IsWarm;
        var report = new HealthReport(
            Status: !health.Healthy ? "degraded" : warm ? "ok" : "starting",
            Storage: new StorageReport(Tables: Describe(health.Tables), Queues: Describe(health.Queues)))
        {
            Validator = warm ? "ready" : validator.Package.IsFaulted ? "failed" : "loading",
        };
        return health.Healthy && warm ? TypedResults.Ok(report) : TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static string Describe(bool up) => up ? "up" : "down";
}

public sealed record HealthReport(string Status, StorageReport Storage)
{
    /// <summary>Firely's validator (the referral package): <c>loading</c> from the app's start until it is compiled, then <c>ready</c>.</summary>
    public string Validator { get; init; } = "ready";
}

public sealed record StorageReport(string Tables, string Queues);

public sealed record LiveReport(string Status);

/// <summary>
/// Storage's readiness, asked at most once every <see cref="CacheFor"/> (on the app's clock) however many probes come:
/// probes arriving while a check runs share it, and its answer serves every probe until it is that old. So a probe
/// storm (every instance's platform probe, monitors, the smart-app's self-check) is never a storage storm, and one check
/// waits at most <see cref="Timeout"/>.
/// </summary>
public sealed class StorageReadiness(StorageAccount storage, TimeProvider time)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    /// <summary>How long a check waits for storage before it reports it down.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly Lock gate = new();
    private (DateTimeOffset At, Task<StorageHealth> Check)? last;

    public Task<StorageHealth> CheckAsync(CancellationToken cancellationToken)
    {
        Task<StorageHealth> check;
        lock (gate)
        {
            var now = time.GetUtcNow();
            if (last is { } known && (!known.Check.IsCompleted || now - known.At < CacheFor))
            {
                check = known.Check;
            }
            else
            {
                check = RunAsync(now);
                last = (now, check);
            }
        }

        return check.WaitAsync(cancellationToken);
    }

    private async Task<StorageHealth> RunAsync(DateTimeOffset started)
    {
        await Task.Yield();
        // Not the probe's own cancellation: the check is shared, and one caller going away must not fail the others.
        using var timeout = new CancellationTokenSource(Timeout, time);
        var health = await storage.CheckAsync(timeout.Token);
        lock (gate)
        {
            // Its age counts from when it answered, so a slow check is not stale the moment it is done.
            if (last is { } known && known.At == started)
            {
                last = (time.GetUtcNow(), known.Check);
            }
        }

        return health;
    }
}

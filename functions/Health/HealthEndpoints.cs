using Microsoft.AspNetCore.Http.HttpResults;
using Referral.Functions.Storage;

namespace Referral.Functions.Health;

public static class HealthEndpoints
{
    /// <summary>How long the health check waits for storage before it reports it down.</summary>
    private static readonly TimeSpan StorageTimeout = TimeSpan.FromSeconds(3);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/health", CheckAsync).WithName("health");
        return app;
    }

    private static async Task<Ok<HealthReport>> CheckAsync(StorageAccount storage, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StorageTimeout);
        var health = await storage.CheckAsync(timeout.Token);
        return TypedResults.Ok(new HealthReport(
            Status: health.Healthy ? "ok" : "degraded",
            Storage: new StorageReport(Tables: Describe(health.Tables), Queues: Describe(health.Queues))));
    }

    private static string Describe(bool up) => up ? "up" : "down";
}

public sealed record HealthReport(string Status, StorageReport Storage);

public sealed record StorageReport(string Tables, string Queues);

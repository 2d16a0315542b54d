namespace Referral.Functions.WriteBack;

public static class BackendJwksEndpoint
{
    /// <summary>
    /// <c>GET /api/backend/jwks.json</c>: the public keys an EHR checks this system's backend-services client
    /// assertions with (the worker's <c>ehr-writeback</c> signs them with the same keys).
    /// </summary>
    public static IEndpointRouteBuilder MapBackendJwks(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/backend/jwks.json", async (BackendSigningKeys keys, CancellationToken cancellationToken) => Results.Json(await keys.JwksAsync(cancellationToken)))
            .AllowAnonymous().WithName("backend-jwks");
        return app;
    }
}

using System.Net;

namespace Referral.Functions.Triggers;

public static class TriggerEndpoints
{
    /// <summary>
    /// Maps a queue- or timer-triggered function where the host calls it: <c>POST /{FunctionName}</c>, named after its
    /// folder. Only the host (or the local trigger runner) calls these, over loopback; the host forwards only
    /// <c>/api/...</c> from outside, and a request from elsewhere is told there is nothing here.
    /// </summary>
    public static RouteHandlerBuilder MapTrigger(this IEndpointRouteBuilder app, string function, Delegate handler)
    {
        return app.MapPost($"/{function}", handler)
            .WithName(function)
            .AddEndpointFilter(async (context, next) =>
            {
                var remote = context.HttpContext.Connection.RemoteIpAddress;
                return remote is null || IPAddress.IsLoopback(remote) ? await next(context) : Results.NotFound();
            });
    }

    /// <summary>Reads the host's request payload; null when the body is not one.</summary>
    public static async Task<InvocationRequest?> ReadInvocationAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return await request.ReadFromJsonAsync<InvocationRequest>(Json.Options, cancellationToken);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

using System.Net;
using Referral.Functions.Telemetry;

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
                if (remote is not null && !IPAddress.IsLoopback(remote))
                {
                    return Results.NotFound();
                }

                // The function's work runs in the trace of what queued its message (QueueTrace).
                var invocation = await QueueTrace.PeekAsync(context.HttpContext.Request, context.HttpContext.RequestAborted);
                using var activity = QueueTrace.StartProcess(invocation, function);
                var result = await next(context);
                if (activity is not null && result is IStatusCodeHttpResult { StatusCode: >= 400 })
                {
                    activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
                }

                return result;
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

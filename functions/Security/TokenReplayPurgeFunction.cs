using Referral.Functions.Triggers;

namespace Referral.Functions.Security;

/// <summary>
/// The timer-triggered function <c>token-replay-purge</c> (hourly): deletes the replay rows of physician tokens that
/// have expired, so the <see cref="TokenReplayCache"/> holds only the tokens that could still be presented.
/// </summary>
public static partial class TokenReplayPurgeFunction
{
    public const string Name = "token-replay-purge";

    public static IEndpointRouteBuilder MapTokenReplayPurge(this IEndpointRouteBuilder app)
    {
        app.MapTrigger(Name, RunAsync);
        return app;
    }

    private static async Task<IResult> RunAsync(HttpContext http, TokenReplayCache replays, TimeProvider time, ILogger<TokenReplayCache> logger, CancellationToken cancellationToken)
    {
        if (await TriggerEndpoints.ReadInvocationAsync(http.Request, cancellationToken) is null)
        {
            return InvocationResponse.Failed("The body is not a timer invocation.", StatusCodes.Status400BadRequest);
        }

        // A token that expired more than the clock skew ago is refused by its expiry: its row guards nothing.
        var deleted = await replays.PurgeExpiredAsync(time.GetUtcNow() - ApiAuthentication.ClockSkew, cancellationToken);
        LogRun(logger, deleted);
        return InvocationResponse.Ok($"Deleted {deleted} expired token row(s).");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Token replay purge: {Count} expired row(s) deleted.")]
    private static partial void LogRun(ILogger logger, int count);
}

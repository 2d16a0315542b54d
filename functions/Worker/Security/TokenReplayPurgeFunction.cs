using Microsoft.Azure.Functions.Worker;
using Referral.Functions.Security;
using Referral.Worker.Triggers;

namespace Referral.Worker.Security;

/// <summary>
/// The timer-triggered function <c>token-replay-purge</c> (hourly): deletes the replay rows of physician tokens that
/// have expired, so the <see cref="TokenReplayCache"/> holds only the tokens that could still be presented.
/// </summary>
public sealed partial class TokenReplayPurgeFunction(TokenReplayCache replays, TimeProvider time, ILogger<TokenReplayCache> logger)
{
    public const string Name = "token-replay-purge";

    /// <summary>Hourly, at 7 minutes past (NCRONTAB, with seconds).</summary>
    public const string Schedule = "0 7 * * * *";

    [Function(Name)]
    public Task RunAsync([TimerTrigger(Schedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        FunctionRun.ProcessAsync(Name, null, logger, () => RunAsync(replays, time, logger, cancellationToken));

    private static async Task<string> RunAsync(TokenReplayCache replays, TimeProvider time, ILogger<TokenReplayCache> logger, CancellationToken cancellationToken)
    {
        // A token that expired more than the clock skew ago is refused by its expiry: its row guards nothing.
        var deleted = await replays.PurgeExpiredAsync(time.GetUtcNow() - TokenReplayCache.ClockSkew, cancellationToken);
        LogRun(logger, deleted);
        return $"Deleted {deleted} expired token row(s).";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Token replay purge: {Count} expired row(s) deleted.")]
    private static partial void LogRun(ILogger logger, int count);
}

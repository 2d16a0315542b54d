using System.Diagnostics;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// Waits for what another process or thread does in real time (a queue, a fake EHR's log, background work): polls the
/// condition every 50 ms until it holds, and fails with <c>what</c> once <c>deadline</c> has passed.
/// </summary>
public static class Eventually
{
    public static Task Until(Func<bool> condition, string what, TimeSpan deadline) =>
        Until(() => Task.FromResult(condition()), what, deadline);

    public static async Task Until(Func<Task<bool>> condition, string what, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < deadline, what);
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}

namespace Referral.Model;

/// <summary>
/// A wait for another service bounded in time: <see cref="Token"/> is cancelled when the caller's token is, or when
/// the timeout has passed on the app's <see cref="TimeProvider"/>. Time is read only through the app's clock
/// (DESIGN.md), so a test's fake clock decides when a slow answer has taken too long, and no test waits out a real
/// timeout. (<c>CancellationTokenSource.CancelAfter</c> runs on the machine's timer, and .NET has no
/// linked source that takes a <see cref="TimeProvider"/>, hence the two sources.)
/// </summary>
public sealed class Deadline : IDisposable
{
    private readonly CancellationTokenSource elapsed;
    private readonly CancellationTokenSource linked;

    public Deadline(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        elapsed = new CancellationTokenSource(timeout, time);
        linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, elapsed.Token);
    }

    /// <summary>Cancelled by the caller or by the timeout.</summary>
    public CancellationToken Token => linked.Token;

    public void Dispose()
    {
        linked.Dispose();
        elapsed.Dispose();
    }
}

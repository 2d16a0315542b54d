using Referral.SmartApp.Security;

namespace Referral.Tests.SmartApp;

/// <summary>
/// The per-key gate that keeps a user's parallel requests from refreshing tokens or sending a form twice at once: one
/// holder per key, other keys never wait, and no entry is kept once nobody holds or waits for a key.
/// </summary>
public sealed class KeyedGateTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_second_holder_of_the_same_key_waits_until_the_first_leaves_and_another_key_does_not_wait()
    {
        var gate = new KeyedGate();
        var first = await gate.EnterAsync("session-a/context-1", Ct);

        var second = gate.EnterAsync("session-a/context-1", Ct);
        var other = gate.EnterAsync("session-b/context-1", Ct);

        Assert.False(second.IsCompleted);
        Assert.True(other.IsCompletedSuccessfully);
        first.Dispose();
        (await second).Dispose();
        (await other).Dispose();
    }

    [Fact]
    public async Task Once_every_holder_and_waiter_has_left_the_gate_keeps_no_entry_for_the_key()
    {
        var gate = new KeyedGate();
        for (var i = 0; i < 100; i++)
        {
            using var held = await gate.EnterAsync($"session-{i}/context", Ct);
            Assert.Equal(1, gate.Count);
        }

        var first = await gate.EnterAsync("k", Ct);
        var waiting = gate.EnterAsync("k", Ct);
        first.Dispose();
        // A second dispose lets nobody else in.
        first.Dispose();
        var holder = await waiting;
        var third = gate.EnterAsync("k", Ct);
        Assert.False(third.IsCompleted);
        Assert.Equal(1, gate.Count);
        holder.Dispose();
        (await third).Dispose();

        Assert.Equal(0, gate.Count);
    }

    [Fact]
    public async Task A_waiter_that_gives_up_leaves_nothing_behind_and_the_key_can_be_held_again()
    {
        var gate = new KeyedGate();
        var first = await gate.EnterAsync("k", Ct);
        using var giveUp = new CancellationTokenSource();
        var waiting = gate.EnterAsync("k", giveUp.Token);

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        first.Dispose();

        Assert.Equal(0, gate.Count);
        using var again = await gate.EnterAsync("k", Ct);
        Assert.Equal(1, gate.Count);
    }
}

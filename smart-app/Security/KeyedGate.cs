namespace Referral.SmartApp.Security;

/// <summary>
/// One holder at a time per key within this instance, for work a user's parallel requests must not do twice at once
/// (refreshing a launch's or a sign-in's tokens, sending a form). A key's entry lives only while someone holds it or
/// waits for it, so an instance that runs for weeks keeps none for the sessions it has seen: a dictionary of one
/// semaphore per key, never pruned, grew by one entry per launch, sign-in and send. Across instances a send is guarded
/// by the API (it answers a repeated placer id with the original); a token refresh needs <see cref="SharedGate"/>.
/// </summary>
public sealed class KeyedGate
{
    private readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);

    /// <summary>How many keys are held or waited for now.</summary>
    public int Count
    {
        get
        {
            lock (entries)
            {
                return entries.Count;
            }
        }
    }

    /// <summary>Waits until no one else holds <paramref name="key"/>, then holds it until the result is disposed.</summary>
    public async Task<IDisposable> EnterAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        Entry entry;
        lock (entries)
        {
            if (!entries.TryGetValue(key, out entry!))
            {
                entry = new Entry();
                entries.Add(key, entry);
            }

            entry.Users++;
        }

        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Leave(key, entry, held: false);
            throw;
        }

        return new Holder(this, key, entry);
    }

    private void Leave(string key, Entry entry, bool held)
    {
        if (held)
        {
            entry.Semaphore.Release();
        }

        lock (entries)
        {
            // Every waiter counted itself in before waiting: at zero nobody can still wait on this semaphore.
            if (--entry.Users == 0)
            {
                entries.Remove(key);
                entry.Semaphore.Dispose();
            }
        }
    }

    private sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
    }

    private sealed class Holder(KeyedGate gate, string key, Entry entry) : IDisposable
    {
        private int left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref left, 1) == 0)
            {
                gate.Leave(key, entry, held: true);
            }
        }
    }
}

using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Referral.SmartApp.Security;

/// <summary>
/// One holder at a time per key on every instance, for work that must not run twice at once anywhere: refreshing a
/// launch's or a sign-in's tokens. The EHR and the therapists' provider rotate refresh tokens, and one spent twice
/// revokes its grant, which signs the user out; two requests of one user on two instances would each spend it. In this
/// instance a <see cref="KeyedGate"/> orders the waiters; with Redis (<see cref="SharedState"/>) the holder also takes
/// a lock there (StackExchange.Redis <c>LockTake</c>: a key set only where absent, with an expiry), so a request on
/// another instance waits for it too and then re-reads what the holder stored. The lock expires after
/// <see cref="LockExpiry"/> should its holder die; its key is a hash, since the keys held are session ids.
/// </summary>
public sealed class SharedGate(Func<IDatabase>? redis)
{
    /// <summary>Longer than a token request may take (the EHR's and the provider's calls time out sooner).</summary>
    public static readonly TimeSpan LockExpiry = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    private readonly KeyedGate local = new();

    /// <summary>Waits until no one on any instance holds <paramref name="key"/>, then holds it until the result is disposed.</summary>
    public async Task<IAsyncDisposable> EnterAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var held = await local.EnterAsync(key, cancellationToken);
        if (redis is null)
        {
            return new Holder(held, null, default, default);
        }

        try
        {
            var database = redis();
            RedisKey name = SharedState.KeyPrefix + "gate:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
            RedisValue holder = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            while (!await database.LockTakeAsync(name, holder, LockExpiry))
            {
#pragma warning disable RS0030 // Why: another instance's lock is released, or expires, in Redis's real time; a test's fake clock standing still must not hold the wait.
                await Task.Delay(Poll, cancellationToken);
#pragma warning restore RS0030
            }

            return new Holder(held, database, name, holder);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    private sealed class Holder(IDisposable local, IDatabase? database, RedisKey name, RedisValue holder) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                if (database is not null)
                {
                    // Released only by its holder (LockRelease compares the value); one that cannot be released expires.
                    await database.LockReleaseAsync(name, holder);
                }
            }
            finally
            {
                local.Dispose();
            }
        }
    }
}

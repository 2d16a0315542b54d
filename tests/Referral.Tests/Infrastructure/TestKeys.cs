using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The RSA keys of the test doubles that sign tokens (the fake EHR, the token issuers), made once per test run and
/// lent out: making a 2048-bit key costs about 0.15 s of CPU, and the suite's doubles made several hundred, one of
/// the largest costs of a run. A key is lent to one holder at a time, so two doubles alive at once never share one (a
/// token signed by one is never valid at the other, as with fresh keys); it is free again once its holder is disposed.
/// A lent key is never disposed, not even by its holder: IdentityModel caches one signer per key material for the
/// process, so the next holder of the same key would sign through a disposed one.
/// </summary>
public static class TestKeys
{
    private static readonly ConcurrentBag<RSAParameters> Free = [];

    /// <summary>A key no other live holder has, with <paramref name="keyId"/>; dispose the lease to give it back.</summary>
    public static Lease Rent(string keyId)
    {
        if (!Free.TryTake(out var parameters))
        {
            using var made = RSA.Create(2048);
            parameters = made.ExportParameters(includePrivateParameters: true);
        }

        return new Lease(parameters, keyId);
    }

    public sealed class Lease : IDisposable
    {
        private readonly RSAParameters parameters;
        private int returned;

        internal Lease(RSAParameters parameters, string keyId)
        {
            this.parameters = parameters;
            Key = new RsaSecurityKey(RSA.Create(parameters)) { KeyId = keyId };
        }

        public RsaSecurityKey Key { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref returned, 1) == 0)
            {
                Free.Add(parameters);
            }
        }
    }
}

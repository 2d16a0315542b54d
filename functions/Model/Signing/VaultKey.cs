using System.Buffers.Text;
using System.Security.Cryptography;
using System.Threading.Tasks;

namespace Referral.Model.Signing;

/// <summary>How the apps use Key Vault keys (<c>KeyVault:*</c>); each app names its own keys under <c>KeyVault:Keys</c>.</summary>
public sealed class KeyVaultOptions
{
    public const string Section = "KeyVault";

    /// <summary>The vault, e.g. https://mmr-kv-abc.vault.azure.net/. Empty: keys are not read from Key Vault.</summary>
    public string Uri { get; set; } = "";

    /// <summary>Key names by the app's use of them (e.g. <c>ClientRs384</c>, <c>BackendServices</c>).</summary>
    public Dictionary<string, string> Keys { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How often the list of versions is read again, so a rotation is seen without a restart.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a new version is published before it signs: longer than relying parties cache a JWKS.</summary>
    public TimeSpan PublishBeforeSigning { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long a call to the vault may take (less than the EHR token request's 10 s, so a slow vault is named as such).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    public bool Configured => !string.IsNullOrWhiteSpace(Uri);

    /// <summary>The settings missing for the given key uses, by their full names (empty when complete).</summary>
    public IReadOnlyList<string> Missing(params string[] uses)
    {
        ArgumentNullException.ThrowIfNull(uses);
        var missing = new List<string>();
        if (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) || uri.Scheme != System.Uri.UriSchemeHttps && !uri.IsLoopback)
        {
            missing.Add($"{Section}:Uri (the vault's https URI)");
        }

        missing.AddRange(uses.Where(u => !Keys.TryGetValue(u, out var name) || string.IsNullOrWhiteSpace(name)).Select(u => $"{Section}:Keys:{u}"));
        return missing;
    }
}

/// <summary>
/// A Key Vault key and its versions (infra/README.md, "Signing keys and their rotation"). It publishes every enabled,
/// unexpired version and signs with the newest usable version that has been published for
/// <see cref="KeyVaultOptions.PublishBeforeSigning"/>, so relying parties have it before they see a token signed
/// with it; if no version is that old (a first deployment, or the old one was disabled), with the newest. The list
/// is read at first use and again after <see cref="KeyVaultOptions.RefreshInterval"/>; a version's public key never
/// changes, so it is fetched once. Signing calls the vault's sign operation, nothing else.
/// </summary>
public sealed class VaultKey(KeyVaultClient client, string name, string algorithm, KeyVaultOptions options, TimeProvider time) : IRotatingKey, IDisposable
{
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, VaultKeyVersion> known = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim gate = new(1, 1);
    // One reference, replaced whole, so a reader never sees the time of one read with the versions of another.
    private Snapshot? current;

    public string Name { get; } = name;

    public string Algorithm { get; } = algorithm;

    public string Description => $"Key Vault '{client.VaultName}', key '{Name}'";

    public async ValueTask<KeyVersions> VersionsAsync(CancellationToken cancellationToken)
    {
        if (current is { } fresh && time.GetUtcNow() - fresh.Read < options.RefreshInterval)
        {
            return fresh.Versions;
        }

        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (current is { } other && time.GetUtcNow() - other.Read < options.RefreshInterval)
            {
                return other.Versions;
            }

            KeyVersions versions;
            try
            {
                versions = await ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (KeyVaultException) when (current is { } stale)
            {
                // The vault is away: keep publishing what was read last, and try again a minute from now.
                current = new Snapshot(time.GetUtcNow() - options.RefreshInterval + RetryAfterFailure, stale.Versions);
                return stale.Versions;
            }

            current = new Snapshot(time.GetUtcNow(), versions);
            return versions;
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose() => gate.Dispose();

    private sealed record Snapshot(DateTimeOffset Read, KeyVersions Versions);

    private async Task<KeyVersions> ReadAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var items = await client.ListVersionsAsync(Name, cancellationToken).ConfigureAwait(false);
        var published = items
            .Where(i => i.Attributes?.Enabled != false && (i.Attributes?.Expires is not { } exp || exp > now))
            .ToList();
        var versions = new List<VaultKeyVersion>();
        foreach (var item in published)
        {
            if (!known.TryGetValue(item.Version, out var version))
            {
                var bundle = await client.GetKeyAsync(Name, item.Version, cancellationToken).ConfigureAwait(false);
                version = new VaultKeyVersion(client, Name, item.Version, Algorithm, PublicKey(bundle.Key));
                known[item.Version] = version;
            }

            versions.Add(version);
        }

        var usable = published.Where(i => i.Attributes?.NotBefore is not { } nbf || nbf <= now).ToList();
        var settled = usable.Where(i => (i.Attributes?.Created ?? 0) <= now - (long)options.PublishBeforeSigning.TotalSeconds);
        var signing = settled.MaxBy(i => i.Attributes?.Created ?? 0) ?? usable.MaxBy(i => i.Attributes?.Created ?? 0)
            ?? throw new KeyVaultException($"Key '{Name}' in Key Vault '{client.VaultName}' has no enabled, unexpired version to sign with.");
        return new KeyVersions(known[signing.Version], versions);
    }

    private PublicJwk PublicKey(VaultJwk key)
    {
        var expected = Algorithm == PublicJwk.Es384 ? "EC" : "RSA";
        var kty = key.Kty.Replace("-HSM", "", StringComparison.Ordinal);
        if (kty != expected)
        {
            throw new KeyVaultException($"Key '{Name}' in Key Vault '{client.VaultName}' is {key.Kty}; {Algorithm} needs an {expected} key.");
        }

        if (kty == "RSA" ? key.N is null || key.E is null : key.Crv != "P-384" || key.X is null || key.Y is null)
        {
            throw new KeyVaultException($"Key '{Name}' in Key Vault '{client.VaultName}' answered an incomplete or unsupported public key ({key.Kty} {key.Crv}).");
        }

        return kty == "RSA"
            ? PublicJwk.Create(new PublicJwk("RSA", "", "sig", Algorithm, N: Base64Url.EncodeToString(PublicJwk.TrimLeadingZeros(Base64Url.DecodeFromChars(key.N!))), E: key.E))
            : PublicJwk.Create(new PublicJwk("EC", "", "sig", Algorithm, Crv: key.Crv, X: key.X, Y: key.Y));
    }
}

/// <summary>One version of a vault key: signs by sending the SHA-384 digest to the vault.</summary>
public sealed class VaultKeyVersion(KeyVaultClient client, string name, string version, string algorithm, PublicJwk publicKey) : ISigningKey
{
    public string Name { get; } = name;

    public string Version { get; } = version;

    public string Kid => PublicKey.Kid;

    public string Algorithm { get; } = algorithm;

    public PublicJwk PublicKey { get; } = publicKey;

    public async ValueTask<byte[]> SignAsync(byte[] data, CancellationToken cancellationToken) =>
        await client.SignAsync(Name, Version, Algorithm, SHA384.HashData(data), cancellationToken).ConfigureAwait(false);
}

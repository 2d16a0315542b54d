using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;

namespace Referral.Model.Signing;

/// <summary>The versions of one key at a moment: the one that signs now, and every one a verifier should trust.</summary>
public sealed record KeyVersions(ISigningKey Signing, IReadOnlyList<ISigningKey> Published);

/// <summary>
/// One logical signing key that rotates: the local current and next keys from settings, or a Key Vault key and its
/// versions (<see cref="VaultKey"/>). The app asks it which version signs and which versions it publishes.
/// </summary>
public interface IRotatingKey
{
    /// <summary>Where the key is, for operators (a key name, never key material).</summary>
    string Description { get; }

    ValueTask<KeyVersions> VersionsAsync(CancellationToken cancellationToken);
}

/// <summary>Keys held in the process: they do not change while it runs.</summary>
public sealed class LocalRotatingKey(string description, ISigningKey signing, IReadOnlyList<ISigningKey> published) : IRotatingKey
{
    private readonly KeyVersions versions = new(signing, published);

    public string Description { get; } = description;

    public ValueTask<KeyVersions> VersionsAsync(CancellationToken cancellationToken) => ValueTask.FromResult(versions);
}

/// <summary>Compact JWS (RFC 7515) of a JSON claims set, signed by any <see cref="ISigningKey"/>.</summary>
public static class Jwt
{
    /// <summary><c>typ</c> JWT, <c>alg</c> and <c>kid</c> of the key in the header; the claims serialized as given.</summary>
    public static async ValueTask<string> SignAsync(ISigningKey key, IDictionary<string, object> claims, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(claims);
        var header = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new Header(key.Algorithm, "JWT", key.Kid)));
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signingInput = header + "." + payload;
        var signature = await key.SignAsync(Encoding.ASCII.GetBytes(signingInput), cancellationToken).ConfigureAwait(false);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>The JWKS of every published version of the keys, each kid once.</summary>
    public static async ValueTask<JwksDocument> JwksAsync(IEnumerable<IRotatingKey> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var published = new List<PublicJwk>();
        foreach (var key in keys)
        {
            var versions = await key.VersionsAsync(cancellationToken).ConfigureAwait(false);
            published.AddRange(versions.Published.Select(v => v.PublicKey).Where(k => published.TrueForAll(p => p.Kid != k.Kid)));
        }

        return new JwksDocument(published);
    }

    private sealed record Header(
        [property: JsonPropertyName("alg")] string Alg,
        [property: JsonPropertyName("typ")] string Typ,
        [property: JsonPropertyName("kid")] string Kid);
}

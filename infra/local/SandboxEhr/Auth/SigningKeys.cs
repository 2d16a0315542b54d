using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Microsoft.IdentityModel.Tokens;

namespace SandboxEhr.Auth;

/// <summary>
/// The sandbox's own signing key for id_tokens and access tokens, made at start and never stored:
/// a development EHR needs no key that survives a restart (tokens simply stop validating).
/// </summary>
public sealed class SigningKeys : IDisposable
{
    private readonly RSA rsa;

    private readonly bool ownsKey;

    public SigningKeys()
        : this(RSA.Create(2048))
    {
        ownsKey = true;
    }

    /// <summary>
    /// Keys over the given RSA key, which stays its giver's: tests lend one rather than make one per start, and a key
    /// disposed here would break every later signer of the same key in the process (IdentityModel caches the signer).
    /// </summary>
    public SigningKeys(RSA rsa)
    {
        ArgumentNullException.ThrowIfNull(rsa);
        this.rsa = rsa;
        var publicParameters = rsa.ExportParameters(includePrivateParameters: false);
        var publicKey = new RsaSecurityKey(publicParameters);
        KeyId = Base64Url.EncodeToString(publicKey.ComputeJwkThumbprint());
        publicKey.KeyId = KeyId;
        ValidationKey = publicKey;
        Credentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256);
        Jwks = new JwkSet([new PublicJwk("RSA", "sig", SecurityAlgorithms.RsaSha256, KeyId,
            Base64Url.EncodeToString(publicParameters.Modulus), Base64Url.EncodeToString(publicParameters.Exponent))]);
    }

    public string KeyId { get; }

    public SigningCredentials Credentials { get; }

    /// <summary>The public half only, for checking the sandbox's own tokens.</summary>
    public SecurityKey ValidationKey { get; }

    /// <summary>The public JWK Set served at <c>/.well-known/jwks.json</c>.</summary>
    public JwkSet Jwks { get; }

    public void Dispose()
    {
        if (ownsKey)
        {
            rsa.Dispose();
        }
    }

    public sealed record JwkSet([property: JsonPropertyName("keys")] IReadOnlyList<PublicJwk> Keys);

    public sealed record PublicJwk(
        [property: JsonPropertyName("kty")] string Kty,
        [property: JsonPropertyName("use")] string Use,
        [property: JsonPropertyName("alg")] string Alg,
        [property: JsonPropertyName("kid")] string Kid,
        [property: JsonPropertyName("n")] string N,
        [property: JsonPropertyName("e")] string E);
}

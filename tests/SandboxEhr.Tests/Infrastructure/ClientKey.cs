using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SandboxEhr.Tests.Infrastructure;

/// <summary>A client's key pair, made in the test: signs SMART client assertions and publishes its public JWK.</summary>
public sealed class ClientKey : IDisposable
{
    private static readonly JsonWebTokenHandler Handler = new();
    private readonly AsymmetricAlgorithm algorithm;
    private readonly SecurityKey key;

    private ClientKey(AsymmetricAlgorithm algorithm, SecurityKey key, string signingAlgorithm, Dictionary<string, string> publicJwk)
    {
        this.algorithm = algorithm;
        this.key = key;
        SigningAlgorithm = signingAlgorithm;
        PublicJwk = publicJwk;
    }

    public string Kid => key.KeyId;

    public string SigningAlgorithm { get; }

    public IReadOnlyDictionary<string, string> PublicJwk { get; }

    public static ClientKey Rsa(string kid, string signingAlgorithm = SecurityAlgorithms.RsaSha384)
    {
        var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(includePrivateParameters: false);
        return new ClientKey(rsa, new RsaSecurityKey(rsa) { KeyId = kid }, signingAlgorithm, new()
        {
            ["kty"] = "RSA",
            ["kid"] = kid,
            ["alg"] = signingAlgorithm,
            ["n"] = Base64Url.EncodeToString(p.Modulus),
            ["e"] = Base64Url.EncodeToString(p.Exponent),
        });
    }

    public static ClientKey EcP384(string kid)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var p = ec.ExportParameters(includePrivateParameters: false);
        return new ClientKey(ec, new ECDsaSecurityKey(ec) { KeyId = kid }, SecurityAlgorithms.EcdsaSha384, new()
        {
            ["kty"] = "EC",
            ["kid"] = kid,
            ["alg"] = SecurityAlgorithms.EcdsaSha384,
            ["crv"] = "P-384",
            ["x"] = Base64Url.EncodeToString(p.Q.X),
            ["y"] = Base64Url.EncodeToString(p.Q.Y),
        });
    }

    public static string JwksJson(params ClientKey[] keys) =>
        JsonSerializer.Serialize(new Dictionary<string, object> { ["keys"] = keys.Select(k => k.PublicJwk).ToArray() });

    /// <summary>A SMART client assertion (client-confidential-asymmetric), valid unless the test changes a part of it.</summary>
    public string Assertion(string clientId, string audience, DateTimeOffset now, TimeSpan? lifetime = null, string? jti = null, string? subject = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + (lifetime ?? TimeSpan.FromMinutes(4))).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = subject ?? clientId,
                [JwtRegisteredClaimNames.Jti] = jti ?? Guid.NewGuid().ToString(),
            },
            TokenType = "JWT",
            SigningCredentials = new SigningCredentials(key, SigningAlgorithm),
        };
        return Handler.CreateToken(descriptor);
    }

    public void Dispose() => algorithm.Dispose();
}

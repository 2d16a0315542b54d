using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;

namespace Referral.Model.Signing;

/// <summary>
/// One version of a signing key: its public half as a JWK and a way to sign with its private half, which may be in
/// this process (<see cref="LocalSigningKey"/>) or never leave Key Vault (<see cref="VaultKeyVersion"/>).
/// </summary>
public interface ISigningKey
{
    /// <summary>The RFC 7638 JWK thumbprint of the public key: the same key gives the same kid wherever it is kept.</summary>
    string Kid { get; }

    /// <summary>RS384 or ES384 (JWS alg).</summary>
    string Algorithm { get; }

    PublicJwk PublicKey { get; }

    /// <summary>The JWS signature of <paramref name="data"/> (RSASSA-PKCS1-v1_5 or ECDSA R||S, SHA-384).</summary>
    ValueTask<byte[]> SignAsync(byte[] data, CancellationToken cancellationToken);
}

/// <summary>The public members of a JWK as a JWKS publishes them; never a private part.</summary>
public sealed record PublicJwk(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("use")] string Use,
    [property: JsonPropertyName("alg")] string Alg,
    [property: JsonPropertyName("n"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? N = null,
    [property: JsonPropertyName("e"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? E = null,
    [property: JsonPropertyName("crv"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Crv = null,
    [property: JsonPropertyName("x"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? X = null,
    [property: JsonPropertyName("y"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Y = null)
{
    public const string Rs384 = "RS384";
    public const string Es384 = "ES384";

    public static PublicJwk Rsa(RSAParameters parameters, string algorithm) =>
        Create(new PublicJwk("RSA", "", "sig", algorithm, N: Base64Url.EncodeToString(TrimLeadingZeros(parameters.Modulus!)), E: Base64Url.EncodeToString(TrimLeadingZeros(parameters.Exponent!))));

    public static PublicJwk Ec(ECParameters parameters, string algorithm) =>
        Create(new PublicJwk("EC", "", "sig", algorithm, Crv: CurveName(parameters.Curve), X: Base64Url.EncodeToString(parameters.Q.X!), Y: Base64Url.EncodeToString(parameters.Q.Y!)));

    /// <summary>The JWK with its kid set to its RFC 7638 thumbprint.</summary>
    public static PublicJwk Create(PublicJwk jwk)
    {
        ArgumentNullException.ThrowIfNull(jwk);
        return jwk with { Kid = Thumbprint(jwk) };
    }

    /// <summary>RFC 7638: SHA-256 of the required members in lexicographic order, without whitespace, base64url.</summary>
    public static string Thumbprint(PublicJwk jwk)
    {
        ArgumentNullException.ThrowIfNull(jwk);
        byte[] canonical = jwk.Kty switch
        {
            "RSA" => JsonSerializer.SerializeToUtf8Bytes(new RsaThumbprintMembers(jwk.E!, jwk.Kty, jwk.N!)),
            "EC" => JsonSerializer.SerializeToUtf8Bytes(new EcThumbprintMembers(jwk.Crv!, jwk.Kty, jwk.X!, jwk.Y!)),
            _ => throw new NotSupportedException($"Key type '{jwk.Kty}' is not RSA or EC."),
        };
        return Base64Url.EncodeToString(SHA256.HashData(canonical));
    }

    /// <summary>JWK integers are unsigned big-endian without leading zero octets (RFC 7518 §2).</summary>
    public static byte[] TrimLeadingZeros(byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var start = 0;
        while (start < value.Length - 1 && value[start] == 0)
        {
            start++;
        }

        return value[start..];
    }

    private static string CurveName(ECCurve curve) =>
        curve.Oid.FriendlyName is "nistP384" or "ECDSA_P384" || curve.Oid.Value == "1.3.132.0.34"
            ? "P-384"
            : throw new NotSupportedException("Only P-384 keys sign ES384.");

    private sealed record RsaThumbprintMembers(
        [property: JsonPropertyName("e")] string E,
        [property: JsonPropertyName("kty")] string Kty,
        [property: JsonPropertyName("n")] string N);

    private sealed record EcThumbprintMembers(
        [property: JsonPropertyName("crv")] string Crv,
        [property: JsonPropertyName("kty")] string Kty,
        [property: JsonPropertyName("x")] string X,
        [property: JsonPropertyName("y")] string Y);
}

/// <summary>A JWK Set: <c>{"keys": [...]}</c>.</summary>
public sealed record JwksDocument([property: JsonPropertyName("keys")] IReadOnlyList<PublicJwk> Keys);

/// <summary>A private key held in this process (settings or the development key files).</summary>
public sealed class LocalSigningKey : ISigningKey, IDisposable
{
    private readonly RSA? rsa;
    private readonly ECDsa? ec;

    private LocalSigningKey(string algorithm, RSA? rsa, ECDsa? ec)
    {
        Algorithm = algorithm;
        this.rsa = rsa;
        this.ec = ec;
        PublicKey = rsa is not null ? PublicJwk.Rsa(rsa.ExportParameters(false), algorithm) : PublicJwk.Ec(ec!.ExportParameters(false), algorithm);
    }

    public string Kid => PublicKey.Kid;

    public string Algorithm { get; }

    public PublicJwk PublicKey { get; }

    /// <summary>An RS384 key from an RSA private key PEM, or an ES384 key from a P-384 private key PEM.</summary>
    public static LocalSigningKey FromPem(string algorithm, string pem)
    {
        switch (algorithm)
        {
            case PublicJwk.Rs384:
                var rsa = RSA.Create();
                rsa.ImportFromPem(pem);
                return new LocalSigningKey(algorithm, rsa, null);
            case PublicJwk.Es384:
                var ec = ECDsa.Create();
                ec.ImportFromPem(pem);
                return new LocalSigningKey(algorithm, null, ec);
            default:
                throw new NotSupportedException($"Signing algorithm '{algorithm}' is not RS384 or ES384.");
        }
    }

    public ValueTask<byte[]> SignAsync(byte[] data, CancellationToken cancellationToken) =>
        ValueTask.FromResult(rsa is not null
            ? rsa.SignData(data, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1)
            : ec!.SignData(data, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    public void Dispose()
    {
        rsa?.Dispose();
        ec?.Dispose();
    }
}

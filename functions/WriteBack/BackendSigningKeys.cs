using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Referral.Functions.WriteBack;

public sealed class BackendServicesOptions
{
    public const string Section = "BackendServices";

    /// <summary>RSA private keys as PEM, current first and the next one second (published early so a rotation breaks nothing).</summary>
    public List<SigningKeySetting> Keys { get; } = [];

    /// <summary>
    /// Development only: when no key is configured, a key pair is made on first run and kept in this folder
    /// (relative to the content root; gitignored), so the sandbox EHR keeps trusting the app across restarts.
    /// </summary>
    public string? DevelopmentKeysFolder { get; set; }

    /// <summary>The client assertion's lifetime; SMART allows at most five minutes.</summary>
    public TimeSpan AssertionLifetime { get; set; } = TimeSpan.FromMinutes(4);
}

public sealed class SigningKeySetting
{
    public string PrivateKeyPem { get; set; } = "";
}

/// <summary>
/// This app's SMART Backend Services signing keys (RS384), read through this one class from configuration: in
/// Azure from settings (a later issue moves them to Key Vault), in Development from the generated key folder.
/// The public halves are the JWKS the EHRs fetch (<c>/api/backend/jwks.json</c>).
/// </summary>
public sealed class BackendSigningKeys(IOptions<BackendServicesOptions> options, IHostEnvironment environment)
{
    public const string Algorithm = SecurityAlgorithms.RsaSha384;

    private readonly Lazy<IReadOnlyList<RsaSecurityKey>> keys = new(() => Load(options.Value, environment));

    /// <summary>The key assertions are signed with.</summary>
    public SigningCredentials Current => new(keys.Value[0], Algorithm);

    /// <summary>Public keys, current then next, as a JWKS document's <c>keys</c>.</summary>
    public IReadOnlyList<Dictionary<string, string>> PublicJwks() =>
    [
        .. keys.Value.Select(key =>
        {
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.Rsa.ExportParameters(false)) { KeyId = key.KeyId });
            return new Dictionary<string, string>
            {
                ["kty"] = jwk.Kty,
                ["kid"] = key.KeyId,
                ["use"] = "sig",
                ["alg"] = Algorithm,
                ["n"] = jwk.N,
                ["e"] = jwk.E,
            };
        }),
    ];

    private static IReadOnlyList<RsaSecurityKey> Load(BackendServicesOptions options, IHostEnvironment environment)
    {
        var pems = options.Keys.Select(k => k.PrivateKeyPem).Where(p => !string.IsNullOrWhiteSpace(p)).ToList();
        if (pems.Count == 0 && environment.IsDevelopment() && !string.IsNullOrWhiteSpace(options.DevelopmentKeysFolder))
        {
            var folder = Path.Combine(environment.ContentRootPath, options.DevelopmentKeysFolder);
            pems = [DevelopmentKey(folder, "current"), DevelopmentKey(folder, "next")];
        }

        if (pems.Count == 0)
        {
            throw new InvalidOperationException(
                $"No backend-services signing key: set {BackendServicesOptions.Section}:Keys:0:PrivateKeyPem (an RSA private key, PEM).");
        }

        return [.. pems.Select(pem =>
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            var key = new RsaSecurityKey(rsa);
            // The RFC 7638 thumbprint: a stable kid that changes exactly when the key does.
            key.KeyId = Base64UrlEncoder.Encode(JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false))).ComputeJwkThumbprint());
            return key;
        })];
    }

    /// <summary>Reads the development key, making it on first use; two apps starting at once agree on one key.</summary>
    private static string DevelopmentKey(string folder, string name)
    {
        var file = Path.Combine(folder, $"backend-services-{name}.pem");
        if (!File.Exists(file))
        {
            Directory.CreateDirectory(folder);
            using var rsa = RSA.Create(2048);
            var temporary = $"{file}.{Guid.NewGuid():N}.tmp";
            File.WriteAllText(temporary, "# Development only: made on first run, never used outside the local run and tests.\n" + rsa.ExportPkcs8PrivateKeyPem());
            try
            {
                File.Move(temporary, file, overwrite: false);
            }
            catch (IOException) when (File.Exists(file))
            {
                File.Delete(temporary);
            }
        }

        var text = File.ReadAllText(file);
        return text[text.IndexOf("-----BEGIN", StringComparison.Ordinal)..];
    }
}

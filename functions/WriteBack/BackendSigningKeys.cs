using System.Security.Cryptography;
using Azure.Core;
using Microsoft.Extensions.Options;
using Referral.Model.Signing;

namespace Referral.Functions.WriteBack;

public sealed class BackendServicesOptions
{
    public const string Section = "BackendServices";

    /// <summary>
    /// RSA private keys as PEM, current first and the next one second (published early so a rotation breaks nothing).
    /// Not used when the key is in Key Vault (<c>KeyVault:Uri</c> and <c>KeyVault:Keys:BackendServices</c>).
    /// </summary>
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
/// This app's SMART Backend Services signing key (RS384), from one place chosen at start: Key Vault when
/// <c>KeyVault:Uri</c> is set (the app asks the vault to sign; the private key never leaves it), else the PEMs in
/// <c>BackendServices:Keys</c>, else, in Development, the generated key folder. The public halves of every
/// published version are the JWKS the EHRs fetch (<c>/api/backend/jwks.json</c>).
/// </summary>
public sealed class BackendSigningKeys : IDisposable
{
    public const string Algorithm = PublicJwk.Rs384;

    /// <summary>The Key Vault key use of this app (<c>KeyVault:Keys:BackendServices</c>).</summary>
    public const string VaultKeyUse = "BackendServices";

    public const string NoKeyMessage =
        "No backend-services signing key: set KeyVault:Uri and KeyVault:Keys:BackendServices (the key in Azure Key Vault), "
        + "or BackendServices:Keys:0:PrivateKeyPem (an RSA private key, PEM). BackendServices:Keys:0:PrivateKeyPem is missing and KeyVault:Uri is not set.";

    /// <summary>
    /// The keys and their settings, checked at start (keys load lazily, and a missing key must stop the deployment, not
    /// the first request or write-back). The API serves their public half; the worker's <c>ehr-writeback</c> signs with them.
    /// </summary>
    public static OptionsBuilder<BackendServicesOptions> Add(IServiceCollection services, IConfiguration configuration)
    {
        var options = services.AddOptions<BackendServicesOptions>().Bind(configuration.GetSection(BackendServicesOptions.Section))
            .Validate<IOptions<KeyVaultOptions>, IHostEnvironment>(
                (o, vault, environment) => vault.Value.Configured || o.Keys.Any(k => !string.IsNullOrWhiteSpace(k.PrivateKeyPem)) || (environment.IsDevelopment() && !string.IsNullOrWhiteSpace(o.DevelopmentKeysFolder)),
                NoKeyMessage)
            .ValidateOnStart();
        services.AddKeyVaultSigning(configuration, VaultKeyUse);
        services.AddSingleton<BackendSigningKeys>();
        return options;
    }

    private readonly Lazy<IRotatingKey> key;

    public BackendSigningKeys(
        IOptions<BackendServicesOptions> options,
        IOptions<KeyVaultOptions> vault,
        IHostEnvironment environment,
        IHttpClientFactory clients,
        TokenCredential credential,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(vault);
        key = new(() => vault.Value.Configured
            ? new VaultKey(KeyVaultSigning.Client(vault.Value, clients, credential, time), vault.Value.Keys[VaultKeyUse], Algorithm, vault.Value, time)
            : Load(options.Value, environment));
    }

    /// <summary>Where the key is: a vault and key name, or settings, or development files; never key material.</summary>
    public string Source => key.Value.Description;

    /// <summary>Signs a JWT with the version that signs now; <c>typ</c> JWT, <c>alg</c> RS384 and <c>kid</c> in the header.</summary>
    public async Task<string> SignAsync(IDictionary<string, object> claims, CancellationToken cancellationToken)
    {
        var versions = await key.Value.VersionsAsync(cancellationToken);
        return await Jwt.SignAsync(versions.Signing, claims, cancellationToken);
    }

    /// <summary>Every published version's public key (current, then next or previous).</summary>
    public async Task<JwksDocument> JwksAsync(CancellationToken cancellationToken) =>
        await Jwt.JwksAsync([key.Value], cancellationToken);

    public void Dispose()
    {
        if (key.IsValueCreated && key.Value is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    private static LocalRotatingKey Load(BackendServicesOptions options, IHostEnvironment environment)
    {
        var pems = options.Keys.Select(k => k.PrivateKeyPem).Where(p => !string.IsNullOrWhiteSpace(p)).ToList();
        var source = $"settings ({BackendServicesOptions.Section}:Keys)";
        if (pems.Count == 0 && environment.IsDevelopment() && !string.IsNullOrWhiteSpace(options.DevelopmentKeysFolder))
        {
            var folder = Path.Combine(environment.ContentRootPath, options.DevelopmentKeysFolder);
            pems = [DevelopmentKey(folder, "current"), DevelopmentKey(folder, "next")];
            source = $"development key files in {folder}";
        }

        if (pems.Count == 0)
        {
            throw new InvalidOperationException(NoKeyMessage);
        }

        List<ISigningKey> keys = [.. pems.Select(pem => LocalSigningKey.FromPem(Algorithm, pem))];
        return new LocalRotatingKey(source, keys[0], keys);
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

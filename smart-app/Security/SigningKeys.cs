using System.Security.Cryptography;
using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Options;
using Referral.Model.Signing;

namespace Referral.SmartApp.Security;

/// <summary>
/// The app's private keys when they are not in Key Vault (<c>KeyVault:Uri</c> unset): settings may carry PEMs
/// (<c>SigningKeys:Keys:N</c>); otherwise, in Development only, keys are generated on first run into
/// <see cref="DevelopmentDirectory"/> (gitignored) and reused. <see cref="Algorithm"/> applies to both sources.
/// </summary>
public sealed class SigningKeyOptions
{
    public const string Section = "SigningKeys";

    /// <summary>Which key signs client assertions, RS384 or ES384 (SMART requires supporting both); with local keys it signs the API tokens too.</summary>
    public string Algorithm { get; set; } = PublicJwk.Rs384;

    /// <summary>Development only: the folder generated keys are kept in, relative to the content root.</summary>
    public string DevelopmentDirectory { get; set; } = ".dev-keys";

    public IList<ConfiguredKey> Keys { get; } = [];

    public sealed class ConfiguredKey
    {
        /// <summary>RS384 or ES384.</summary>
        public string Algorithm { get; set; } = "";

        /// <summary>The private key, PKCS#8 PEM.</summary>
        public string PrivateKeyPem { get; set; } = "";

        /// <summary>False for the next key: published in the JWKS ahead of a rotation, not yet used to sign.</summary>
        public bool Current { get; set; } = true;

        /// <summary>
        /// <c>ClientAssertion</c> (the default: published to EHRs at <c>/.well-known/jwks.json</c>) or <c>ApiToken</c>
        /// (the key of the functions API's tokens, published only at <c>/.well-known/api-jwks.json</c>).
        /// </summary>
        public SigningPurpose Purpose { get; set; } = SigningPurpose.ClientAssertion;
    }
}

/// <summary>What a signature is for: each has its own key in Key Vault (locally both use the current key of <see cref="SigningKeyOptions.Algorithm"/>).</summary>
public enum SigningPurpose
{
    /// <summary>private_key_jwt client assertions to EHRs (RS384 or ES384, <see cref="SigningKeyOptions.Algorithm"/>).</summary>
    ClientAssertion,

    /// <summary>The per-call physician tokens for the functions API.</summary>
    ApiToken,
}

/// <summary>One published key version, for the self-check: its kid, what it is for, whether it signs now, where it is.</summary>
public sealed record PublishedKey(string Kid, string Algorithm, string Use, bool Current, string Location, ISigningKey Key);

/// <summary>
/// The app's asymmetric keys: the client assertion keys (SMART confidential asymmetric client), published to EHRs at
/// <c>/.well-known/jwks.json</c>, and the key of the per-call tokens for the functions API, published apart at
/// <c>/.well-known/api-jwks.json</c>, which is all the functions app trusts: a client assertion key can never mint an
/// API token, nor the API key a client assertion. They come from one
/// place, chosen at start: Key Vault when <c>KeyVault:Uri</c> is set (the private keys never leave it: the app asks
/// the vault to sign), else the PEMs in <c>SigningKeys:Keys</c>, else, in Development only, generated key files.
/// </summary>
public sealed partial class SigningKeys : IDisposable
{
    public const string ClientRs384 = "ClientRs384";
    public const string ClientEs384 = "ClientEs384";
    public const string ApiSigning = "ApiSigning";

    /// <summary>The Key Vault key uses this app needs (<c>KeyVault:Keys:*</c>).</summary>
    public static readonly string[] VaultKeyUses = [ClientRs384, ClientEs384, ApiSigning];

    public static readonly IReadOnlyList<string> SupportedAlgorithms = [PublicJwk.Rs384, PublicJwk.Es384];

    private readonly IReadOnlyDictionary<string, IRotatingKey> clientKeys;
    private readonly IRotatingKey apiKey;
    private readonly string algorithm;
    private readonly List<IDisposable> owned = [];

    public SigningKeys(
        IOptions<SigningKeyOptions> options,
        IOptions<KeyVaultOptions> vault,
        IHostEnvironment environment,
        IHttpClientFactory clients,
        TokenCredential credential,
        TimeProvider time,
        ILogger<SigningKeys> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(environment);
        var settings = options.Value;
        algorithm = settings.Algorithm;
        if (vault.Value.Configured)
        {
            var client = KeyVaultSigning.Client(vault.Value, clients, credential, time);
            VaultKey Key(string use, string alg)
            {
                var key = new VaultKey(client, vault.Value.Keys[use], alg, vault.Value, time);
                owned.Add(key);
                return key;
            }

            clientKeys = new Dictionary<string, IRotatingKey>
            {
                [PublicJwk.Rs384] = Key(ClientRs384, PublicJwk.Rs384),
                [PublicJwk.Es384] = Key(ClientEs384, PublicJwk.Es384),
            };
            // The Bicep makes it an EC P-384 key (smart-app-api-es384); the functions API accepts RS384 and ES384.
            apiKey = Key(ApiSigning, PublicJwk.Es384);
            Source = $"Key Vault '{client.VaultName}' ({client.VaultUri}): keys {string.Join(", ", VaultKeyUses.Select(u => $"'{vault.Value.Keys[u]}' ({u})"))}";
            LogVaultKeys(logger, Source);
        }
        else
        {
            List<(LocalSigningKey Key, bool Current)> keys;
            List<(LocalSigningKey Key, bool Current)> apiKeys;
            if (settings.Keys.Count > 0)
            {
                keys = [.. settings.Keys.Where(k => k.Purpose != SigningPurpose.ApiToken).Select(k => (Load(k.Algorithm, k.PrivateKeyPem), k.Current))];
                apiKeys = [.. settings.Keys.Where(k => k.Purpose == SigningPurpose.ApiToken).Select(k => (Load(k.Algorithm, k.PrivateKeyPem), k.Current))];
                Source = $"settings ({SigningKeyOptions.Section}:Keys)";
            }
            else if (environment.IsDevelopment())
            {
                var directory = Path.GetFullPath(settings.DevelopmentDirectory, environment.ContentRootPath);
                (keys, apiKeys) = DevelopmentKeys(directory);
                Source = $"development key files in {directory}";
                LogDevelopmentKeys(logger, directory);
            }
            else
            {
                throw new OptionsValidationException(SigningKeyOptions.Section, typeof(SigningKeyOptions), [NoKeysMessage]);
            }

            owned.AddRange(keys.Select(k => k.Key));
            owned.AddRange(apiKeys.Select(k => k.Key));
            clientKeys = keys.GroupBy(k => k.Key.Algorithm).ToDictionary(
                g => g.Key,
                g => (IRotatingKey)new LocalRotatingKey(Source, g.FirstOrDefault(k => k.Current).Key ?? g.First().Key, [.. g.Select(k => k.Key)]));
            if (!keys.Any(k => k.Current && k.Key.Algorithm == algorithm))
            {
                throw new OptionsValidationException(SigningKeyOptions.Section, typeof(SigningKeyOptions),
                    [$"SigningKeys has no current {algorithm} key; SigningKeys:Algorithm must be RS384 or ES384 with a current key."]);
            }

            if (!apiKeys.Any(k => k.Current))
            {
                throw new OptionsValidationException(SigningKeyOptions.Section, typeof(SigningKeyOptions),
                    [$"SigningKeys has no current key with Purpose ApiToken: the functions API's tokens are signed by a key of their own, never by a client assertion key."]);
            }

            apiKey = new LocalRotatingKey(Source, apiKeys.First(k => k.Current).Key, [.. apiKeys.Select(k => k.Key)]);
        }
    }

    /// <summary>The message when no key source is configured outside Development.</summary>
    public const string NoKeysMessage =
        "No signing keys: set KeyVault:Uri and KeyVault:Keys:ClientRs384, KeyVault:Keys:ClientEs384, KeyVault:Keys:ApiSigning (keys in Azure Key Vault), "
        + "or SigningKeys:Keys:N:Algorithm (RS384, ES384) and :PrivateKeyPem (PKCS#8 PEM). SigningKeys:Keys is empty and KeyVault:Uri is not set.";

    /// <summary>Where the keys come from, for operators: a vault and key names, or settings, or development files; never key material.</summary>
    public string Source { get; }

    /// <summary>Signs a JWT for the purpose with the version that signs now; <c>typ</c> JWT, <c>alg</c> and <c>kid</c> in the header.</summary>
    public async Task<string> SignAsync(SigningPurpose purpose, IDictionary<string, object> claims, CancellationToken cancellationToken)
    {
        var versions = await KeyFor(purpose).VersionsAsync(cancellationToken);
        return await Jwt.SignAsync(versions.Signing, claims, cancellationToken);
    }

    /// <summary>
    /// The public JWK Set of one purpose: every published version of its keys (the client assertion keys for EHRs, or
    /// the API key for the functions app), bare key values (n, e or crv, x, y), never a private part.
    /// </summary>
    public async Task<string> JwksAsync(SigningPurpose purpose, CancellationToken cancellationToken) =>
        JsonSerializer.Serialize(await Jwt.JwksAsync(purpose == SigningPurpose.ApiToken ? [apiKey] : clientKeys.Values.Distinct(), cancellationToken));

    /// <summary>Every published key version with what it is for and whether it signs now.</summary>
    public async Task<IReadOnlyList<PublishedKey>> PublishedAsync(CancellationToken cancellationToken)
    {
        var published = new List<PublishedKey>();
        foreach (var key in Distinct())
        {
            var versions = await key.VersionsAsync(cancellationToken);
            var uses = string.Join(" and ", new[]
            {
                clientKeys.TryGetValue(algorithm, out var client) && client == key ? "client assertions" : null,
                apiKey == key ? "API tokens" : null,
            }.OfType<string>().DefaultIfEmpty("published only"));
            published.AddRange(versions.Published.Select(v => new PublishedKey(v.Kid, v.Algorithm, uses, v.Kid == versions.Signing.Kid, key.Description, v)));
        }

        return published;
    }

    public void Dispose()
    {
        foreach (var item in owned)
        {
            item.Dispose();
        }
    }

    private IRotatingKey KeyFor(SigningPurpose purpose) => purpose == SigningPurpose.ApiToken ? apiKey : clientKeys[algorithm];

    private List<IRotatingKey> Distinct() => [.. clientKeys.Values.Append(apiKey).Distinct()];

    private static LocalSigningKey Load(string algorithm, string pem) =>
        SupportedAlgorithms.Contains(algorithm)
            ? LocalSigningKey.FromPem(algorithm, pem)
            : throw new OptionsValidationException(SigningKeyOptions.Section, typeof(SigningKeyOptions), [$"SigningKeys: algorithm '{algorithm}' is not RS384 or ES384."]);

    /// <summary>Current and next RS384 and ES384 client keys and ES384 API keys, made once and kept in the folder (development only).</summary>
    private static (List<(LocalSigningKey, bool)> Client, List<(LocalSigningKey, bool)> Api) DevelopmentKeys(string directory)
    {
        Directory.CreateDirectory(directory);
        var keys = new List<(LocalSigningKey, bool)>();
        var api = new List<(LocalSigningKey, bool)>();
        foreach (var (name, algorithm, current) in (ReadOnlySpan<(string, string, bool)>)[
            ("rs384-current", PublicJwk.Rs384, true),
            ("es384-current", PublicJwk.Es384, true),
            ("rs384-next", PublicJwk.Rs384, false),
            ("es384-next", PublicJwk.Es384, false),
            ("api-es384-current", PublicJwk.Es384, true),
            ("api-es384-next", PublicJwk.Es384, false)])
        {
            var file = Path.Combine(directory, name + ".pem");
            if (!File.Exists(file))
            {
                string pem;
                if (algorithm == PublicJwk.Rs384)
                {
                    using var rsa = RSA.Create(2048);
                    pem = rsa.ExportPkcs8PrivateKeyPem();
                }
                else
                {
                    using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
                    pem = ec.ExportPkcs8PrivateKeyPem();
                }

                // Another process of the same run may have written it meanwhile: first writer wins, both then read it.
                try
                {
                    using var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write);
                    using var writer = new StreamWriter(stream);
                    writer.Write(pem);
                }
                catch (IOException) when (File.Exists(file))
                {
                }
            }

            (name.StartsWith("api-", StringComparison.Ordinal) ? api : keys).Add((Load(algorithm, ReadWhenComplete(file)), current));
        }

        return (keys, api);
    }

    private static string ReadWhenComplete(string file)
    {
        for (var attempt = 0; ; attempt++)
        {
            var text = File.ReadAllText(file);
            if (text.Contains("-----END", StringComparison.Ordinal) || attempt > 50)
            {
                return text;
            }

#pragma warning disable RS0030 // Why: another process (a second instance starting) is writing the file; its write takes real time, which no app clock moves.
            Thread.Sleep(20);
#pragma warning restore RS0030
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Using DEVELOPMENT signing keys from {Directory}; never use these outside a developer machine.")]
    private static partial void LogDevelopmentKeys(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Signing through {Source}.")]
    private static partial void LogVaultKeys(ILogger logger, string source);
}

public static class SigningKeyEndpoints
{
    public static IServiceCollection AddSigningKeys(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddKeyVaultSigning(configuration, SigningKeys.VaultKeyUses);
        services.AddOptions<SigningKeyOptions>()
            .Bind(configuration.GetSection(SigningKeyOptions.Section))
            .Validate(o => SigningKeys.SupportedAlgorithms.Contains(o.Algorithm), "SigningKeys:Algorithm must be RS384 or ES384.")
            // At start, not at the first launch: the keys are made lazily, and a missing key must stop the deployment.
            .Validate<IOptions<KeyVaultOptions>, IHostEnvironment>(
                (o, vault, environment) => vault.Value.Configured || o.Keys.Count > 0 || environment.IsDevelopment(),
                SigningKeys.NoKeysMessage)
            .Validate(o => o.Keys.All(k => !string.IsNullOrWhiteSpace(k.PrivateKeyPem)), "Every SigningKeys:Keys:N needs PrivateKeyPem.")
            .ValidateOnStart();
        services.AddSingleton<SigningKeys>();
        return services;
    }

    /// <summary>
    /// The public keys, without authentication: for the EHRs (client assertions) at <c>/.well-known/jwks.json</c>, and
    /// for the functions API (its tokens, <c>Auth:Physician:JwksUrl</c> there) at <c>/.well-known/api-jwks.json</c>.
    /// Cache-Control lets them cache it (SMART asks for the header); the next key is already in it before a rotation.
    /// </summary>
    public static IEndpointRouteBuilder MapJwks(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/jwks.json", async (HttpContext http, SigningKeys keys) =>
        {
            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(await keys.JwksAsync(SigningPurpose.ClientAssertion, http.RequestAborted), "application/json");
        });
        app.MapGet("/.well-known/api-jwks.json", async (HttpContext http, SigningKeys keys) =>
        {
            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(await keys.JwksAsync(SigningPurpose.ApiToken, http.RequestAborted), "application/json");
        });
        return app;
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Referral.SmartApp.Security;

/// <summary>
/// Where the app's private keys come from. Settings may carry PEMs (<c>SigningKeys:Keys:N</c>); otherwise, in
/// Development only, keys are generated on first run into <see cref="DevelopmentDirectory"/> (gitignored) and
/// reused. A later step loads them from Key Vault behind the same <see cref="SigningKeys"/>.
/// </summary>
public sealed class SigningKeyOptions
{
    public const string Section = "SigningKeys";

    /// <summary>Which current key signs client assertions and API tokens: RS384 or ES384 (SMART requires supporting both).</summary>
    public string Algorithm { get; set; } = SecurityAlgorithms.RsaSha384;

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
    }
}

/// <summary>One private key with its JWK thumbprint as <c>kid</c> (RFC 7638, so it is unique in the set).</summary>
public sealed record SigningKey(string Algorithm, AsymmetricSecurityKey Key, bool Current)
{
    public string Kid => Key.KeyId;

    public SigningCredentials Credentials => new(Key, Algorithm);
}

/// <summary>
/// The app's asymmetric keys: the current RS384 and ES384 keys and the next ones, all published at
/// <c>/.well-known/jwks.json</c>; the current key of the configured algorithm signs client assertions
/// (SMART confidential asymmetric client) and the per-call tokens for the functions API.
/// </summary>
public sealed partial class SigningKeys
{
    public static readonly IReadOnlyList<string> SupportedAlgorithms = [SecurityAlgorithms.RsaSha384, SecurityAlgorithms.EcdsaSha384];

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public SigningKeys(IOptions<SigningKeyOptions> options, IHostEnvironment environment, ILogger<SigningKeys> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        var settings = options.Value;
        if (settings.Keys.Count > 0)
        {
            All = [.. settings.Keys.Select(k => Load(k.Algorithm, k.PrivateKeyPem, k.Current))];
        }
        else if (environment.IsDevelopment())
        {
            var directory = Path.GetFullPath(settings.DevelopmentDirectory, environment.ContentRootPath);
            All = DevelopmentKeys(directory);
            LogDevelopmentKeys(logger, directory);
        }
        else
        {
            throw new OptionsValidationException(SigningKeyOptions.Section, typeof(SigningKeyOptions),
                ["SigningKeys:Keys is empty: outside Development the app's private keys must come from settings (RS384 and ES384, PKCS#8 PEM)."]);
        }

        Signing = All.FirstOrDefault(k => k.Current && k.Algorithm == settings.Algorithm)
            ?? throw new OptionsValidationException(SigningKeyOptions.Section, typeof(SigningKeyOptions),
                [$"SigningKeys has no current {settings.Algorithm} key; SigningKeys:Algorithm must be RS384 or ES384 with a current key."]);
        Jwks = JsonSerializer.Serialize(new JwksDocument([.. All.Select(PublicJwk)]));
    }

    public IReadOnlyList<SigningKey> All { get; }

    /// <summary>The key that signs now.</summary>
    public SigningKey Signing { get; }

    /// <summary>The public JWK Set: kty and kid on each, bare key values (n, e or crv, x, y), never a private part.</summary>
    public string Jwks { get; }

    /// <summary>Signs a JWT with the current key; <c>typ</c> JWT and <c>kid</c> in the header.</summary>
    public string Sign(IDictionary<string, object> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = Signing.Credentials,
            TokenType = "JWT",
        });
    }

    private static SigningKey Load(string algorithm, string pem, bool current)
    {
        AsymmetricSecurityKey key = algorithm switch
        {
            SecurityAlgorithms.RsaSha384 => RsaKey(pem),
            SecurityAlgorithms.EcdsaSha384 => EcKey(pem),
            _ => throw new OptionsValidationException(SigningKeyOptions.Section, typeof(SigningKeyOptions), [$"SigningKeys: algorithm '{algorithm}' is not RS384 or ES384."]),
        };
        key.KeyId = Base64UrlEncoder.Encode(JsonWebKeyConverter.ConvertFromSecurityKey(PublicOnly(key)).ComputeJwkThumbprint());
        return new SigningKey(algorithm, key, current);
    }

    private static RsaSecurityKey RsaKey(string pem)
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        return new RsaSecurityKey(rsa);
    }

    private static ECDsaSecurityKey EcKey(string pem)
    {
        var ec = ECDsa.Create();
        ec.ImportFromPem(pem);
        return new ECDsaSecurityKey(ec);
    }

    private static AsymmetricSecurityKey PublicOnly(AsymmetricSecurityKey key) => key switch
    {
        RsaSecurityKey rsa => new RsaSecurityKey(rsa.Rsa.ExportParameters(false)),
        ECDsaSecurityKey ec => new ECDsaSecurityKey(ECDsa.Create(ec.ECDsa.ExportParameters(false))),
        _ => throw new NotSupportedException(key.GetType().Name),
    };

    /// <summary>Current and next RS384 and ES384 keys, made once and kept in the folder (development only).</summary>
    private static List<SigningKey> DevelopmentKeys(string directory)
    {
        Directory.CreateDirectory(directory);
        var keys = new List<SigningKey>();
        foreach (var (name, algorithm, current) in (ReadOnlySpan<(string, string, bool)>)[
            ("rs384-current", SecurityAlgorithms.RsaSha384, true),
            ("es384-current", SecurityAlgorithms.EcdsaSha384, true),
            ("rs384-next", SecurityAlgorithms.RsaSha384, false),
            ("es384-next", SecurityAlgorithms.EcdsaSha384, false)])
        {
            var file = Path.Combine(directory, name + ".pem");
            if (!File.Exists(file))
            {
                string pem;
                if (algorithm == SecurityAlgorithms.RsaSha384)
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

            keys.Add(Load(algorithm, ReadWhenComplete(file), current));
        }

        return keys;
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

            Thread.Sleep(20);
        }
    }

    private static PublicKey PublicJwk(SigningKey key)
    {
        var jwk = JsonWebKeyConverter.ConvertFromSecurityKey(PublicOnly(key.Key));
        return new PublicKey(jwk.Kty, key.Kid, "sig", key.Algorithm, jwk.N, jwk.E, jwk.Crv, jwk.X, jwk.Y);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Using DEVELOPMENT signing keys from {Directory}; never use these outside a developer machine.")]
    private static partial void LogDevelopmentKeys(ILogger logger, string directory);

    private sealed record JwksDocument([property: JsonPropertyName("keys")] IReadOnlyList<PublicKey> Keys);

    private sealed record PublicKey(
        [property: JsonPropertyName("kty")] string Kty,
        [property: JsonPropertyName("kid")] string Kid,
        [property: JsonPropertyName("use")] string Use,
        [property: JsonPropertyName("alg")] string Alg,
        [property: JsonPropertyName("n"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? N,
        [property: JsonPropertyName("e"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? E,
        [property: JsonPropertyName("crv"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Crv,
        [property: JsonPropertyName("x"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? X,
        [property: JsonPropertyName("y"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Y);
}

public static class SigningKeyEndpoints
{
    public static IServiceCollection AddSigningKeys(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SigningKeyOptions>()
            .Bind(configuration.GetSection(SigningKeyOptions.Section))
            .Validate(o => SigningKeys.SupportedAlgorithms.Contains(o.Algorithm), "SigningKeys:Algorithm must be RS384 or ES384.")
            // At start, not at the first launch: the keys are made lazily, and a missing key must stop the deployment.
            .Validate<IHostEnvironment>(
                (o, environment) => o.Keys.Count > 0 || environment.IsDevelopment(),
                "SigningKeys:Keys is empty: outside Development set SigningKeys:Keys:N:Algorithm (RS384, ES384) and :PrivateKeyPem (PKCS#8 PEM); keys are not read from Key Vault (KeyVault:Uri) yet.")
            .Validate(o => o.Keys.All(k => !string.IsNullOrWhiteSpace(k.PrivateKeyPem)), "Every SigningKeys:Keys:N needs PrivateKeyPem.")
            .ValidateOnStart();
        services.AddSingleton<SigningKeys>();
        return services;
    }

    /// <summary>
    /// The public keys, without authentication, for the EHRs (client assertions) and the functions API (its tokens).
    /// Cache-Control lets them cache it (SMART asks for the header); the next key is already in it before a rotation.
    /// </summary>
    public static IEndpointRouteBuilder MapJwks(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/jwks.json", (HttpContext http, SigningKeys keys) =>
        {
            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(keys.Jwks, "application/json");
        });
        return app;
    }
}

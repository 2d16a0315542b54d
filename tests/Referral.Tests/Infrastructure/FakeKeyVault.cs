using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;
using WireMock;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// Key Vault's key REST API played by WireMock over real HTTP: Get Key Versions, Get Key and Sign, for keys whose
/// private halves this fake holds (as the vault would) and signs with. A test adds versions, disables them, makes
/// the vault refuse or hang, and reads back every request the app sent (bearer token, digest).
/// </summary>
public sealed class FakeKeyVault : IDisposable
{
    private readonly WireMockServer server = WireMockServer.Start();
    private readonly Dictionary<string, List<Version>> keys = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    /// <summary>Set when the vault is disposed: a late answer still held back is let go, so the test does not wait out its latency.</summary>
    private readonly ManualResetEventSlim stopping = new(false);

    /// <summary>Set when the vault first holds an answer back (<see cref="Held"/>).</summary>
    private readonly System.Threading.Tasks.TaskCompletionSource held = new(System.Threading.Tasks.TaskCreationOptions.RunContinuationsAsynchronously);

    public FakeKeyVault()
    {
        server.Given(Request.Create().WithPath("/keys/*")).RespondWith(Response.Create().WithCallback(Answer));
    }

    /// <summary>The vault URI the apps are given (loopback http, which the apps accept only on loopback).</summary>
    public string Uri => server.Urls[0] + "/";

    /// <summary>When set, every request is answered with this status and a Key Vault error body.</summary>
    public int? FailWith { get; set; }

    /// <summary>When set, every answer comes this late.</summary>
    public TimeSpan? Latency { get; set; }

    /// <summary>Ends when the vault first holds an answer back (<see cref="Latency"/>): the caller is waiting for it now.</summary>
    public System.Threading.Tasks.Task Held => held.Task;

    /// <summary>Adds a version made <paramref name="age"/> ago: an RSA 2048 key for "RSA", an EC P-384 key for "EC".</summary>
    public Version AddVersion(string name, string kty, TimeSpan age, bool enabled = true, DateTimeOffset? expires = null)
    {
        AsymmetricAlgorithm key = kty == "RSA" ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var version = new Version(name, Guid.NewGuid().ToString("N"), kty, key, TestClock.Now - age) { Enabled = enabled, Expires = expires };
        lock (gate)
        {
            if (!keys.TryGetValue(name, out var versions))
            {
                keys[name] = versions = [];
            }

            versions.Add(version);
        }

        return version;
    }

    /// <summary>The sign requests the vault received, in order.</summary>
    public IReadOnlyList<ILogEntry> SignRequests() =>
        [.. server.LogEntries.Where(e => e.RequestMessage!.Method == "POST" && e.RequestMessage.Path.EndsWith("/sign", StringComparison.Ordinal)).OrderBy(e => e.RequestMessage!.DateTime)];

    public IReadOnlyList<ILogEntry> Requests() => [.. server.LogEntries.OrderBy(e => e.RequestMessage!.DateTime)];

    public void Dispose()
    {
        stopping.Set();
        server.Stop();
        foreach (var version in keys.Values.SelectMany(v => v))
        {
            version.Key.Dispose();
        }
    }

    private ResponseMessage Answer(IRequestMessage request)
    {
        if (Latency is { } latency)
        {
            // The caller under test has long given up (its timeout is the point); disposing ends the wait early.
            held.TrySetResult();
            stopping.Wait(latency);
        }

        if (FailWith is { } status)
        {
            return Json(status, new JsonObject { ["error"] = new JsonObject { ["code"] = status == 403 ? "Forbidden" : "InternalServerError", ["message"] = $"Fake vault answers {status}." } });
        }

        // keys/{name}/versions, keys/{name}/{version}, keys/{name}/{version}/sign
        var segments = request.Path.Trim('/').Split('/');
        lock (gate)
        {
            if (segments.Length < 3 || !keys.TryGetValue(segments[1], out var versions))
            {
                return Json(404, new JsonObject { ["error"] = new JsonObject { ["code"] = "KeyNotFound", ["message"] = "No such key." } });
            }

            if (segments[2] == "versions" && request.Method == "GET")
            {
                return Json(200, new JsonObject
                {
                    ["value"] = new JsonArray([.. versions.Select(v => (JsonNode)new JsonObject { ["kid"] = Kid(v), ["attributes"] = Attributes(v) })]),
                    ["nextLink"] = null,
                });
            }

            var version = versions.SingleOrDefault(v => v.Id == segments[2]);
            if (version is null)
            {
                return Json(404, new JsonObject { ["error"] = new JsonObject { ["code"] = "KeyNotFound", ["message"] = "No such version." } });
            }

            if (segments.Length == 3 && request.Method == "GET")
            {
                return Json(200, new JsonObject { ["key"] = PublicJwk(version), ["attributes"] = Attributes(version) });
            }

            if (segments.Length == 4 && segments[3] == "sign" && request.Method == "POST")
            {
                var body = JsonNode.Parse(request.Body!)!;
                var digest = Base64Url.DecodeFromChars(body["value"]!.GetValue<string>());
                var alg = body["alg"]!.GetValue<string>();
                if (!version.Enabled || (alg == "RS384") != (version.Kty == "RSA") || digest.Length != SHA384.HashSizeInBytes)
                {
                    return Json(400, new JsonObject { ["error"] = new JsonObject { ["code"] = "BadParameter", ["message"] = "Wrong algorithm, digest or disabled version." } });
                }

                var signature = version.Key is RSA rsa
                    ? rsa.SignHash(digest, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1)
                    : ((ECDsa)version.Key).SignHash(digest, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                return Json(200, new JsonObject { ["kid"] = Kid(version), ["value"] = Base64Url.EncodeToString(signature) });
            }
        }

        return Json(405, new JsonObject { ["error"] = new JsonObject { ["code"] = "MethodNotAllowed", ["message"] = request.Method } });
    }

    private string Kid(Version version) => $"{server.Urls[0]}/keys/{version.Name}/{version.Id}";

    private static JsonObject Attributes(Version version) => new()
    {
        ["enabled"] = version.Enabled,
        ["created"] = version.Created.ToUnixTimeSeconds(),
        ["updated"] = version.Created.ToUnixTimeSeconds(),
        ["exp"] = version.Expires?.ToUnixTimeSeconds(),
        ["recoveryLevel"] = "Recoverable",
    };

    private JsonObject PublicJwk(Version version)
    {
        var jwk = new JsonObject { ["kid"] = Kid(version), ["kty"] = version.Kty, ["key_ops"] = new JsonArray("sign", "verify") };
        if (version.Key is RSA rsa)
        {
            var parameters = rsa.ExportParameters(false);
            jwk["n"] = Base64Url.EncodeToString(parameters.Modulus);
            jwk["e"] = Base64Url.EncodeToString(parameters.Exponent);
        }
        else
        {
            var parameters = ((ECDsa)version.Key).ExportParameters(false);
            jwk["crv"] = "P-384";
            jwk["x"] = Base64Url.EncodeToString(parameters.Q.X);
            jwk["y"] = Base64Url.EncodeToString(parameters.Q.Y);
        }

        return jwk;
    }

    private static ResponseMessage Json(int status, JsonObject body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json; charset=utf-8") },
        BodyData = new BodyData { BodyAsString = body.ToJsonString(), DetectedBodyType = BodyType.String },
    };

    /// <summary>One key version; the private half stays here, as it stays in the vault.</summary>
    public sealed record Version(string Name, string Id, string Kty, AsymmetricAlgorithm Key, DateTimeOffset Created)
    {
        public bool Enabled { get; set; } = true;

        public DateTimeOffset? Expires { get; init; }

        /// <summary>The kid a relying party computes from the public key (RFC 7638 thumbprint, by Microsoft.IdentityModel).</summary>
        public string Thumbprint
        {
            get
            {
                var jwk = Key is RSA rsa
                    ? JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)))
                    : JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(((ECDsa)Key).ExportParameters(false))));
                return Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
            }
        }
    }
}

/// <summary>A fixed token in place of the managed identity, so a test sees exactly what the app sends the vault.</summary>
public sealed class StaticTokenCredential(string token = StaticTokenCredential.Token) : Azure.Core.TokenCredential
{
    public const string Token = "test-vault-token";

    public int Requests { get; private set; }

    public override Azure.Core.AccessToken GetToken(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        Requests++;
        Assert.Equal(["https://vault.azure.net/.default"], requestContext.Scopes);
        return new Azure.Core.AccessToken(token, TestClock.Now.AddHours(1));
    }

    public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}

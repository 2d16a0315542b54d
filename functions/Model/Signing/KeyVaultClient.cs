using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;

namespace Referral.Model.Signing;

/// <summary>Key Vault refused, failed, or did not answer. The message names the vault, the key and the operation, never key material.</summary>
public sealed class KeyVaultException : Exception
{
    public KeyVaultException()
    {
    }

    public KeyVaultException(string message)
        : base(message)
    {
    }

    public KeyVaultException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The HTTP status the vault answered, or null when it was not reached or did not answer in time.</summary>
    public HttpStatusCode? Status { get; init; }
}

/// <summary>A Microsoft Entra access token for the vault and when it runs out.</summary>
public sealed record VaultAccessToken(string Token, DateTimeOffset ExpiresOn);

/// <summary>
/// The three Key Vault key operations the apps need, over the documented REST API (api-version 7.4): list a key's
/// versions, get a version's public key, and sign a digest with it. The private key never leaves the vault. The
/// caller gives an <see cref="HttpClient"/>, how long a call may wait (on the app's clock) and the access token source
/// (each app's <c>Azure.Core.TokenCredential</c>, so this library takes no Azure package).
/// </summary>
public sealed class KeyVaultClient
{
    public const string ApiVersion = "7.4";

    /// <summary>The scope of a Key Vault data-plane token.</summary>
    public const string Scope = "https://vault.azure.net/.default";

    private static readonly TimeSpan TokenRenewal = TimeSpan.FromMinutes(5);

    private readonly HttpClient http;
    private readonly Func<CancellationToken, ValueTask<VaultAccessToken>> accessToken;
    private readonly TimeProvider time;
    private readonly TimeSpan timeout;
    private VaultAccessToken? token;

    public KeyVaultClient(HttpClient http, Uri vaultUri, Func<CancellationToken, ValueTask<VaultAccessToken>> accessToken, TimeProvider time, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(vaultUri);
        this.http = http;
        this.accessToken = accessToken;
        this.time = time;
        this.timeout = timeout;
        VaultUri = new Uri(vaultUri.GetLeftPart(UriPartial.Authority) + "/");
    }

    public Uri VaultUri { get; }

    /// <summary>The vault's name: the first label of its host (mmr-kv-abc.vault.azure.net).</summary>
    public string VaultName => VaultUri.Host.Split('.')[0];

    /// <summary>Every version of the key with its attributes (enabled, nbf, exp, created), all pages.</summary>
    public async Task<IReadOnlyList<KeyVersionItem>> ListVersionsAsync(string name, CancellationToken cancellationToken)
    {
        var versions = new List<KeyVersionItem>();
        Uri? next = Address($"keys/{Uri.EscapeDataString(name)}/versions");
        while (next is not null)
        {
            var page = await SendAsync<KeyVersionPage>(HttpMethod.Get, next, null, $"list the versions of key '{name}'", cancellationToken).ConfigureAwait(false);
            versions.AddRange(page.Value ?? []);
            // The bearer token goes only to the vault: a next link elsewhere is not followed.
            next = page.NextLink is { Length: > 0 } link && Uri.TryCreate(link, UriKind.Absolute, out var uri) && uri.GetLeftPart(UriPartial.Authority) == VaultUri.GetLeftPart(UriPartial.Authority)
                ? uri
                : null;
        }

        return versions;
    }

    /// <summary>The public key of one version (JWK: n, e or crv, x, y).</summary>
    public async Task<KeyBundle> GetKeyAsync(string name, string version, CancellationToken cancellationToken) =>
        await SendAsync<KeyBundle>(HttpMethod.Get, Address($"keys/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(version)}"), null, $"get version {version} of key '{name}'", cancellationToken).ConfigureAwait(false);

    /// <summary>Signs a digest in the vault (keys/sign); the answer is the JWS signature (R||S for ECDSA).</summary>
    public async Task<byte[]> SignAsync(string name, string version, string algorithm, byte[] digest, CancellationToken cancellationToken)
    {
        var request = new SignRequest(algorithm, Base64Url.EncodeToString(digest));
        var result = await SendAsync<KeyOperationResult>(HttpMethod.Post, Address($"keys/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(version)}/sign"), request, $"sign with version {version} of key '{name}'", cancellationToken).ConfigureAwait(false);
        return result.Value is { Length: > 0 } value
            ? Base64Url.DecodeFromChars(value)
            : throw new KeyVaultException($"Key Vault '{VaultName}' answered the request to sign with key '{name}' without a signature.");
    }

    private Uri Address(string path) => new(VaultUri, $"{path}?api-version={ApiVersion}");

    private async Task<T> SendAsync<T>(HttpMethod method, Uri uri, object? body, string operation, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(operation, cancellationToken).ConfigureAwait(false));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        HttpResponseMessage response;
        using var deadline = new Deadline(timeout, time, cancellationToken);
        try
        {
            response = await http.SendAsync(request, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KeyVaultException($"Key Vault '{VaultName}' did not answer within {timeout.TotalSeconds:0.#} s when asked to {operation}.", e);
        }
        catch (HttpRequestException e)
        {
            throw new KeyVaultException($"Key Vault '{VaultName}' could not be reached to {operation}: {e.Message}", e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var error = await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
                throw new KeyVaultException($"Key Vault '{VaultName}' refused to {operation}: {(int)response.StatusCode} {error}.{Hint(response.StatusCode)}")
                {
                    Status = response.StatusCode,
                };
            }

            try
            {
                return await response.Content.ReadFromJsonAsync<T>(cancellationToken).ConfigureAwait(false)
                    ?? throw new KeyVaultException($"Key Vault '{VaultName}' answered an empty body when asked to {operation}.");
            }
            catch (JsonException e)
            {
                throw new KeyVaultException($"Key Vault '{VaultName}' answered something that is not its JSON when asked to {operation}.", e);
            }
        }
    }

    private async ValueTask<string> TokenAsync(string operation, CancellationToken cancellationToken)
    {
        var current = token;
        if (current is not null && current.ExpiresOn - TokenRenewal > time.GetUtcNow())
        {
            return current.Token;
        }

        try
        {
            current = await accessToken(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new KeyVaultException($"No Microsoft Entra token for Key Vault '{VaultName}' to {operation}: {e.Message}", e);
        }

        token = current;
        return current.Token;
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var error = await response.Content.ReadFromJsonAsync<ErrorResponse>(cancellationToken).ConfigureAwait(false);
            return error?.Error is { } e ? $"{e.Code}: {e.Message}" : response.ReasonPhrase ?? "";
        }
        catch (JsonException)
        {
            return response.ReasonPhrase ?? "";
        }
    }

    private static string Hint(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => " The app's managed identity needs the Key Vault Crypto User role on this key (infra/README.md).",
        HttpStatusCode.NotFound => " Check the key name in the KeyVault:Keys settings.",
        _ => "",
    };

    private sealed record KeyVersionPage(
        [property: JsonPropertyName("value")] IReadOnlyList<KeyVersionItem>? Value,
        [property: JsonPropertyName("nextLink")] string? NextLink);

    private sealed record SignRequest(
        [property: JsonPropertyName("alg")] string Alg,
        [property: JsonPropertyName("value")] string Value);

    private sealed record KeyOperationResult(
        [property: JsonPropertyName("kid")] string? Kid,
        [property: JsonPropertyName("value")] string? Value);

    private sealed record ErrorResponse([property: JsonPropertyName("error")] ErrorDetail? Error);

    private sealed record ErrorDetail(
        [property: JsonPropertyName("code")] string? Code,
        [property: JsonPropertyName("message")] string? Message);
}

/// <summary>One entry of Get Key Versions: the version's identifier (<c>{vault}/keys/{name}/{version}</c>) and attributes.</summary>
public sealed record KeyVersionItem(
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("attributes")] KeyAttributes? Attributes)
{
    /// <summary>The last segment of the key identifier.</summary>
    public string Version => Kid.TrimEnd('/')[(Kid.TrimEnd('/').LastIndexOf('/') + 1)..];
}

/// <summary>Key Vault's key attributes; times are Unix seconds.</summary>
public sealed record KeyAttributes(
    [property: JsonPropertyName("enabled")] bool? Enabled,
    [property: JsonPropertyName("nbf")] long? NotBefore,
    [property: JsonPropertyName("exp")] long? Expires,
    [property: JsonPropertyName("created")] long? Created);

/// <summary>Get Key's answer: the public key as a JWK, and the attributes.</summary>
public sealed record KeyBundle(
    [property: JsonPropertyName("key")] VaultJwk Key,
    [property: JsonPropertyName("attributes")] KeyAttributes? Attributes);

/// <summary>The public members of a key as Key Vault returns them (kty RSA, RSA-HSM, EC or EC-HSM).</summary>
public sealed record VaultJwk(
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("n")] string? N,
    [property: JsonPropertyName("e")] string? E,
    [property: JsonPropertyName("crv")] string? Crv,
    [property: JsonPropertyName("x")] string? X,
    [property: JsonPropertyName("y")] string? Y);

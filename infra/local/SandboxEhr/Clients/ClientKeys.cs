using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace SandboxEhr.Clients;

/// <summary>
/// The public keys of clients that authenticate with private_key_jwt, fetched from their registered JWKS URL
/// through <see cref="IHttpClientFactory"/> (client <see cref="HttpClientName"/>, which tests can point elsewhere).
/// A fetched set is trusted for a short while; a kid it does not hold makes it fetch again, so a client can rotate keys.
/// </summary>
public sealed class ClientKeys(IHttpClientFactory httpClients, TimeProvider time, IOptions<SandboxOptions> options)
{
    public const string HttpClientName = "client-jwks";

    private readonly ConcurrentDictionary<string, (IReadOnlyList<JsonWebKey> Keys, DateTimeOffset FetchedAt)> cache = new(StringComparer.Ordinal);

    /// <summary>The client's keys with this kid; empty when it has none. Throws <see cref="ClientKeysUnavailableException"/> when the JWKS cannot be had.</summary>
    public async Task<IReadOnlyList<JsonWebKey>> FindAsync(RegisteredClient client, string kid, CancellationToken cancellationToken)
    {
        if (client.Jwks is not null)
        {
            return [.. client.Jwks.Keys.Where(k => k.Kid == kid)];
        }

        var url = client.JwksUrl ?? throw new ClientKeysUnavailableException($"Client '{client.ClientId}' has no registered JWKS URL.");
        if (cache.TryGetValue(url, out var cached)
            && time.GetUtcNow() - cached.FetchedAt < options.Value.ClientKeysCacheLifetime
            && cached.Keys.Any(k => k.Kid == kid))
        {
            return [.. cached.Keys.Where(k => k.Kid == kid)];
        }

        var keys = await FetchAsync(url, cancellationToken);
        cache[url] = (keys, time.GetUtcNow());
        return [.. keys.Where(k => k.Kid == kid)];
    }

    private async Task<IReadOnlyList<JsonWebKey>> FetchAsync(string url, CancellationToken cancellationToken)
    {
        try
        {
            using var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.GetAsync(new Uri(url), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new ClientKeysUnavailableException($"The JWKS URL answered {(int)response.StatusCode}.");
            }

            var set = new JsonWebKeySet(await response.Content.ReadAsStringAsync(cancellationToken));
            return [.. set.Keys];
        }
        catch (Exception e) when (e is HttpRequestException or ArgumentException or TaskCanceledException)
        {
            throw new ClientKeysUnavailableException($"The JWKS could not be fetched: {e.Message}", e);
        }
    }
}

public sealed class ClientKeysUnavailableException : Exception
{
    public ClientKeysUnavailableException()
    {
    }

    public ClientKeysUnavailableException(string message)
        : base(message)
    {
    }

    public ClientKeysUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

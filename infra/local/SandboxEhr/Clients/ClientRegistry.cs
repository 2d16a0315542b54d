using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using SandboxEhr.Auth;

namespace SandboxEhr.Clients;

/// <summary>The registered clients: those of configuration, and those registered at run time (kept in memory only).</summary>
public sealed class ClientRegistry
{
    private readonly ConcurrentDictionary<string, RegisteredClient> clients = new(StringComparer.Ordinal);
    private readonly TimeProvider time;

    public ClientRegistry(IOptions<SandboxOptions> options, TimeProvider time)
    {
        this.time = time;
        foreach (var configured in options.Value.Clients)
        {
            var client = new RegisteredClient
            {
                ClientId = configured.ClientId,
                ClientName = string.IsNullOrWhiteSpace(configured.ClientName) ? configured.ClientId : configured.ClientName,
                LaunchUrl = NullIfEmpty(configured.LaunchUrl),
                LaunchLabel = NullIfEmpty(configured.LaunchLabel),
                RedirectUris = [.. configured.RedirectUris],
                PostLogoutRedirectUris = [.. configured.PostLogoutRedirectUris],
                JwksUrl = NullIfEmpty(configured.JwksUrl),
                TokenEndpointAuthMethod = configured.TokenEndpointAuthMethod,
                ClientSecret = NullIfEmpty(configured.ClientSecret),
                GrantTypes = configured.GrantTypes.Count == 0 ? [GrantTypes.AuthorizationCode] : [.. configured.GrantTypes],
                Scopes = Scopes.Split(configured.Scope),
                UserType = configured.UserType,
                AccessTokenAudience = NullIfEmpty(configured.AccessTokenAudience),
                IssuedAt = time.GetUtcNow(),
            };
            clients[client.ClientId] = client;
        }
    }

    public IEnumerable<RegisteredClient> All => clients.Values.OrderBy(c => c.ClientName, StringComparer.Ordinal);

    public RegisteredClient? Find(string? clientId) =>
        clientId is not null && clients.TryGetValue(clientId, out var client) ? client : null;

    /// <summary>Adds a client under a new random id and returns it as stored.</summary>
    public RegisteredClient Register(RegisteredClient client)
    {
        var stored = client with { ClientId = RandomTokens.Create(16), IssuedAt = time.GetUtcNow() };
        clients[stored.ClientId] = stored;
        return stored;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Caching.Distributed;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Inbox;

/// <summary>
/// Where a signed-in therapist's ticket (their claims and their tokens) lives: on the server, in the app's
/// <see cref="IDistributedCache"/>. The inbox cookie holds only a random key to it (DESIGN.md §6: tokens stay on the
/// server). The cache is addressed by a hash of the key, so a cache dump cannot be replayed as a cookie, and the ticket is
/// encrypted with Data Protection, so a shared cache (Redis) never holds a readable refresh token.
/// </summary>
public sealed class InboxTicketStore(IDistributedCache cache, IDataProtectionProvider protection, TimeProvider time) : ITicketStore
{
    /// <summary>The ticket's own key, kept in its properties so a request can re-read the ticket (to see a refresh another request made).</summary>
    public const string KeyItem = ".inbox.ticket";

    private readonly IDataProtector protector = protection.CreateProtector("Referral.SmartApp.Inbox.Tickets");

    public Task<string> StoreAsync(AuthenticationTicket ticket) => StoreAsync(ticket, CancellationToken.None);

    public async Task<string> StoreAsync(AuthenticationTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var key = AppSession.Base64UrlToken(32);
        ticket.Properties.Items[KeyItem] = key;
        await RenewAsync(key, ticket, cancellationToken);
        return key;
    }

    public Task RenewAsync(string key, AuthenticationTicket ticket) => RenewAsync(key, ticket, CancellationToken.None);

    public Task RenewAsync(string key, AuthenticationTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var expires = ticket.Properties.ExpiresUtc ?? time.GetUtcNow() + AppSession.IdleTimeout;
        var bytes = protector.Protect(TicketSerializer.Default.Serialize(ticket));
        return cache.SetAsync(CacheKey(key), bytes, new DistributedCacheEntryOptions { AbsoluteExpiration = expires }, cancellationToken);
    }

    public Task<AuthenticationTicket?> RetrieveAsync(string key) => RetrieveAsync(key, CancellationToken.None);

    public async Task<AuthenticationTicket?> RetrieveAsync(string key, CancellationToken cancellationToken)
    {
        var bytes = await cache.GetAsync(CacheKey(key), cancellationToken);
        if (bytes is null)
        {
            return null;
        }

        try
        {
            return TicketSerializer.Default.Deserialize(protector.Unprotect(bytes));
        }
        catch (CryptographicException)
        {
            // Written under a Data Protection key this instance no longer has: the therapist signs in again.
            return null;
        }
    }

    public Task RemoveAsync(string key) => RemoveAsync(key, CancellationToken.None);

    public Task RemoveAsync(string key, CancellationToken cancellationToken) => cache.RemoveAsync(CacheKey(key), cancellationToken);

    private static string CacheKey(string key) => "inbox-ticket:" + Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(key)));
}

using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Referral.Functions.Storage;

namespace Referral.Functions.Security;

/// <summary>
/// The <c>jti</c> of every per-call physician token accepted so far, in the app's storage account so that every
/// instance shares it: a row keyed by the jti is inserted, and an insert that conflicts means the token was already
/// used. Rows carry the token's expiry; after it the token is refused for its lifetime anyway, so an old row only
/// costs space.
/// </summary>
public sealed class TokenReplayCache(StorageAccount storage)
{
    public const string TableName = "TokenReplay";

    /// <summary>Records the jti as used; false when it was used before (a replay).</summary>
    public async Task<bool> TryUseAsync(string jti, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jti);
        // Hashed: the jti is the caller's text, and table keys may not hold every character.
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(jti)));
        var table = await storage.TableAsync(TableName);
        try
        {
            await table.AddEntityAsync(new TableEntity(key[..2], key) { ["ExpiresAt"] = expires }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }
}

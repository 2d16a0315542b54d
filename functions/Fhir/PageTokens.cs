using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Referral.Functions.Storage;

namespace Referral.Functions.Fhir;

/// <summary>
/// The <c>_page</c> value of a search's <c>next</c> link: the position in the results (a Table Storage continuation
/// token or an offset) with an HMAC-SHA256 over it, the caller and the search it continues. A token is good only for
/// the caller it was given to and the very search (type and parameters) it was made for, so it cannot be edited
/// into another search or handed to another caller. The key is made once per storage account and kept in its
/// <c>ApiSecrets</c> table, so every instance of the API checks every other's tokens.
/// </summary>
public sealed class PageTokens(StorageAccount storage)
{
    public const string TableName = "ApiSecrets";

    private Task<byte[]>? key;

    public async Task<string> ProtectAsync(string caller, string search, string position)
    {
        var mac = await MacAsync(caller, search, position);
        return $"{Base64Url(Encoding.UTF8.GetBytes(position))}.{Base64Url(mac)}";
    }

    /// <summary>The position a token holds; null when it was not made by this API for this caller and this search.</summary>
    public async Task<string?> UnprotectAsync(string caller, string search, string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || FromBase64Url(token[..dot]) is not { } positionBytes || FromBase64Url(token[(dot + 1)..]) is not { } mac)
        {
            return null;
        }

        string position;
        try
        {
            position = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(positionBytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        var expected = await MacAsync(caller, search, position);
        return CryptographicOperations.FixedTimeEquals(mac, expected) ? position : null;
    }

    private async Task<byte[]> MacAsync(string caller, string search, string position) =>
        HMACSHA256.HashData(await KeyAsync(), Encoding.UTF8.GetBytes($"{caller}\n{search}\n{position}"));

    /// <summary>The key, loaded once; a load that failed (storage unreachable) is tried again by the next request.</summary>
    private Task<byte[]> KeyAsync()
    {
        var current = key;
        if (current is null || current.IsFaulted || current.IsCanceled)
        {
            current = LoadKeyAsync(storage);
            key = current;
        }

        return current;
    }

    private static async Task<byte[]> LoadKeyAsync(StorageAccount storage)
    {
        var table = await storage.TableAsync(TableName);
        var fresh = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        try
        {
            await table.AddEntityAsync(new TableEntity("search", "page-key") { ["Key"] = fresh });
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status409Conflict)
        {
            // Another instance made it first: everyone uses the stored one.
        }

        var stored = await table.GetEntityAsync<TableEntity>("search", "page-key");
        return Convert.FromBase64String(stored.Value.GetString("Key"));
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[]? FromBase64Url(string text)
    {
        var base64 = text.Replace('-', '+').Replace('_', '/');
        base64 += (base64.Length % 4) switch { 2 => "==", 3 => "=", _ => "" };
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

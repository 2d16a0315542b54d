using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Referral.Functions.Referrals;

/// <summary>
/// The questions and answers on a referral (FHIR Communications), in the referral's own partition:
/// <c>msg|{key}|{hash of sender, text and the referral version it was written at}</c>. The same message sent again
/// (a retried post, a double click) hashes to the same row, so it is stored once.
/// </summary>
public sealed partial class ReferralStore
{
    private const string MessagePrefix = "msg|";

    /// <summary>Stores a message; Added is false when the same message was stored before, and Stored is then that one.</summary>
    public async Task<(bool Added, Communication Stored)> AddMessageAsync(StoredReferral referral, Communication message, string dedupKey, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(referral);
        ArgumentNullException.ThrowIfNull(message);
        var table = await storage.TableAsync(TableName);
        var (_, key) = Parse(referral.Id)!.Value;
        var rowKey = $"{MessagePrefix}{key}|{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dedupKey)))[..32]}";
        message.Meta ??= new Meta();
        message.Meta.VersionId = "1";
        message.Meta.LastUpdated = now;
        try
        {
            await table.AddEntityAsync(new TableEntity(referral.Owner, rowKey)
            {
                ["Json"] = Serializer.SerializeToString(message),
                ["Date"] = now,
            }, cancellationToken);
            return (true, message);
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status409Conflict)
        {
            var row = await table.GetEntityAsync<TableEntity>(referral.Owner, rowKey, cancellationToken: cancellationToken);
            return (false, Deserializer.Deserialize<Communication>(row.Value.GetString("Json")));
        }
    }

    /// <summary>A referral's messages, oldest first: one partition range query.</summary>
    public async Task<IReadOnlyList<Communication>> MessagesAsync(string id, CancellationToken cancellationToken)
    {
        if (Parse(id) is not var (owner, key))
        {
            return [];
        }

        var table = await storage.TableAsync(TableName);
        var from = $"{MessagePrefix}{key}|";
        var to = from[..^1] + "}";
        var messages = new List<(DateTimeOffset Date, Communication Message)>();
        await foreach (var row in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {owner} and RowKey gt {from} and RowKey lt {to}"),
                           cancellationToken: cancellationToken))
        {
            messages.Add((row.GetDateTimeOffset("Date") ?? DateTimeOffset.MinValue, Deserializer.Deserialize<Communication>(row.GetString("Json"))));
        }

        return [.. messages.OrderBy(m => m.Date).Select(m => m.Message)];
    }
}

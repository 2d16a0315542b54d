extern alias worker;

using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Microsoft.IdentityModel.JsonWebTokens;
using Referral.Functions.Security;
using Referral.Tests.Infrastructure;
using worker::Referral.Worker.Security;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Security;

/// <summary>
/// The replay rows of physician tokens do not pile up: the hourly <c>token-replay-purge</c> timer deletes the rows of
/// tokens that have expired, and leaves those of tokens that could still be presented (whose replay stays refused).
/// </summary>
public sealed class TokenReplayPurgeTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static readonly Uri Endpoint = new("/api/fhir/ServiceRequest?patient=Patient/pat-1", UriKind.Relative);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_hourly_purge_deletes_the_rows_of_expired_tokens_and_keeps_the_rows_of_live_ones()
    {
        var clock = TestClock.Fake();
        await using var app = new FunctionsApp(azurite.ConnectionString, identity, time: clock);
        var early = identity.Physician(at: clock.GetUtcNow());
        Assert.Equal(HttpStatusCode.OK, await SendAsync(app, early));
        Assert.True(await RowExistsAsync(early), "A used token's jti is recorded.");

        clock.Advance(TimeSpan.FromHours(2));
        var live = identity.Physician(at: clock.GetUtcNow());
        Assert.Equal(HttpStatusCode.OK, await SendAsync(app, live));

        var ran = await app.Triggers.RunDueTimersAsync(Ct);

        Assert.Contains(TokenReplayPurgeFunction.Name, ran);
        Assert.False(await RowExistsAsync(early), "The row of a token expired two hours ago is deleted.");
        Assert.True(await RowExistsAsync(live), "The row of a token that is still valid is kept.");
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(app, live));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(app, early));
    }

    private static async Task<HttpStatusCode> SendAsync(FunctionsApp app, string token)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, Endpoint);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        using var response = await client.SendAsync(request, Ct);
        return response.StatusCode;
    }

    private async Task<bool> RowExistsAsync(string token)
    {
        var jti = new JsonWebTokenHandler().ReadJsonWebToken(token).Id;
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(jti)));
        var table = new TableClient(azurite.ConnectionString, TokenReplayCache.TableName);
        await foreach (var _ in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey eq {key}"), cancellationToken: Ct))
        {
            return true;
        }

        return false;
    }
}

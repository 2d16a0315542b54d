using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Conformance;
using Referral.Functions.Health;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Health;

public sealed class HealthEndpointTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Health_answers_ok_with_storage_up_when_azurite_runs()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new FunctionsApp(azurite.ConnectionString);
        using var client = app.CreateClient();
        // Ready means Firely's validator too: it loads in the background from the app's start (ValidatorWarmUpTests).
        await app.Services.GetRequiredService<PackageWarmUp>().Package.WaitAsync(TimeSpan.FromMinutes(3), ct);

        using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var report = await response.Content.ReadFromJsonAsync<HealthReport>(ct);
        Assert.Equal(new HealthReport("ok", new StorageReport("up", "up")), report);
    }

    [Fact]
    public async Task Readiness_answers_503_naming_the_table_service_down_when_only_tables_are_unreachable()
    {
        var ct = TestContext.Current.CancellationToken;
        // Port 9 (discard) is closed on loopback: a storage account that never answers.
        var unreachable = azurite.ConnectionString.Replace($":{azurite.TablePort}/", ":9/", StringComparison.Ordinal);
        await using var app = new FunctionsApp(unreachable);
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative), ct);
        using var live = await client.GetAsync(new Uri(HealthEndpoints.LivePath, UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var report = await response.Content.ReadFromJsonAsync<HealthReport>(ct);
        Assert.Equal("degraded", report?.Status);
        Assert.Equal("down", report?.Storage.Tables);
        Assert.Equal("up", report?.Storage.Queues);
    }
}

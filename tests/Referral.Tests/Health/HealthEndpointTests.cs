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

    [Fact]
    public async Task Probes_that_come_while_a_table_service_hangs_share_one_check_which_gives_up_after_three_seconds_on_the_apps_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        // A table service that reads each request's first line and never answers.
        using var hanging = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        hanging.Start();
        var connections = new System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.TcpClient>();
        var requests = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _ = Task.Run(async () =>
        {
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    var connection = await hanging.AcceptTcpClientAsync(ct);
                    connections.Add(connection);
                    _ = Task.Run(async () => requests.Enqueue(await new StreamReader(connection.GetStream()).ReadLineAsync(ct) ?? ""), ct);
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // Stopped at the test's end.
            }
        }, ct);
        var clock = TestClock.Fake();
        var port = ((IPEndPoint)hanging.LocalEndpoint).Port;
        await using var app = new FunctionsApp(azurite.ConnectionString.Replace($":{azurite.TablePort}/", $":{port}/", StringComparison.Ordinal), time: clock);
        using var client = app.CreateClient();
        // The readiness check lists the tables (the app's own start may ask the table service other things).
        bool IsCheck(string line) => line.StartsWith("GET /", StringComparison.Ordinal) && line.Contains("/Tables", StringComparison.Ordinal);

        var probes = Enumerable.Range(0, 5).Select(_ => client.GetAsync(new Uri("/api/health", UriKind.Relative), ct)).ToList();
        await Eventually.Until(() => requests.Any(IsCheck), "The readiness check never reached the table service.", TimeSpan.FromSeconds(30));

        // Just short of the timeout on the app's clock the probes still wait; at it, every one is answered: tables down.
        clock.Advance(StorageReadiness.Timeout - TimeSpan.FromMilliseconds(100));
        await Task.Delay(300, ct);
        Assert.All(probes, probe => Assert.False(probe.IsCompleted));
        clock.Advance(TimeSpan.FromMilliseconds(100));
        var answers = await Task.WhenAll(probes).WaitAsync(TimeSpan.FromSeconds(30), ct);

        foreach (var answer in answers)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            var report = await answer.Content.ReadFromJsonAsync<HealthReport>(ct);
            Assert.Equal(new StorageReport("down", "up"), report?.Storage);
            answer.Dispose();
        }

        // One check for the five probes.
        Assert.Single(requests, IsCheck);
        // The table service goes away for good: what the app still asks of it (its start's work) fails at once, and
        // does not hold the app's stop.
        hanging.Stop();
        foreach (var connection in connections)
        {
            connection.Dispose();
        }
    }
}

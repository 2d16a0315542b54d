using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Notifications;
using Referral.Functions.Referrals;
using Referral.Functions.Storage;
using Referral.Functions.Triggers;
using Referral.Functions.WriteBack;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Contracts;

/// <summary>
/// The Functions host forwards each HTTP-triggered function's request to the app at its original path
/// (DESIGN.md §3), so every function.json must name a route and methods that the app really serves.
/// </summary>
public sealed class FunctionJsonContractTests(AzuriteFixture azurite)
{
    public static TheoryData<string> FunctionFolders()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Repository.PathTo("functions"), "function.json", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                              && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            data.Add(Path.GetFileName(Path.GetDirectoryName(file)!));
        }

        return data;
    }

    [Fact]
    public void The_functions_app_declares_at_least_the_health_function()
    {
        Assert.Contains("health", FunctionFolders().Select(row => row.Data));
    }

    [Theory]
    [MemberData(nameof(FunctionFolders))]
    public async Task Each_http_function_json_lists_exactly_the_methods_the_app_maps_for_its_route_and_HEAD_beside_each_GET(string function)
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(
            Repository.PathTo("functions", function, "function.json"), TestContext.Current.CancellationToken));
        var trigger = json.RootElement.GetProperty("bindings").EnumerateArray()
            .Single(b => b.GetProperty("direction").GetString() == "in");
        if (trigger.GetProperty("type").GetString() != "httpTrigger")
        {
            return; // Queue and timer functions are pinned by their own contract tests.
        }

        var route = "api/" + trigger.GetProperty("route").GetString();
        var methods = trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).Order(StringComparer.Ordinal).ToArray();

        await using var app = new FunctionsApp(azurite.ConnectionString);
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
        // The endpoint carries the function's name, so logs and the host's function list read the same.
        var served = endpoints.Where(e => string.Equals(e.RoutePattern.RawText?.TrimStart('/'), route, StringComparison.Ordinal)
                                          && e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == function).ToList();
        Assert.True(served.Count > 0, $"{function}: the app maps no endpoint named {function} at /{route}.");

        // The host forwards only the methods function.json lists: exactly what the app maps, and HEAD wherever it maps
        // GET (the app serves a HEAD as its GET, body dropped).
        var mapped = served.SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).ToHashSet(StringComparer.Ordinal);
        if (mapped.Contains("GET"))
        {
            mapped.Add("HEAD");
        }

        Assert.Equal(mapped.Order(StringComparer.Ordinal), methods);

        var output = json.RootElement.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("direction").GetString() == "out");
        Assert.Equal("http", output.GetProperty("type").GetString());

        if (methods.Contains("HEAD"))
        {
            // And the app really answers a HEAD there (anonymous: 401 or 200, never 405), with no body.
            using var client = app.CreateClient();
            var path = "/" + System.Text.RegularExpressions.Regex.Replace(route, "{[^}]+}", "x-1");
            using var request = new HttpRequestMessage(HttpMethod.Head, path);
            using var head = await client.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.NotEqual(System.Net.HttpStatusCode.MethodNotAllowed, head.StatusCode);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        }
    }

    [Theory]
    [MemberData(nameof(FunctionFolders))]
    public async Task Each_queue_and_timer_function_json_matches_a_POST_endpoint_named_after_its_folder(string function)
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(
            Repository.PathTo("functions", function, "function.json"), TestContext.Current.CancellationToken));
        var trigger = json.RootElement.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("direction").GetString() == "in");
        var type = trigger.GetProperty("type").GetString();
        if (type == "httpTrigger")
        {
            return;
        }

        Assert.True(type is "queueTrigger" or "timerTrigger", $"{function}: an unexpected trigger {type}.");
        await using var app = new FunctionsApp(azurite.ConnectionString);
        var served = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText == $"/{function}").ToList();
        Assert.Contains(served, e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.SequenceEqual(["POST"]) == true
            && e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == function);

        if (type == "queueTrigger")
        {
            // The queue the function listens to is the queue the app writes that work to.
            var expected = function switch
            {
                NotificationFunction.Name => ReferralNotifications.QueueName,
                EhrWriteBackFunction.Name => EhrWriteBackRequests.QueueName,
                _ => null,
            };
            Assert.Equal(expected, trigger.GetProperty("queueName").GetString());
            Assert.Equal(StorageAccount.SettingName, trigger.GetProperty("connection").GetString());
            Assert.Equal("message", trigger.GetProperty("name").GetString());
        }
        else
        {
            var schedule = trigger.GetProperty("schedule").GetString()!;
            Assert.Equal(6, schedule.Split(' ').Length);
            Assert.NotNull(LocalTriggerRunner.Parse(schedule));
        }
    }

    [Fact]
    public async Task Every_POST_endpoint_outside_api_is_a_declared_queue_or_timer_function()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString);
        var manifest = app.Triggers.Manifest;
        var triggered = manifest.Functions.Where(f => f.Kind is TriggerKind.Queue or TriggerKind.Timer).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == false)
            .ToList();

        Assert.Equal(["ehr-writeback", "referral-notify", "referral-reminders", "table-backup", "token-replay-purge"], triggered.Order(StringComparer.Ordinal));
        Assert.All(endpoints, e => Assert.Contains(e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? e.RoutePattern.RawText!, triggered));
        Assert.Equal(triggered.Count, endpoints.Count);
    }

    [Fact]
    public async Task Host_json_sets_the_queue_retries_backoff_and_poison_rule()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString);

        var queues = app.Triggers.Manifest.Queues;

        Assert.Equal(5, queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromSeconds(30), queues.VisibilityTimeout);
    }

    [Fact]
    public async Task Every_api_endpoint_the_app_serves_is_declared_as_a_function()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString);
        var declared = FunctionFolders().Select(row => row.Data).ToHashSet(StringComparer.Ordinal);
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .ToList();

        Assert.NotEmpty(endpoints);
        Assert.All(endpoints, e => Assert.Contains(e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? e.RoutePattern.RawText!, declared));
    }

    [Fact]
    public async Task Host_json_runs_the_app_as_a_custom_handler_that_receives_forwarded_http_requests()
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(
            Repository.PathTo("functions", "host.json"), TestContext.Current.CancellationToken));
        var handler = json.RootElement.GetProperty("customHandler");

        Assert.Equal("2.0", json.RootElement.GetProperty("version").GetString());
        Assert.True(handler.GetProperty("enableForwardingHttpRequest").GetBoolean());
        Assert.Equal(typeof(Functions.Program).Assembly.GetName().Name,
            handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.Equal("api", json.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }
}

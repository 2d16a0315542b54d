using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Operations;

/// <summary>
/// Each app (and the sandbox EHR the local run and the browser tests use) builds its endpoints once: the endpoint a
/// request is routed to is the very object the app's endpoint data source lists (the one the authorization policy
/// cache holds), not a second build of it made for the router.
/// </summary>
public sealed class EndpointsBuiltOnceTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_API_routes_a_request_to_the_one_build_of_its_endpoint()
    {
        var routed = new ConcurrentQueue<Endpoint>();
        await using var app = new FunctionsApp(azurite.ConnectionString, identity) { TestServices = services => services.AddSingleton<IStartupFilter>(new RecordRouted(routed)) };
        using var client = app.ClientWith(identity.Physician());

        using var response = await client.GetAsync(new Uri("/api/fhir/ServiceRequest?patient=Patient/pat-1", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var endpoint = Assert.Single(routed);
        Assert.Contains(app.Services.GetRequiredService<EndpointDataSource>().Endpoints, listed => ReferenceEquals(listed, endpoint));
    }

    [Fact]
    public async Task The_smart_app_routes_a_request_to_the_one_build_of_its_endpoint()
    {
        var routed = new ConcurrentQueue<Endpoint>();
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, appServices: services => services.AddSingleton<IStartupFilter>(new RecordRouted(routed)));
        using var client = harness.App.CreateClient();

        using var response = await client.GetAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var endpoint = Assert.Single(routed);
        Assert.Contains(harness.App.Services.GetRequiredService<EndpointDataSource>().Endpoints, listed => ReferenceEquals(listed, endpoint));
    }

    [Fact]
    public async Task The_sandbox_EHR_routes_a_request_to_the_one_build_of_its_endpoint()
    {
        var routed = new ConcurrentQueue<Endpoint>();
        await using var sandbox = new SandboxHost(new Dictionary<string, string?> { ["Sandbox:BaseUrl"] = "http://localhost" });
        await using var app = sandbox.WithWebHostBuilder(b => b.ConfigureServices(services => services.AddSingleton<IStartupFilter>(new RecordRouted(routed))));
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var endpoint = Assert.Single(routed);
        Assert.Contains(app.Services.GetRequiredService<EndpointDataSource>().Endpoints, listed => ReferenceEquals(listed, endpoint));
    }

    /// <summary>Notes the endpoint each request was routed to, once the app has answered it.</summary>
    private sealed class RecordRouted(ConcurrentQueue<Endpoint> routed) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (HttpContext context, RequestDelegate following) =>
            {
                await following(context);
                if (context.GetEndpoint() is { } endpoint)
                {
                    routed.Enqueue(endpoint);
                }
            });
            next(app);
        };
    }
}

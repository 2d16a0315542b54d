using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referral.Tests.Infrastructure;
using SandboxEhr.Clients;

namespace SandboxEhr.Tests.Infrastructure;

/// <summary>
/// The sandbox EHR with its real pipeline. Only two things are swapped: time (a <see cref="FakeTimeProvider"/>
/// tests can move) and where client JWKS URLs are fetched from (<see cref="Jwks"/>, served in memory).
/// </summary>
public sealed class SandboxApp(IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    /// <summary>The TestServer's address, and so the sandbox's base URL in tests that do not start Kestrel.</summary>
    public const string TestBase = "http://localhost";

    public FakeTimeProvider Time { get; } = TestClock.Fake();

    public JwksServer Jwks { get; } = new();

    public string Base { get; private set; } = TestBase;

    public string FhirBase => $"{Base}/fhir";

    public string TokenEndpoint => $"{Base}/auth/token";

    /// <summary>A browser-like client: cookies kept, redirects not followed, so tests see each protocol step.</summary>
    public HttpClient Browser() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>Starts Kestrel on a free loopback port and returns the address a browser can open.</summary>
    public Uri StartOnLoopback()
    {
        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        StartServer();
        var address = new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Base = address.GetLeftPart(UriPartial.Authority);
        return address;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        if (settings is not null)
        {
            builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(settings));
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            services.AddHttpClient(ClientKeys.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => Jwks);
        });
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Jwks.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Client JWKS URLs answered in memory, counting fetches; unknown URLs get 404.</summary>
public sealed class JwksServer : HttpMessageHandler
{
    private readonly Dictionary<string, string> sets = new(StringComparer.Ordinal);

    public int Fetches { get; private set; }

    public void Serve(string url, string jwksJson)
    {
        lock (sets)
        {
            sets[url] = jwksJson;
        }
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (sets)
        {
            Fetches++;
            return Task.FromResult(sets.TryGetValue(request.RequestUri!.ToString(), out var json)
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") }
                : new HttpResponseMessage(HttpStatusCode.NotFound));
        }
    }
}

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The smart-app with its real pipeline; <see cref="StartOnLoopback"/> serves it on a real port for a browser. Its clock
/// is the one given (its harness's), else the test run's.
/// </summary>
public sealed class SmartAppHost(IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? time = null) : WebApplicationFactory<Referral.SmartApp.Program>
{
    public TimeProvider Time { get; } = time ?? TestClock.Provider;

    /// <summary>The admin pages open without sign-in (<see cref="AdminAccess"/>), for tests of what they show.</summary>
    public bool AdminSignedIn { get; init; }

    /// <summary>Where the app's log lines go as well (<see cref="ServerLog"/>), if anywhere.</summary>
    public ILoggerProvider? Log { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("SigningKeys:DevelopmentDirectory", SmartAppHarness.KeyDirectory);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton(Time);
            if (Log is not null)
            {
                services.AddSingleton(Log);
            }

            if (AdminSignedIn)
            {
                AdminAccess.Open(services);
            }

            services.AddHttpClient<Referral.SmartApp.Referrals.FunctionsApi>().AddHttpMessageHandler(() => new Recorder(FunctionsAnswers));
        });
    }

    /// <summary>Every FHIR body the functions API answered the app with (what the physician's and therapist's pages were built from).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(Uri Request, string Body)> FunctionsAnswers { get; } = new();

    /// <summary>Keeps each FHIR answer of the functions API, unchanged, for the tests to judge.</summary>
    private sealed class Recorder(System.Collections.Concurrent.ConcurrentQueue<(Uri Request, string Body)> answers) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.Content.Headers.ContentType?.MediaType == "application/fhir+json")
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                answers.Enqueue((request.RequestUri!, await response.Content.ReadAsStringAsync(cancellationToken)));
            }

            return response;
        }
    }

    /// <summary>Starts Kestrel on a loopback port (a free one by default) and returns the address a browser can open.</summary>
    public Uri StartOnLoopback(int port = 0)
    {
        UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, port));
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.First());
    }
}

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Storage;
using Referral.Functions.Triggers;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The functions app with its real pipeline, pointed at the test run's Azurite and, where given, the test issuers.
/// Its local trigger runner is registered (Development) but its background loop is off unless a test turns it on:
/// tests drive it with <see cref="Triggers"/>, and it calls the app through the test server as the host would.
/// Its clock is the one given (a harness's, shared by all its apps), else the test run's (<see cref="TestClock"/>).
/// </summary>
public sealed class FunctionsApp(
    string storageConnectionString,
    TestIdentity? identity = null,
    IReadOnlyDictionary<string, string?>? settings = null,
    TimeProvider? time = null) : WebApplicationFactory<Functions.Program>
{
    /// <summary>Where this app's pickup-folder sender writes its messages.</summary>
    public string MailFolder { get; } = Path.Combine(Path.GetTempPath(), "referral-mail-" + Guid.NewGuid().ToString("N"));

    /// <summary>The app's clock.</summary>
    public TimeProvider Time { get; } = time ?? TestClock.Provider;

    public LocalTriggerRunner Triggers => Services.GetRequiredService<LocalTriggerRunner>();

    /// <summary>Services a test adds after the app's own (an in-memory telemetry exporter, say).</summary>
    public Action<IServiceCollection>? TestServices { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting(StorageAccount.SettingName, storageConnectionString);
        builder.UseSetting("TriggerRunner:Enabled", "false");
        builder.UseSetting("TriggerRunner:BaseAddress", "http://localhost");
        builder.UseSetting("Notifications:PickupFolder", MailFolder);
        foreach (var (key, value) in identity?.Settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddHttpClient(LocalTriggerRunner.HttpClientName)
                .ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<IServer>() is TestServer server
                    ? server.CreateHandler()
                    : new SocketsHttpHandler()); // served on Kestrel: TriggerRunner:BaseAddress names its address
            services.AddSingleton(Time);
            TestServices?.Invoke(services);
        });
    }

    /// <summary>The messages the app has "sent" so far, as the text of each .eml file.</summary>
    public IReadOnlyList<string> Mail() =>
        Directory.Exists(MailFolder) ? [.. Directory.EnumerateFiles(MailFolder, "*.eml").Order(StringComparer.Ordinal).Select(File.ReadAllText)] : [];
}

public static class FactoryClients
{
    /// <summary>
    /// A client of the app that sends the given bearer token; a physician token minted by <see cref="TestIdentity"/>
    /// is signed afresh (new jti) for each call, as the smart-app does, since the API accepts each jti once.
    /// To send the very same token again (a replay), set the header on a plain client.
    /// </summary>
    public static HttpClient ClientWith<TEntryPoint>(this WebApplicationFactory<TEntryPoint> app, string token)
        where TEntryPoint : class
    {
        ArgumentNullException.ThrowIfNull(app);
        var client = app.CreateDefaultClient(new TokenPerCall(token));
        return client;
    }

    private sealed class TokenPerCall(string first) : DelegatingHandler
    {
        private int calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var token = Interlocked.Increment(ref calls) == 1 ? first : TestIdentity.ForNextCall(first);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

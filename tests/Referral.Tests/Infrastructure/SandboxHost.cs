using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The sandbox EHR in-process in Development, with the given settings; tests serve it on a loopback port. Its clock is
/// the one given (its harness's), else the test run's.
/// </summary>
public sealed class SandboxHost(IReadOnlyDictionary<string, string?> settings, TimeProvider? time = null) : WebApplicationFactory<SandboxEhr.Program>
{
    private readonly TestKeys.Lease signingKey = TestKeys.Rent("sandbox");

    public TimeProvider Time { get; } = time ?? TestClock.Provider;

    /// <summary>Where the sandbox's log lines go as well (<see cref="ServerLog"/>), if anywhere.</summary>
    public ILoggerProvider? Log { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in settings)
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

            // The sandbox's signing key, lent rather than made at each start (TestKeys).
            services.Replace(ServiceDescriptor.Singleton(_ => new SandboxEhr.Auth.SigningKeys(signingKey.Key.Rsa)));
        });
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        signingKey.Dispose();
    }
}

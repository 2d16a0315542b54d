using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Referral.Tests.Infrastructure;

/// <summary>The sandbox EHR in-process in Development, with the given settings (and clock, where given); tests serve it on a loopback port.</summary>
public sealed class SandboxHost(IReadOnlyDictionary<string, string?> settings, TimeProvider? time = null) : WebApplicationFactory<SandboxEhr.Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        if (time is not null)
        {
            builder.ConfigureTestServices(services => services.AddSingleton(time));
        }
    }
}

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Referral.Tests.Infrastructure;

/// <summary>The sandbox EHR in-process in Development, with the given settings; tests serve it on a loopback port.</summary>
public sealed class SandboxHost(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<SandboxEhr.Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }
}

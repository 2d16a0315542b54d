using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Referral.Tests.Infrastructure;

/// <summary>The smart-app with its real pipeline; <see cref="StartOnLoopback"/> serves it on a real port for a browser.</summary>
public sealed class SmartAppHost : WebApplicationFactory<Referral.SmartApp.Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseEnvironment("Development");

    /// <summary>Starts Kestrel on a free loopback port and returns the address a browser can open.</summary>
    public Uri StartOnLoopback()
    {
        UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, 0));
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.First());
    }
}

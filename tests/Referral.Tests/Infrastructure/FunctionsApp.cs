using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Referral.Functions.Storage;

namespace Referral.Tests.Infrastructure;

/// <summary>The functions app with its real pipeline, pointed at the test run's Azurite.</summary>
public sealed class FunctionsApp(string storageConnectionString) : WebApplicationFactory<Functions.Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting(StorageAccount.SettingName, storageConnectionString);
    }
}

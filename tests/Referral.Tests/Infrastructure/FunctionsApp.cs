using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Referral.Functions.Storage;

namespace Referral.Tests.Infrastructure;

/// <summary>The functions app with its real pipeline, pointed at the test run's Azurite and, where given, the test issuers.</summary>
public sealed class FunctionsApp(string storageConnectionString, TestIdentity? identity = null) : WebApplicationFactory<Functions.Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting(StorageAccount.SettingName, storageConnectionString);
        foreach (var (key, value) in identity?.Settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>A client that sends the given bearer token.</summary>
    public HttpClient ClientWith(string token)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}

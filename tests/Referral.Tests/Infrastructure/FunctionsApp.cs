using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Referral.Functions.Storage;

namespace Referral.Tests.Infrastructure;

/// <summary>The functions app with its real pipeline, pointed at the test run's Azurite and, where given, the test issuers.</summary>
public sealed class FunctionsApp(string storageConnectionString, TestIdentity? identity = null, IReadOnlyDictionary<string, string>? settings = null)
    : WebApplicationFactory<Functions.Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting(StorageAccount.SettingName, storageConnectionString);
        foreach (var (key, value) in (identity?.Settings ?? new Dictionary<string, string>()).Concat(settings ?? new Dictionary<string, string>()))
        {
            builder.UseSetting(key, value);
        }
    }
}

public static class FactoryClients
{
    /// <summary>A client of the app that sends the given bearer token.</summary>
    public static HttpClient ClientWith<TEntryPoint>(this WebApplicationFactory<TEntryPoint> app, string token)
        where TEntryPoint : class
    {
        ArgumentNullException.ThrowIfNull(app);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Referral.Tests.Infrastructure;

/// <summary>An app started as in Azure (Production) with the given settings, the test run's clock and test services where given.</summary>
public sealed class ProductionHost<TEntryPoint>(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<TEntryPoint>
    where TEntryPoint : class
{
    private readonly RecordingLoggerProvider log = new();

    /// <summary>
    /// Starts the app, which must fail, and returns the failure as text. The app's own <c>RunAsync</c> disposes its host
    /// when the start fails, and WebApplicationFactory's deferred host may then reach the disposed services first and throw
    /// an ObjectDisposedException in place of the failure (a race in the test harness, not in the app). The host logs the
    /// failure ("Hosting failed to start") before it is disposed, so that record is the one returned when there is one.
    /// </summary>
    public string StartFailure()
    {
        try
        {
            _ = Server;
        }
        catch (Exception thrown)
        {
            var logged = log.Entries.FirstOrDefault(e => e.Error is not null && e.Text.StartsWith("Microsoft.Extensions.Hosting.Internal.Host:", StringComparison.Ordinal));
            return logged.Error?.ToString() ?? thrown.ToString();
        }

        throw new Xunit.Sdk.XunitException("The app started, but it was expected to refuse to start.");
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(test =>
        {
            test.AddSingleton(TestClock.Provider);
            test.AddSingleton<ILoggerProvider>(log);
            services?.Invoke(test);
        });
    }
}

/// <summary>The settings each app needs to start outside Development, apart from its keys; tests add or override.</summary>
public static class ProductionSettings
{
    /// <summary>The smart-app's EHR allow-list, its own and the API's addresses.</summary>
    public static IReadOnlyDictionary<string, string?> SmartApp { get; } = new Dictionary<string, string?>
    {
        ["App:BaseUrl"] = "https://referral.example.org",
        ["Ehrs:0:Iss"] = "https://ehr.example.org/fhir",
        ["Ehrs:0:ClientId"] = "registered-client",
        ["Functions:BaseUrl"] = "https://functions.example.org",
    };

    /// <summary>The smart-app's therapist sign-in (Inbox:*).</summary>
    public static IReadOnlyDictionary<string, string?> Inbox { get; } = new Dictionary<string, string?>
    {
        ["Inbox:Authority"] = "https://login.example.org/tenant/v2.0",
        ["Inbox:ClientId"] = "therapist-inbox",
        ["Inbox:ClientSecret"] = "test-only-secret",
        ["Inbox:Scopes"] = "openid profile offline_access",
    };

    /// <summary>The functions app's identity-based storage (nothing is called before the options are checked), mail and links.</summary>
    public static IReadOnlyDictionary<string, string?> Functions { get; } = new Dictionary<string, string?>
    {
        ["AzureWebJobsStorage:tableServiceUri"] = "https://account.table.core.windows.net",
        ["AzureWebJobsStorage:queueServiceUri"] = "https://account.queue.core.windows.net",
        ["AzureWebJobsStorage:blobServiceUri"] = "https://account.blob.core.windows.net",
        ["Notifications:From"] = "referrals@example.org",
        ["Notifications:Smtp:Host"] = "smtp.example.org",
        ["SmartApp:BaseUrl"] = "https://referral.example.org",
    };

    /// <summary>The parts in order, a later value replacing an earlier one.</summary>
    public static Dictionary<string, string?> Of(params IReadOnlyDictionary<string, string?>[] parts)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, value) in parts.SelectMany(p => p))
        {
            settings[key] = value;
        }

        return settings;
    }
}

using Referral.Functions.Health;
using Referral.Functions.Storage;

namespace Referral.Functions;

public sealed class Program
{
    private Program()
    {
    }

    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        // Under the Functions host, the app must listen where the host forwards requests.
        var customHandlerPort = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");
        if (!string.IsNullOrEmpty(customHandlerPort))
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{customHandlerPort}");
        }

        builder.Services.AddSingleton<StorageAccount>();

        var app = builder.Build();

        // Fail at start, naming the missing setting, rather than on the first request.
        _ = app.Services.GetRequiredService<StorageAccount>();

        app.MapHealth();

        await app.RunAsync();
    }
}

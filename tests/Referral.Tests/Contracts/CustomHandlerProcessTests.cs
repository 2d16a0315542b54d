using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Referral.Functions.Health;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Contracts;

/// <summary>
/// The Functions host starts the built app from its own folder and forwards requests to the port it
/// names in FUNCTIONS_CUSTOMHANDLER_PORT: this starts the real executable the same way.
/// </summary>
public sealed class CustomHandlerProcessTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    [Fact]
    public async Task The_built_app_started_as_the_host_starts_it_listens_on_the_custom_handler_port()
    {
        var ct = TestContext.Current.CancellationToken;
        var appDir = Path.GetDirectoryName(typeof(Functions.Program).Assembly.Location)!;
        Assert.True(File.Exists(Path.Combine(appDir, "host.json")), "host.json must sit next to the executable.");
        Assert.True(File.Exists(Path.Combine(appDir, "health", "function.json")), "each function's folder must sit next to the executable.");

        var port = Loopback.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = appDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(appDir, "Referral.Functions.dll"));
        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = $"{port}";
        start.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment.Remove("ASPNETCORE_URLS");
        // What the host's app settings must hold in Azure besides storage and the issuers.
        start.Environment["Notifications__Sender"] = "PickupFolder";
        start.Environment["Notifications__PickupFolder"] = Path.Combine(Path.GetTempPath(), "referral-mail-" + Guid.NewGuid().ToString("N"));
        start.Environment["Notifications__From"] = "referrals@example.org";
        start.Environment["SmartApp__BaseUrl"] = "https://smart-app.example.org";
        // Checked at start outside Development (the write-back's key), so a deployment without it never starts.
        using (var rsa = System.Security.Cryptography.RSA.Create(2048))
        {
            start.Environment["BackendServices__Keys__0__PrivateKeyPem"] = rsa.ExportPkcs8PrivateKeyPem();
        }
        foreach (var (key, value) in identity.Settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var report = await PollHealthAsync(client, process, ct);
            Assert.Equal("ok", report.Status);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(ct);
        }
    }

    private static async Task<HealthReport> PollHealthAsync(HttpClient client, Process process, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(process.HasExited, $"The app exited with code {(process.HasExited ? process.ExitCode : 0)}.");
            try
            {
                using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative), ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return (await response.Content.ReadFromJsonAsync<HealthReport>(ct))!;
            }
            catch (HttpRequestException) when (waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200, ct);
            }
        }
    }

}

using System.Text.Json;
using Microsoft.Extensions.Options;
using Referral.Tests.Infrastructure;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Auth;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task A_configured_base_url_is_what_discovery_and_the_launch_use()
    {
        await using var app = new SandboxApp(new Dictionary<string, string?> { ["Sandbox:BaseUrl"] = "https://ehr.example.org/sandbox/" });
        using var client = app.CreateClient();

        var config = JsonDocument.Parse(await client.GetStringAsync("/fhir/.well-known/smart-configuration", TestContext.Current.CancellationToken)).RootElement;

        Assert.Equal("https://ehr.example.org/sandbox", config.GetProperty("issuer").GetString());
        Assert.Equal("https://ehr.example.org/sandbox/auth/token", config.GetProperty("token_endpoint").GetString());
    }

    [Theory]
    [InlineData("Sandbox:Clients:0:LaunchUrl", "not a url")]
    [InlineData("Sandbox:Clients:0:TokenEndpointAuthMethod", "tls_client_auth")]
    [InlineData("Sandbox:BaseUrl", "ftp://ehr.example.org")]
    public async Task A_client_or_base_url_that_could_never_work_stops_the_sandbox_at_start(string key, string value)
    {
        // Started as run.sh starts it (its Main, the setting on the command line), not through WebApplicationFactory:
        // when the app's start fails, the factory's deferred host may reach the already disposed services first and
        // report an ObjectDisposedException instead of the start's own error (it did, now and then, in CI).
        string[] args =
        [
            "--environment=Development", $"--contentRoot={Repository.PathTo("infra", "local", "SandboxEhr")}",
            "--urls=http://127.0.0.1:0", $"--{key}={value}",
        ];

        // A start that passed would serve until stopped: the wait bounds the test instead.
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => Program.Main(args).WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken));

        Assert.Contains(value, string.Join(" ", error.Failures), StringComparison.Ordinal);
    }
}

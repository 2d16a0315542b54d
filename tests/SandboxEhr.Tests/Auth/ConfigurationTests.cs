using System.Text.Json;
using Microsoft.Extensions.Options;
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
    public void A_client_or_base_url_that_could_never_work_stops_the_sandbox_at_start(string key, string value)
    {
        using var app = new SandboxApp(new Dictionary<string, string?> { [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => app.CreateClient());

        Assert.Contains(value, string.Join(" ", error.Failures), StringComparison.Ordinal);
    }
}

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>/launch and the inbox sign-in's callback are rate limited per client address: 429, Retry-After, a readable page.</summary>
public sealed class LaunchRateLimitTests(AzuriteFixture azurite)
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_launch_over_an_addresss_limit_is_429_with_retry_after_and_a_page_and_another_address_still_launches()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, new Dictionary<string, string?>
        {
            ["RateLimits:LaunchPermitLimit"] = "2",
            ["RateLimits:SignInPermitLimit"] = "2",
            ["RateLimits:Window"] = "01:00:00",
        });
        using var started = await harness.StartAsync();
        await using var app = harness.App.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<IStartupFilter, ClientAddressFromHeader>()));
        using var first = Client(app, "203.0.113.7");
        using var second = Client(app, "198.51.100.9");
        var launch = new Uri($"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}&launch=xyz-123", UriKind.Relative);

        for (var i = 0; i < 2; i++)
        {
            using var allowed = await first.GetAsync(launch, Ct);
            Assert.Equal(HttpStatusCode.Redirect, allowed.StatusCode);
        }

        using var refused = await first.GetAsync(launch, Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.StartsWith("text/html", refused.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.Contains("Too many attempts", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        using var other = await second.GetAsync(launch, Ct);
        Assert.Equal(HttpStatusCode.Redirect, other.StatusCode);

        // The inbox sign-in's callback has its own count per address.
        var signIn = new Uri("/signin-oidc", UriKind.Relative);
        for (var i = 0; i < 2; i++)
        {
            using var allowed = await first.GetAsync(signIn, Ct);
            Assert.NotEqual(HttpStatusCode.TooManyRequests, allowed.StatusCode);
        }

        using var signInRefused = await first.GetAsync(signIn, Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, signInRefused.StatusCode);
        Assert.True(signInRefused.Headers.Contains("Retry-After"));
        using var otherSignIn = await second.GetAsync(signIn, Ct);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, otherSignIn.StatusCode);
    }

    [Fact]
    public async Task Behind_App_Services_front_end_the_launch_is_limited_per_forwarded_client_address_and_a_spoofed_one_changes_nothing()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, new Dictionary<string, string?>
        {
            ["RateLimits:LaunchPermitLimit"] = "2",
            ["RateLimits:Window"] = "01:00:00",
            // What ASPNETCORE_FORWARDEDHEADERS_ENABLED=true (infra/modules/smartapp.bicep) sets on App Service for Linux.
            ["FORWARDEDHEADERS_ENABLED"] = "true",
        });
        using var started = await harness.StartAsync();
        using var proxy = harness.App.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri(SmartAppHarness.AppBase), AllowAutoRedirect = false });
        var launch = new Uri($"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}&launch=xyz-123", UriKind.Relative);

        // The front end appends the address it saw; the app takes that last one.
        async Task<HttpStatusCode> LaunchFromAsync(string forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, launch);
            request.Headers.Add("X-Forwarded-For", forwardedFor);
            using var response = await proxy.SendAsync(request, Ct);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Redirect, await LaunchFromAsync("203.0.113.7"));
        Assert.Equal(HttpStatusCode.Redirect, await LaunchFromAsync("203.0.113.7"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await LaunchFromAsync("203.0.113.7"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await LaunchFromAsync("192.0.2.55, 203.0.113.7"));
        Assert.Equal(HttpStatusCode.Redirect, await LaunchFromAsync("198.51.100.9"));
    }

    private static HttpClient Client(WebApplicationFactory<Referral.SmartApp.Program> app, string address)
    {
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri(SmartAppHarness.AppBase), AllowAutoRedirect = false, HandleCookies = true });
        client.DefaultRequestHeaders.Add(ClientAddressFromHeader.Header, address);
        return client;
    }

    /// <summary>The test server has no client address: each test client names its own.</summary>
    private sealed class ClientAddressFromHeader : IStartupFilter
    {
        public const string Header = "X-Test-Client-Address";

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                if (IPAddress.TryParse(http.Request.Headers[Header].ToString(), out var address))
                {
                    http.Connection.RemoteIpAddress = address;
                }

                return nextMiddleware(http);
            });
            next(app);
        };
    }
}

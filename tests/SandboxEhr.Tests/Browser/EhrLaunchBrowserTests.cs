using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Referral.Tests.Infrastructure;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Browser;

/// <summary>
/// Debian's Chromium opens the sandbox EHR, signs in, picks a patient and presses the launch button; the app
/// frame loads the registered launch URL (a tiny app served by the test) with iss and launch, and the tiny app
/// then completes the EHR launch inside the frame, as the smart-app will.
/// </summary>
public sealed class EhrLaunchBrowserTests : IClassFixture<Chromium>
{
    private readonly Chromium chromium;

    public EhrLaunchBrowserTests(Chromium chromium) => this.chromium = chromium;

    [Fact]
    public async Task Pressing_the_launch_button_loads_the_registered_launch_url_in_the_frame_with_iss_and_launch()
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var tinyApp = await TinyApp.StartAsync(cancellation);
        await using var sandbox = new SandboxApp(new Dictionary<string, string?>
        {
            ["Sandbox:Clients:0:LaunchUrl"] = $"{tinyApp.Base}/launch",
            ["Sandbox:Clients:0:RedirectUris:0"] = $"{tinyApp.Base}/callback",
        });
        var sandboxAddress = sandbox.StartOnLoopback();
        using var key = ClientKey.Rsa("smart-app-1");
        sandbox.Jwks.Serve("http://127.0.0.1:5200/.well-known/jwks.json", ClientKey.JwksJson(key));
        var page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });

        await page.GotoAsync(sandboxAddress.ToString());
        await Accessibility.AssertNoViolationsAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in as Dr. Amelia Stone, MD" }).ClickAsync();
        await Accessibility.AssertNoViolationsAsync(page);
        await Chromium.ScreenshotAsync(page, "sandbox-ehr-patients");
        await page.GetByRole(AriaRole.Link, new() { Name = "Helen Park" }).ClickAsync();
        Assert.Equal("Helen Park", await page.Locator("h1").InnerTextAsync());
        await Accessibility.AssertNoViolationsAsync(page);
        await Chromium.ScreenshotAsync(page, "sandbox-ehr-chart");

        await page.GetByRole(AriaRole.Button, new() { Name = "Medical massage referral" }).ClickAsync();
        var frame = page.Frame("app-frame")!;
        // Waiting for the page's heading, then checking the address: a wait for the address itself missed, now and then,
        // a navigation that committed while the wait was being set up (the frame stood at the address, the wait timed out).
        await frame.GetByRole(AriaRole.Heading, new() { Name = "Test app launched" }).WaitForAsync();
        Assert.StartsWith($"{tinyApp.Base}/launch", frame.Url, StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "sandbox-ehr-launched");

        var query = QueryHelpers.ParseQuery(new Uri(frame.Url).Query);
        Assert.Equal($"{sandbox.Base}/fhir", query["iss"]);
        Assert.False(string.IsNullOrEmpty(query["launch"]));
        Assert.Equal(frame.Url, Assert.Single(tinyApp.Launches));

        // The app's side, as a SMART app does it: discovery from iss, then authorize in the same frame.
        await frame.GetByRole(AriaRole.Link, new() { Name = "Authorize" }).ClickAsync();
        await frame.GetByRole(AriaRole.Heading, new() { Name = "Test app authorized" }).WaitForAsync();
        Assert.StartsWith($"{tinyApp.Base}/callback", frame.Url, StringComparison.Ordinal);
        var callback = QueryHelpers.ParseQuery(new Uri(frame.Url).Query);
        Assert.Equal(tinyApp.State, callback["state"]);
        await Chromium.ScreenshotAsync(page, "sandbox-ehr-authorized-in-frame");

        using var http = new HttpClient();
        using var tokenResponse = await http.PostAsync(new Uri($"{sandbox.Base}/auth/token"), SmartFlow.Form(
            ("grant_type", "authorization_code"),
            ("code", callback["code"].ToString()),
            ("redirect_uri", $"{tinyApp.Base}/callback"),
            ("code_verifier", tinyApp.Pkce.Verifier),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", key.Assertion("medical-massage-referral", $"{sandbox.Base}/auth/token", sandbox.Time.GetUtcNow()))), cancellation);
        var tokens = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync(cancellation)).RootElement;
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        Assert.Equal(SandboxEhr.Data.SyntheticIds.LymphedemaPatient, tokens.GetProperty("patient").GetString());
        await page.CloseAsync();
    }

    /// <summary>A stand-in for the smart-app: records its launches and sends the frame to the sandbox's authorize endpoint.</summary>
    private sealed class TinyApp : IAsyncDisposable
    {
        private readonly WebApplication app;

        private TinyApp(WebApplication app) => this.app = app;

        public string Base { get; private set; } = "";

        public ConcurrentQueue<string> Launches { get; } = new();

        public Pkce Pkce { get; } = Pkce.Create();

        public string State { get; } = Guid.NewGuid().ToString();

        public static async Task<TinyApp> StartAsync(CancellationToken cancellationToken)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
            builder.Services.AddHttpClient();
            var app = builder.Build();
            var tiny = new TinyApp(app);
            app.MapGet("/launch", async (HttpRequest request, IHttpClientFactory clients) =>
            {
                tiny.Launches.Enqueue($"{tiny.Base}{request.Path}{request.QueryString}");
                var iss = request.Query["iss"].ToString();
                using var http = clients.CreateClient();
                var configuration = JsonDocument.Parse(await http.GetStringAsync(new Uri($"{iss}/.well-known/smart-configuration"))).RootElement;
                var authorize = QueryHelpers.AddQueryString(configuration.GetProperty("authorization_endpoint").GetString()!, new Dictionary<string, string?>
                {
                    ["response_type"] = "code",
                    ["client_id"] = "medical-massage-referral",
                    ["redirect_uri"] = $"{tiny.Base}/callback",
                    ["scope"] = "openid fhirUser launch patient/Patient.rs patient/Condition.rs",
                    ["state"] = tiny.State,
                    ["aud"] = iss,
                    ["launch"] = request.Query["launch"].ToString(),
                    ["code_challenge"] = tiny.Pkce.Challenge,
                    ["code_challenge_method"] = "S256",
                });
                return Results.Content(Page("Test app launched", $"<a href=\"{WebUtility.HtmlEncode(authorize)}\">Authorize</a>"), "text/html");
            });
            app.MapGet("/callback", () => Results.Content(Page("Test app authorized", "<p>Code received.</p>"), "text/html"));
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            tiny.Base = new Uri(address).GetLeftPart(UriPartial.Authority);
            return tiny;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        private static string Page(string title, string body) =>
            $"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>";
    }
}

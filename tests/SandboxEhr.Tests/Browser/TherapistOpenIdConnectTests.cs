using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Referral.Tests.Infrastructure;
using SandboxEhr.Data;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Browser;

/// <summary>
/// The therapist inbox's sign-in with ASP.NET Core's own OpenIdConnect handler at its defaults (code, PKCE,
/// form_post, nonce, client_secret_post), and the access token it gets checked by the JwtBearer handler the
/// functions app will use: what later issues build on, proved against the sandbox in Chromium.
/// </summary>
public sealed class TherapistOpenIdConnectTests : IClassFixture<Chromium>
{
    private readonly Chromium chromium;

    public TherapistOpenIdConnectTests(Chromium chromium) => this.chromium = chromium;

    [Fact]
    public async Task A_therapist_signs_in_to_an_app_using_the_openidconnect_handler_and_its_access_token_passes_jwtbearer()
    {
        var cancellation = TestContext.Current.CancellationToken;
        var inboxPort = FreePort();
        var inboxBase = $"http://127.0.0.1:{inboxPort}";
        await using var sandbox = new SandboxApp(new Dictionary<string, string?>
        {
            ["Sandbox:Clients:2:RedirectUris:0"] = $"{inboxBase}/signin-oidc",
            ["Sandbox:Clients:2:PostLogoutRedirectUris:0"] = $"{inboxBase}/signout-callback-oidc",
        });
        sandbox.StartOnLoopback();
        await using var inbox = await InboxApp.StartAsync(inboxPort, sandbox.Base, sandbox.Time, cancellation);
        var page = await chromium.Browser.NewPageAsync();

        await page.GotoAsync($"{inboxBase}/inbox");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to the therapist inbox" }).WaitForAsync();
        await Accessibility.AssertNoViolationsAsync(page);
        await Chromium.ScreenshotAsync(page, "sandbox-ehr-therapist-sign-in");
        await page.GetByLabel("Olivia Hart, LMT").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        // Waited for by its heading, then its address: a wait for the address and the load event can miss a navigation
        // that commits while it is set up (seen in the referral tests' CI).
        await page.GetByRole(AriaRole.Heading, new() { Name = "Inbox", Exact = true }).WaitForAsync();
        Assert.Equal($"{inboxBase}/inbox", page.Url);

        var text = await page.Locator("main").InnerTextAsync();
        Assert.Contains($"fhirUser: PractitionerRole/{SyntheticIds.OncologyLymphTherapist}", text, StringComparison.Ordinal);
        Assert.Contains("name: Olivia Hart, LMT", text, StringComparison.Ordinal);
        Assert.Contains("api: 200", text, StringComparison.Ordinal);
        Assert.Contains($"api-user: {SyntheticIds.OncologyLymphTherapist}", text, StringComparison.Ordinal);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Signed out", Exact = true }).WaitForAsync();
        Assert.Equal($"{inboxBase}/signed-out", page.Url);
        await page.CloseAsync();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// A stand-in for the inbox: cookie session plus OpenIdConnect, and an API behind JwtBearer, as the real apps will be
    /// set up, on the sandbox's clock (tokens are checked against it too).
    /// </summary>
    private sealed class InboxApp(WebApplication app) : IAsyncDisposable
    {
        public static async Task<InboxApp> StartAsync(int port, string authority, TimeProvider time, CancellationToken cancellationToken)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, port));
            builder.Services.AddSingleton(time);
            builder.Services.AddHttpClient();
            builder.Services.AddAuthentication(options =>
                {
                    options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                    options.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
                })
                .AddCookie()
                .AddOpenIdConnect(options =>
                {
                    options.Authority = authority;
                    options.RequireHttpsMetadata = false;
                    options.ClientId = SmartFlow.InboxId;
                    options.ClientSecret = SmartFlow.InboxSecret;
                    options.ResponseType = "code";
                    options.Scope.Add("fhirUser");
                    options.Scope.Add("referral.inbox");
                    options.SaveTokens = true;
                    options.MapInboundClaims = false;
                    options.SignedOutCallbackPath = "/signout-callback-oidc";
                    options.SignedOutRedirectUri = "/signed-out";
                    options.TokenValidationParameters.LifetimeValidator = TestClock.Lifetime(time);
                })
                .AddJwtBearer("api", options =>
                {
                    options.Authority = authority;
                    options.RequireHttpsMetadata = false;
                    options.Audience = "medical-massage-functions";
                    options.MapInboundClaims = false;
                    options.TokenValidationParameters.LifetimeValidator = TestClock.Lifetime(time);
                });
            builder.Services.AddAuthorization();
            var app = builder.Build();
            app.UseAuthentication();
            app.UseAuthorization();

            app.MapGet("/inbox", async (HttpContext context, IHttpClientFactory clients) =>
            {
                var accessToken = await context.GetTokenAsync("access_token");
                using var http = clients.CreateClient();
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{port}/api/me"));
                request.Headers.Authorization = new("Bearer", accessToken);
                using var api = await http.SendAsync(request);
                var user = context.User;
                var body = $"<p>fhirUser: {user.FindFirstValue("fhirUser")}</p><p>name: {user.FindFirstValue("name")}</p>"
                    + $"<p>api: {(int)api.StatusCode}</p><p>api-user: {await api.Content.ReadAsStringAsync()}</p>"
                    + "<form method=\"post\" action=\"/sign-out\"><button type=\"submit\">Sign out</button></form>";
                return Results.Content(Page("Inbox", body), "text/html");
            }).RequireAuthorization();
            app.MapPost("/sign-out", () => Results.SignOut(authenticationSchemes: [CookieAuthenticationDefaults.AuthenticationScheme, OpenIdConnectDefaults.AuthenticationScheme]))
                .DisableAntiforgery();
            app.MapGet("/signed-out", () => Results.Content(Page("Signed out", ""), "text/html"));
            app.MapGet("/api/me", (ClaimsPrincipal user) => user.FindFirstValue("sub"))
                .RequireAuthorization(policy => policy.AddAuthenticationSchemes("api").RequireAuthenticatedUser().RequireClaim("scope"));

            await app.StartAsync(cancellationToken);
            return new InboxApp(app);
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

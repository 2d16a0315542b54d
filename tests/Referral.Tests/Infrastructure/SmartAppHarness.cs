using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referral.Functions.Therapists;
using Referral.SmartApp.Referrals;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The smart-app with its real pipeline against a <see cref="FakeEhr"/> (WireMock) and the real functions app
/// (in-process on Azurite, reached through its TestServer). The functions app checks the smart-app's tokens against
/// the JWKS the smart-app publishes, which the fake EHR also uses to check client assertions. Both apps and the fake
/// EHR's tokens run on one clock, <see cref="Time"/>.
/// </summary>
public sealed partial class SmartAppHarness : IAsyncDisposable
{
    public const string AppBase = "https://localhost";

    /// <summary>One key folder per test run: development keys are made once, as on a developer's machine.</summary>
    public static readonly string KeyDirectory = Path.Combine(Path.GetTempPath(), "referral-tests-keys-" + Environment.ProcessId);

    private readonly Dictionary<string, string?> settings;
    private readonly Func<HttpMessageHandler> functionsHandler;
    private readonly Action<IServiceCollection>? testServices;

    public SmartAppHarness(
        AzuriteFixture azurite,
        FakeEhr ehr,
        IReadOnlyDictionary<string, string?>? extra = null,
        Func<HttpMessageHandler>? functionsHandler = null,
        TestIdentity? therapists = null,
        bool ehrTakesTheReferral = false,
        IReadOnlyDictionary<string, string?>? functionsExtra = null,
        Action<IServiceCollection>? appServices = null,
        Action<IServiceCollection>? functionsServices = null)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        Ehr = ehr;
        ehr.Time = Time;
        EhrTakesTheReferral = ehrTakesTheReferral;
        var functionsSettings = new Dictionary<string, string?>
        {
            ["Auth:Audience"] = "medical-massage-functions",
            ["Auth:RequireHttpsMetadata"] = "false",
            ["Auth:Physician:Issuer"] = AppBase,
            ["Auth:Physician:JwksUrl"] = ehr.Base + "/smart-app/jwks.json",
            // Therapists sign in elsewhere; where a test needs them, the test issuers stand in for their provider.
            ["Auth:Therapist:Authority"] = therapists?.TherapistAuthority ?? ehr.Base,
        };
        if (ehrTakesTheReferral)
        {
            // The functions write-back, the one writer of the referral into the EHR, registered there for backend services.
            functionsSettings["Ehrs:0:Iss"] = ehr.FhirBase;
            functionsSettings["Ehrs:0:ClientId"] = FakeEhr.BackendClientId;
            functionsSettings["Ehrs:0:WriteBack"] = "true";
            functionsSettings["Ehrs:0:WriteServiceRequest"] = "true";
            // Retries come at once in a test; host.json's 30 s is the backoff in Azure.
            functionsSettings["TriggerRunner:VisibilityTimeout"] = "00:00:00";
        }

        foreach (var (key, value) in functionsExtra ?? new Dictionary<string, string?>())
        {
            functionsSettings[key] = value;
        }

        Functions = new FunctionsApp(azurite.ConnectionString, settings: functionsSettings, time: Time) { TestServices = functionsServices };
        settings = new Dictionary<string, string?>
        {
            ["App:BaseUrl"] = AppBase,
            ["Ehrs:0:Iss"] = ehr.FhirBase,
            ["Ehrs:0:ClientId"] = FakeEhr.ClientId,
            ["Ehrs:0:Name"] = "Test EHR",
            ["Ehrs:0:Scopes"] = "",
            ["Functions:BaseUrl"] = "http://functions.test",
            ["SigningKeys:DevelopmentDirectory"] = KeyDirectory,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        this.functionsHandler = functionsHandler ?? (() => Functions.Server.CreateHandler());
        testServices = appServices;
        App = new SmartApp(settings, Time, this.functionsHandler, appServices);
    }

    /// <summary>Another instance of the smart-app with the same settings, clock and functions app (the caller disposes it).</summary>
    public SmartApp AnotherInstance() => new(settings, Time, functionsHandler, testServices);

    public FakeEhr Ehr { get; }

    /// <summary>Whether the functions app writes the referral into the fake EHR (its write-back, with backend services).</summary>
    public bool EhrTakesTheReferral { get; }

    public FunctionsApp Functions { get; }

    public SmartApp App { get; }

    /// <summary>The one clock of both apps (and of the fake EHR's tokens), standing at the test run's now until a test moves it.</summary>
    public FakeTimeProvider Time { get; } = TestClock.Fake();

    /// <summary>Starts both apps, seeds the sandbox's therapists, and publishes the app's JWKS where the EHR and the functions app read it.</summary>
    public async Task<HttpClient> StartAsync()
    {
        var directory = Functions.Services.GetRequiredService<TherapistDirectory>();
        foreach (var role in TherapistSeed.Therapists)
        {
            await directory.UpsertAsync(role, TestContext.Current.CancellationToken);
        }

        // Traffic reaches the API once it is ready, as readiness holds it in Azure: Firely's validator, loaded in the
        // background from the API's start (PackageWarmUp), can take longer than the smart-app's 15 s call timeout.
        await Functions.Services.GetRequiredService<Referral.Functions.Conformance.PackageWarmUp>().Package.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);

        var browser = Browser();
        var jwks = await browser.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), TestContext.Current.CancellationToken);
        Ehr.ClientJwks = jwks;
        var apiJwks = await browser.GetStringAsync(new Uri("/.well-known/api-jwks.json", UriKind.Relative), TestContext.Current.CancellationToken);
        Ehr.Server.Given(Request.Create().WithPath("/smart-app/jwks.json").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(apiJwks));
        if (EhrTakesTheReferral)
        {
            using var functions = Functions.CreateClient();
            Ehr.BackendClientJwks = await functions.GetStringAsync(new Uri("/api/backend/jwks.json", UriKind.Relative), TestContext.Current.CancellationToken);
        }

        return browser;
    }

    /// <summary>A browser-like client: cookies kept (over https, so Secure cookies are sent), redirects not followed.</summary>
    public HttpClient Browser() => App.CreateClient(new WebApplicationFactoryClientOptions
    {
        BaseAddress = new Uri(AppBase),
        AllowAutoRedirect = false,
        HandleCookies = true,
    });

    /// <summary>The EHR launch up to the form: /launch, the EHR's authorize (redirecting back), /callback. Returns the form's address.</summary>
    public async Task<LaunchSteps> LaunchAsync(HttpClient browser, bool standalone = false)
    {
        var ct = TestContext.Current.CancellationToken;
        var (authorize, callback, launchCookies) = await AuthorizeAsync(browser, standalone);
        using var back = await browser.GetAsync(new Uri(callback.PathAndQuery, UriKind.Relative), ct);
        var body = await back.Content.ReadAsStringAsync(ct);
        return new LaunchSteps(authorize, callback, back.StatusCode, back.Headers.Location?.ToString(), body, launchCookies);
    }

    /// <summary>The launch up to the EHR's answer: /launch and the EHR's authorize. Returns the callback the EHR sends the browser to, not yet followed.</summary>
    public async Task<(Uri Authorize, Uri Callback, IReadOnlyList<string> LaunchCookies)> AuthorizeAsync(HttpClient browser, bool standalone = false)
    {
        ArgumentNullException.ThrowIfNull(browser);
        var ct = TestContext.Current.CancellationToken;
        var launchUrl = standalone ? $"/launch?iss={Uri.EscapeDataString(Ehr.FhirBase)}" : $"/launch?iss={Uri.EscapeDataString(Ehr.FhirBase)}&launch=xyz-123";
        using var launch = await browser.GetAsync(new Uri(launchUrl, UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.Redirect, launch.StatusCode);
        var authorize = launch.Headers.Location!;
        using var ehrClient = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var approved = await ehrClient.GetAsync(authorize, ct);
        Assert.Equal(HttpStatusCode.Redirect, approved.StatusCode);
        return (authorize, approved.Headers.Location!, launch.Headers.TryGetValues("Set-Cookie", out var cookies) ? [.. cookies] : []);
    }

    public static string ContextIdOf(string formPath) => ContextPattern().Match(formPath).Groups[1].Value;

    /// <summary>The antiforgery token of the first form on a page.</summary>
    public static string AntiforgeryToken(string html) => WebUtility.HtmlDecode(TokenPattern().Match(html).Groups[1].Value);

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Functions.DisposeAsync();
    }

    [GeneratedRegex("/context/([^/]+)/")]
    private static partial Regex ContextPattern();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    public sealed record LaunchSteps(Uri Authorize, Uri Callback, HttpStatusCode CallbackStatus, string? FormPath, string CallbackBody, IReadOnlyList<string> LaunchCookies);

    public sealed class SmartApp(
        IReadOnlyDictionary<string, string?> settings, TimeProvider time, Func<HttpMessageHandler> functions, Action<IServiceCollection>? testServices = null)
        : WebApplicationFactory<Referral.SmartApp.Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton(time);
                services.AddHttpClient<FunctionsApi>().ConfigurePrimaryHttpMessageHandler(functions);
                testServices?.Invoke(services);
            });
        }
    }
}

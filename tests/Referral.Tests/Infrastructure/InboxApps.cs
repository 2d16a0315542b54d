using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referral.Functions.Therapists;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using SandboxEhr.Fhir;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The therapist inbox against real parts: the sandbox EHR on a loopback port as the therapists' OpenID Connect
/// provider (the inbox signs in there with the real handler, the functions app checks its access tokens), the functions
/// app on Azurite, and the smart-app. Physicians' referrals are sent with tokens of <see cref="TestIdentity"/>'s
/// smart-app issuer. Each test adds therapists of its own (to the sandbox and to the functions directory), so tests
/// sharing the stack and Azurite never see each other's referrals. The three apps, and the tokens minted here, run on
/// one clock: <see cref="Time"/>.
/// </summary>
public sealed partial class InboxApps : IAsyncDisposable
{
    /// <summary>
    /// The practice's time zone, an ordinary one west of UTC: the inbox's (where session times are typed) and the
    /// prescribing physicians' (where the referrals' validity dates are days).
    /// </summary>
    public static readonly TimeZoneInfo PracticeZone = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");

    private readonly SandboxHost sandbox;
    private readonly SmartAppHost? kestrelApp;
    private readonly SmartAppHarness.SmartApp? testApp;
    private readonly IReadOnlyDictionary<string, string?> appSettings;
    private readonly ServerLog? log;

    private InboxApps(
        FakeTimeProvider time, SandboxHost sandbox, string sandboxBase, FunctionsApp functions, TestIdentity identity, SmartAppHost? kestrelApp, SmartAppHarness.SmartApp? testApp, string appBase,
        IReadOnlyDictionary<string, string?> appSettings, ServerLog? log)
    {
        this.appSettings = appSettings;
        this.log = log;
        Time = time;
        this.sandbox = sandbox;
        SandboxBase = sandboxBase;
        Functions = functions;
        Identity = identity;
        this.kestrelApp = kestrelApp;
        this.testApp = testApp;
        AppBase = appBase;
    }

    public string SandboxBase { get; }

    public FunctionsApp Functions { get; }

    public TestIdentity Identity { get; }

    /// <summary>The smart-app's base URL: https://localhost (TestServer) or a loopback port (for a browser).</summary>
    public string AppBase { get; }

    /// <summary>The one clock of the sandbox, the functions app and the smart-app: tests move it to make tokens look old.</summary>
    public FakeTimeProvider Time { get; }

    public IServiceProvider AppServices => testApp?.Services ?? kestrelApp!.Services;

    /// <summary>
    /// What the smart-app asked of the functions API, call by call (in the TestServer stack only: in the browser's, the
    /// two talk over loopback).
    /// </summary>
    public ApiCallLog Api { get; } = new();

    /// <summary>
    /// Starts the stack: the smart-app in a TestServer at https://localhost, or on a loopback port when
    /// <paramref name="forBrowser"/>; <paramref name="appSettings"/> are added to the smart-app's settings, and
    /// <paramref name="functionsSettings"/> (given the sandbox's base URL) to the functions app's.
    /// </summary>
    public static async Task<InboxApps> StartAsync(
        AzuriteFixture azurite, bool forBrowser = false, IReadOnlyDictionary<string, string?>? appSettings = null,
        Func<string, IReadOnlyDictionary<string, string?>>? functionsSettings = null)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        var sandboxPort = Loopback.FreePort();
        var sandboxBase = $"http://127.0.0.1:{sandboxPort}";
        var appPort = forBrowser ? Loopback.FreePort() : 0;
        var appBase = forBrowser ? $"http://127.0.0.1:{appPort}" : SmartAppHarness.AppBase;
        var time = TestClock.Fake();
        // For a browser, the apps' log lines go to one file (named in the test's output), as a local run's do.
        var log = forBrowser ? ServerLog.ForTest(sandboxPort.ToString(System.Globalization.CultureInfo.InvariantCulture), time) : null;

        var sandbox = new SandboxHost(new Dictionary<string, string?>
        {
            ["Sandbox:BaseUrl"] = sandboxBase,
            ["Sandbox:Clients:2:RedirectUris:0"] = appBase + "/signin-oidc",
            ["Sandbox:Clients:2:PostLogoutRedirectUris:0"] = appBase + "/signout-callback-oidc",
        }, time)
        { Log = log?.For("ehr") };
        sandbox.UseKestrel(o => o.Listen(IPAddress.Loopback, sandboxPort));
        sandbox.StartServer();

        var identity = new TestIdentity();
        var functionSettings = new Dictionary<string, string?>
        {
            ["Auth:Therapist:Authority"] = sandboxBase,
        };
        foreach (var (key, value) in functionsSettings?.Invoke(sandboxBase) ?? new Dictionary<string, string?>())
        {
            functionSettings[key] = value;
        }

        var functions = new FunctionsApp(azurite.ConnectionString, identity, functionSettings, time)
        {
            TestServices = log is null ? null : services => services.AddSingleton(log.For("api")),
            WorkerTestServices = log is null ? null : services => services.AddSingleton(log.For("worker")),
        };
        var functionsBase = "http://functions.test";
        if (forBrowser)
        {
            var functionsPort = Loopback.FreePort();
            functions.UseKestrel(o => o.Listen(IPAddress.Loopback, functionsPort));
            functions.StartServer();
            functionsBase = $"http://127.0.0.1:{functionsPort}";
        }
        else
        {
            _ = functions.Server;
        }

        var settings = new Dictionary<string, string?>
        {
            ["App:BaseUrl"] = appBase,
            ["Ehrs:0:Iss"] = sandboxBase + "/fhir",
            ["Functions:BaseUrl"] = functionsBase,
            ["SigningKeys:DevelopmentDirectory"] = SmartAppHarness.KeyDirectory,
            ["Inbox:Authority"] = sandboxBase,
            ["Inbox:ClientId"] = "therapist-inbox",
            ["Inbox:ClientSecret"] = "development-only-therapist-inbox-secret",
            ["Inbox:Scopes"] = "openid profile fhirUser referral.inbox offline_access",
            ["Inbox:RequireHttpsMetadata"] = "false",
            ["Inbox:TimeZone"] = PracticeZone.Id,
        };
        foreach (var (key, value) in appSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        InboxApps stack;
        if (forBrowser)
        {
            var app = new SmartAppHost(settings, time) { Log = log!.For("app") };
            app.StartOnLoopback(appPort);
            stack = new InboxApps(time, sandbox, sandboxBase, functions, identity, app, null, appBase, settings, log);
        }
        else
        {
            InboxApps? created = null;
            var app = new SmartAppHarness.SmartApp(settings, time, () => created!.Api.Recording(functions.Server.CreateHandler()));
            stack = created = new InboxApps(time, sandbox, sandboxBase, functions, identity, null, app, appBase, settings, log);
        }

        return stack;
    }

    /// <summary>
    /// A therapist of this test: a Practitioner and a massage-therapist PractitionerRole in the sandbox (who can sign in
    /// there) and the same PractitionerRole in the functions directory (who can receive referrals). Returns the role id.
    /// </summary>
    public async Task<Therapist> AddTherapistAsync(string given, string family, string? appRole = null)
    {
        var store = sandbox.Services.GetRequiredService<FhirStore>();
        var practitioner = store.Create(new Practitioner
        {
            Active = true,
            Name = [new HumanName { Given = [given], Family = family, Suffix = ["LMT"] }],
        });
        var role = store.Create(new PractitionerRole
        {
            Active = true,
            Practitioner = new ResourceReference($"Practitioner/{practitioner.Id}"),
            Code =
            [
                MedicalMassageServiceRequest.PerformerType.ToCodeableConcept(),
                .. appRole is null ? [] : new[] { new CodeableConcept(SandboxEhr.Data.CodeSystems.SandboxAppRole, appRole) },
            ],
        });
        var name = $"{given} {family}, LMT";
        await Functions.Services.GetRequiredService<TherapistDirectory>()
            .UpsertAsync(ReferralScenario.Role(role.Id!, name), TestContext.Current.CancellationToken);
        return new Therapist(role.Id!, name);
    }

    /// <summary>
    /// Sends a valid carpal-tunnel referral (right wrist and hand, 6 sessions) written a week ago and valid since that
    /// day, to the therapist, as a physician of a fresh patient; returns its id.
    /// </summary>
    public async Task<string> SendReferralAsync(Therapist therapist, Func<ReferralDraft, ReferralDraft>? change = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var physician = $"dr-{suffix}";
        var patient = $"pat-{suffix}";
        var now = Time.GetUtcNow();
        var writtenAt = now.AddDays(-7);
        var draft = ReferralScenario.DraftFactory.Draft(PracticeTime.DateIn(writtenAt, PracticeZone)) with
        {
            TimeZone = PracticeZone.Id,
            Patient = new ResourceRef($"Patient/{patient}", $"Alex Doe {suffix}"),
            Requester = new ResourceRef($"Practitioner/{physician}", "Dr. Rivera"),
            Therapist = new ResourceRef($"PractitionerRole/{therapist.Id}", therapist.Name),
            Note = "Night-time numbness.",
            Coverage = new CoverageDraft { Type = Referral.Model.Terminology.CoverageType.WorkersCompensation, PayorName = "State Fund", ClaimNumber = "WC-77" },
        };
        draft = change?.Invoke(draft) ?? draft;
        using var client = Functions.ClientWith(Identity.Physician(physician, patient, at: now));
        using var response = await client.PostAsync(
            new Uri("/api/fhir/ServiceRequest", UriKind.Relative), ReferralScenario.Body(ReferralScenario.Json(draft, writtenAt)), TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var id = (await ReferralScenario.ReadAsync<ServiceRequest>(response)).Id!;
        Physicians[id] = (physician, patient);
        return id;
    }

    /// <summary>Who sent each referral (physician and patient ids), for acting as that physician later.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, (string Physician, string Patient)> Physicians { get; } = new(StringComparer.Ordinal);

    /// <summary>The therapist's own access token for the functions API, minted by the sandbox (for arranging through the API).</summary>
    public HttpClient ApiAsTherapist(string accessToken) => Functions.ClientWith(accessToken);

    /// <summary>The smart-app (TestServer mode).</summary>
    public SmartAppHarness.SmartApp App => testApp!;

    /// <summary>Another smart-app instance (TestServer mode) with the same settings and clock; the caller disposes it.</summary>
    public SmartAppHarness.SmartApp AnotherInstance() => new(appSettings, Time, () => Functions.Server.CreateHandler());

    /// <summary>A browser-like client of the smart-app (TestServer mode): cookies kept, redirects not followed.</summary>
    public HttpClient Browser() => testApp!.CreateClient(new WebApplicationFactoryClientOptions
    {
        BaseAddress = new Uri(AppBase),
        AllowAutoRedirect = false,
        HandleCookies = true,
    });

    /// <summary>A browser-like client whose cookie jar the test holds (to plant a cookie), redirects not followed.</summary>
    public HttpClient Browser(CookieContainer jar) =>
        testApp!.CreateDefaultClient(new Uri(AppBase), new Microsoft.AspNetCore.Mvc.Testing.Handlers.CookieContainerHandler(jar));

    /// <summary>
    /// The whole OpenID Connect sign-in of a browser that opened <paramref name="path"/>: the app's redirect to the
    /// sandbox, the sandbox's sign-in page (the therapist chosen, Approve), its form_post back to /signin-oidc. Returns
    /// where the app sends the browser then (the page first asked for).
    /// </summary>
    public async Task<SignIn> SignInAsync(HttpClient browser, Therapist therapist, string path = "/inbox")
    {
        ArgumentNullException.ThrowIfNull(browser);
        ArgumentNullException.ThrowIfNull(therapist);
        var ct = TestContext.Current.CancellationToken;
        using var challenge = await browser.GetAsync(new Uri(path, UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        var authorize = challenge.Headers.Location!;
        Assert.StartsWith(SandboxBase + "/auth/authorize", authorize.ToString(), StringComparison.Ordinal);

        using var provider = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = new Uri(SandboxBase),
        };
        using var toConsent = await provider.GetAsync(authorize, ct);
        Assert.Equal(HttpStatusCode.Redirect, toConsent.StatusCode);
        var consentUrl = toConsent.Headers.Location!.ToString();
        var consentPage = await provider.GetStringAsync(new Uri(consentUrl, UriKind.RelativeOrAbsolute), ct);
        var requestId = HiddenValue(consentPage, "request");
        var token = SmartAppHarness.AntiforgeryToken(consentPage);
        using var approved = await provider.PostAsync(new Uri("/auth/consent?handler=Approve", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["request"] = requestId,
            ["UserId"] = therapist.Id,
            ["__RequestVerificationToken"] = token,
        }), ct);
        var formPost = await approved.Content.ReadAsStringAsync(ct);
        Assert.True(approved.StatusCode == HttpStatusCode.OK, formPost);
        var fields = FormPostField().Matches(formPost).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));

        using var callback = await browser.PostAsync(new Uri("/signin-oidc", UriKind.Relative), new FormUrlEncodedContent(fields), ct);
        var body = await callback.Content.ReadAsStringAsync(ct);
        Assert.True(callback.StatusCode == HttpStatusCode.Redirect, $"{callback.StatusCode}: {body}");
        return new SignIn(callback.Headers.Location!.ToString(), callback.Headers.TryGetValues("Set-Cookie", out var cookies) ? [.. cookies] : []);
    }

    /// <summary>A therapist of this test, signed in, with a referral they accepted on its page.</summary>
    public async Task<(HttpClient Browser, string Id)> AcceptedReferralAsync(string given, string family, int sessions = 6, DateOnly? validFrom = null, DateOnly? validUntil = null)
    {
        var therapist = await AddTherapistAsync(given, family);
        var id = await SendReferralAsync(therapist, d => d with
        {
            Sessions = sessions,
            ValidFrom = validFrom ?? d.ValidFrom,
            ValidUntil = validUntil ?? d.ValidUntil,
        });
        var browser = Browser();
        await SignInAsync(browser, therapist);
        var html = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), TestContext.Current.CancellationToken);
        using var accepted = await browser.PostAsync(new Uri($"/inbox/referrals/{id}?handler=Accept", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = SmartAppHarness.AntiforgeryToken(html),
        }), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.SeeOther, accepted.StatusCode);
        return (browser, id);
    }

    /// <summary>
    /// The session form's fields, the start typed as the practice's local time: 45 minutes on the right wrist,
    /// myofascial release, pain 6 then 3, wrist extension 55 degrees, a SOAP note.
    /// </summary>
    public static List<(string Name, string Value)> Session(DateTimeOffset start, string site = "Wrist:Right", string? subjective = null) =>
    [
        ("Input.Date", TimeZoneInfo.ConvertTime(start, PracticeZone).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        ("Input.Time", TimeZoneInfo.ConvertTime(start, PracticeZone).ToString("HH:mm", CultureInfo.InvariantCulture)),
        ("Input.Minutes", "45"),
        ("Input.Sites", site),
        ("Input.Techniques", "myofascial-release"),
        ("Input.PainBefore", "6"),
        ("Input.PainAfter", "3"),
        ("Input.Joint", "Wrist:Right"),
        ("Input.Movement", "rom-extension"),
        ("Input.Degrees", "55"),
        ("Input.Subjective", subjective ?? "Numbness at night."),
        ("Input.Plan", "Same next week."),
    ];

    /// <summary>Posts the session form of the referral (with the antiforgery token of a fresh GET of the form).</summary>
    public static async Task<HttpResponseMessage> PostSessionAsync(HttpClient browser, string id, List<(string Name, string Value)> fields)
    {
        var path = $"/inbox/referrals/{id}/sessions/new";
        var html = await browser.GetStringAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
        var form = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        form.Add(new("__RequestVerificationToken", SmartAppHarness.AntiforgeryToken(html)));
        return await browser.PostAsync(new Uri(path, UriKind.Relative), new FormUrlEncodedContent(form), TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (testApp is not null)
        {
            await testApp.DisposeAsync();
        }

        if (kestrelApp is not null)
        {
            await kestrelApp.DisposeAsync();
        }

        await Functions.DisposeAsync();
        Identity.Dispose();
        await sandbox.DisposeAsync();
        log?.Dispose();
    }

    private static string HiddenValue(string html, string name) =>
        WebUtility.HtmlDecode(Regex.Match(html, $"name=\"{name}\" value=\"([^\"]*)\"").Groups[1].Value);

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex FormPostField();

    public sealed record Therapist(string Id, string Name);

    /// <summary>Where the app sent the browser after the sign-in, and the cookies it set then.</summary>
    public sealed record SignIn(string Location, IReadOnlyList<string> Cookies);
}

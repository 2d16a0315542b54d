using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Admin;

/// <summary>
/// Issue 9's "done when": an installation follows the admin pack alone. The smart-app serves its registration
/// document; the test posts it unchanged to the sandbox EHR's RFC 7591 endpoint, puts the returned client_id in the
/// allow-list (a restart, as an operator would), and launches from the sandbox chart through /launch, the sandbox's
/// authorize and /callback to the referral form. Both apps run on real loopback ports, so the sandbox fetches the
/// app's JWKS by the URL the document gives.
/// </summary>
public sealed partial class RegistrationFromTheAdminPackTests
{
    [Fact]
    public async Task The_served_registration_document_registers_the_app_in_the_sandbox_and_an_ehr_launch_with_it_reaches_the_referral_form()
    {
        var ct = TestContext.Current.CancellationToken;
        var (ehrPort, appPort) = (Loopback.FreePort(), Loopback.FreePort());
        var ehrBase = $"http://127.0.0.1:{ehrPort}";
        var appBase = $"http://127.0.0.1:{appPort}";

        await using var sandbox = new SandboxHost(new Dictionary<string, string?> { ["Sandbox:BaseUrl"] = ehrBase });
        sandbox.UseKestrel(o => o.Listen(IPAddress.Loopback, ehrPort));
        sandbox.StartServer();

        var appSettings = new Dictionary<string, string?>
        {
            ["App:BaseUrl"] = appBase,
            ["Ehrs:0:Iss"] = ehrBase + "/fhir",
            ["Ehrs:0:ClientId"] = "not-registered-yet",
            ["Ehrs:0:Name"] = "Sandbox EHR",
            ["Functions:BaseUrl"] = $"http://127.0.0.1:{Loopback.FreePort()}",
        };

        // 1. Before registration: the app runs and serves what to register.
        string document;
        await using (var unregistered = new SmartAppHost(appSettings))
        {
            unregistered.StartOnLoopback(appPort);
            using var http = new HttpClient();
            document = await http.GetStringAsync(new Uri(appBase + "/.well-known/registration.json"), ct);
        }

        var metadata = JsonDocument.Parse(document).RootElement;
        Assert.Equal(appBase + "/launch", metadata.GetProperty("launch_uri").GetString());
        Assert.Equal(appBase + "/callback", metadata.GetProperty("redirect_uris")[0].GetString());
        Assert.Equal(appBase + "/.well-known/jwks.json", metadata.GetProperty("jwks_uri").GetString());
        Assert.Equal("private_key_jwt", metadata.GetProperty("token_endpoint_auth_method").GetString());

        // 2. The EHR admin registers it as it is.
        string clientId;
        using (var http = new HttpClient())
        {
            using var content = new StringContent(document, Encoding.UTF8, "application/json");
            using var registered = await http.PostAsync(new Uri(ehrBase + "/auth/register"), content, ct);
            var body = await registered.Content.ReadAsStringAsync(ct);
            Assert.True(registered.StatusCode == HttpStatusCode.Created, body);
            clientId = JsonDocument.Parse(body).RootElement.GetProperty("client_id").GetString()!;
        }

        // 3. The operator adds the client id to the allow-list and restarts the app.
        appSettings["Ehrs:0:ClientId"] = clientId;
        await using var app = new SmartAppHost(appSettings);
        app.StartOnLoopback(appPort);

        // 4. The physician launches it from the chart.
        using var ehrBrowser = Browser();
        using var appBrowser = new HttpClient(new LoopbackCookies());
        await PostFormAsync(ehrBrowser, ehrBase + "/", ehrBase + "/?handler=SignIn", ("practitionerId", "dr-amelia-stone"), ct);
        using var launched = await PostFormAsync(ehrBrowser, $"{ehrBase}/ehr/patients/dana-whitfield", $"{ehrBase}/ehr/patients/dana-whitfield?handler=Launch", ("clientId", clientId), ct);
        Assert.Equal(HttpStatusCode.SeeOther, launched.StatusCode);
        var launchUrl = launched.Headers.Location!;
        Assert.Equal(metadata.GetProperty("launch_uri").GetString(), launchUrl.GetLeftPart(UriPartial.Path));

        using var toAuthorize = await appBrowser.GetAsync(launchUrl, ct);
        Assert.Equal(HttpStatusCode.Redirect, toAuthorize.StatusCode);
        var authorize = toAuthorize.Headers.Location!;
        Assert.Equal(clientId, QueryHelpers.ParseQuery(authorize.Query)["client_id"].ToString());

        using var toCallback = await ehrBrowser.GetAsync(authorize, ct);
        Assert.Equal(HttpStatusCode.Redirect, toCallback.StatusCode);
        var callback = toCallback.Headers.Location!;
        Assert.Equal(appBase + "/callback", callback.GetLeftPart(UriPartial.Path));

        var (status, url, html) = await FollowAsync(appBrowser, callback, ct);
        Assert.True(status == HttpStatusCode.OK, html);
        Assert.EndsWith("/referral", url.AbsolutePath, StringComparison.Ordinal);
        Assert.Contains("New medical-massage referral", html, StringComparison.Ordinal);
        Assert.Contains("Dana", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_self_check_shows_the_sandbox_ready_every_key_signing_and_the_functions_api_down_when_it_is_not_running()
    {
        var ct = TestContext.Current.CancellationToken;
        var ehrPort = Loopback.FreePort();
        var ehrBase = $"http://127.0.0.1:{ehrPort}";
        var functionsBase = $"http://127.0.0.1:{Loopback.FreePort()}";
        await using var sandbox = new SandboxHost(new Dictionary<string, string?> { ["Sandbox:BaseUrl"] = ehrBase });
        sandbox.UseKestrel(o => o.Listen(IPAddress.Loopback, ehrPort));
        sandbox.StartServer();
        await using var app = new SmartAppHost(new Dictionary<string, string?>
        {
            ["App:BaseUrl"] = "http://127.0.0.1:5200",
            ["Ehrs:0:Iss"] = ehrBase + "/fhir",
            ["Ehrs:0:Name"] = "Sandbox EHR",
            ["Ehrs:1:Iss"] = $"http://127.0.0.1:{Loopback.FreePort()}/fhir",
            ["Ehrs:1:ClientId"] = "nobody-home",
            ["Ehrs:1:Name"] = "Switched-off EHR",
            ["Functions:BaseUrl"] = functionsBase,
        })
        { AdminSignedIn = true };

        var html = await app.CreateClient().GetStringAsync(new Uri("/admin/self-check", UriKind.Relative), ct);

        Assert.Contains($"data-ehr=\"{ehrBase}/fhir\" data-ready=\"true\"", html, StringComparison.Ordinal);
        Assert.Matches("data-ehr=\"http://127.0.0.1:\\d+/fhir\" data-ready=\"false\"", html);
        Assert.Contains("data-signs=\"true\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-signs=\"false\"", html, StringComparison.Ordinal);
        Assert.Contains("data-functions=\"false\"", html, StringComparison.Ordinal);
        Assert.Contains("data-healthy=\"false\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_self_check_is_not_found_when_admin_is_disabled_while_the_registration_document_and_install_page_stay_public()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new SmartAppHost(new Dictionary<string, string?> { ["Admin:Enabled"] = "false" }) { AdminSignedIn = true };
        using var client = app.CreateClient();

        using var selfCheck = await client.GetAsync(new Uri("/admin/self-check", UriKind.Relative), ct);
        using var install = await client.GetAsync(new Uri("/admin/install", UriKind.Relative), ct);
        using var document = await client.GetAsync(new Uri("/.well-known/registration.json", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.NotFound, selfCheck.StatusCode);
        Assert.Equal(HttpStatusCode.OK, install.StatusCode);
        Assert.Contains("http://127.0.0.1:5200/callback", await install.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        var metadata = JsonDocument.Parse(await document.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal("system/Observation.c system/DocumentReference.c system/ServiceRequest.c", metadata.GetProperty("backend_services").GetProperty("scope").GetString());
        Assert.All(metadata.GetProperty("scope_reasons").EnumerateArray(), r => Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("reason").GetString())));
    }

    private static HttpClient Browser() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });

    private static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, string page, string action, (string Name, string Value) field, CancellationToken ct)
    {
        var html = await client.GetStringAsync(new Uri(page), ct);
        var token = AntiforgeryInput().Match(html);
        Assert.True(token.Success, $"{page} has no antiforgery token");
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [field.Name] = field.Value,
            ["__RequestVerificationToken"] = token.Groups[1].Value,
        });
        return await client.PostAsync(new Uri(action), form, ct);
    }

    private static async Task<(HttpStatusCode Status, Uri Url, string Html)> FollowAsync(HttpClient client, Uri url, CancellationToken ct)
    {
        for (var hops = 0; hops < 5; hops++)
        {
            using var response = await client.GetAsync(url, ct);
            if (response.Headers.Location is not { } next)
            {
                return (response.StatusCode, url, await response.Content.ReadAsStringAsync(ct));
            }

            url = new Uri(url, next);
        }

        throw new InvalidOperationException("Too many redirects from " + url);
    }

    /// <summary>
    /// The app's cookies are Secure (SameSite=None, for the EHR's frame); browsers treat http://127.0.0.1 as a secure
    /// context and send them, HttpClient's CookieContainer does not, so this jar keeps them as a browser would here.
    /// </summary>
    private sealed class LoopbackCookies() : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false })
    {
        private readonly Dictionary<string, string> jar = new(StringComparer.Ordinal);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (jar.Count > 0)
            {
                request.Headers.Add("Cookie", string.Join("; ", jar.Select(c => $"{c.Key}={c.Value}")));
            }

            var response = await base.SendAsync(request, cancellationToken);
            foreach (var header in response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [])
            {
                var pair = header.Split(';')[0].Split('=', 2);
                jar[pair[0].Trim()] = pair[1].Trim();
            }

            return response;
        }
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryInput();
}

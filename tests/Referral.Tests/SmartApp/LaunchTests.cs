using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.SmartApp.Launch;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>
/// SMART App Launch 2.2 as a confidential asymmetric client, against a WireMock EHR: EHR and standalone launch with
/// v2 and v1-only servers, every failure ending on its own page, the client assertion, refresh, and tokens that
/// never reach the browser. Requirement numbers refer to the conformance CSV (shared/conformance).
/// </summary>
public sealed class LaunchTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public async Task A_launch_reaches_the_form_asking_v2_scopes_or_v1_scopes_from_a_v1_only_server(bool standalone, bool v2)
    {
        using var ehr = new FakeEhr(v2);
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser, standalone);

        // Authorization request (req 3, 32-37, 39-41, 44, 45): code, our client id, the registered redirect, state, aud = iss, PKCE S256.
        var query = QueryHelpers.ParseQuery(steps.Authorize.Query);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(FakeEhr.ClientId, query["client_id"]);
        Assert.Equal(SmartAppHarness.AppBase + "/callback", query["redirect_uri"]);
        Assert.Equal(ehr.FhirBase, query["aud"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.True(Base64UrlEncoder.DecodeBytes(query["state"]!).Length * 8 >= 122, "state carries at least 122 bits of entropy");
        Assert.Equal(standalone, !query.ContainsKey("launch"));
        var scopes = query["scope"].ToString().Split(' ');
        Assert.Contains(standalone ? "launch/patient" : "launch", scopes);
        Assert.Contains("openid", scopes);
        Assert.Contains("fhirUser", scopes);
        Assert.Contains(v2 ? "patient/Condition.rs" : "patient/Condition.read", scopes);
        // The app never writes into the EHR (the functions write-back is the referral's one writer there).
        Assert.DoesNotContain(scopes, s => s.Contains("ServiceRequest", StringComparison.Ordinal) || s.EndsWith(".write", StringComparison.Ordinal) || s.EndsWith(".c", StringComparison.Ordinal));
        Assert.DoesNotContain(scopes, s => v2 ? s.EndsWith(".read", StringComparison.Ordinal) : s.EndsWith(".rs", StringComparison.Ordinal));

        // Token request (req 62, 64, 67-70, 72, 333, 334): authorization_code, the code, the same redirect, the verifier, an assertion, no client_id.
        var token = Assert.Single(ehr.TokenRequests);
        Assert.Equal("authorization_code", token["grant_type"]);
        Assert.Equal(SmartAppHarness.AppBase + "/callback", token["redirect_uri"]);
        Assert.Equal(query["code_challenge"], Base64UrlEncoder.Encode(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(token["code_verifier"]))));
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", token["client_assertion_type"]);
        Assert.False(token.ContainsKey("client_id"), "a confidential client omits client_id (req 72)");

        Assert.Equal(HttpStatusCode.SeeOther, steps.CallbackStatus);
        var form = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Contains("Carpal tunnel syndrome, right wrist", form, StringComparison.Ordinal);
        Assert.Contains("Dana Whitfield", form, StringComparison.Ordinal);
        Assert.Contains("Sam Rivera, LMT", form, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_assertion_has_the_required_claims_and_verifies_against_the_published_jwks()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        await harness.LaunchAsync(browser);

        var form = Assert.Single(ehr.TokenRequests);
        var assertion = new JsonWebToken(form["client_assertion"]);
        Assert.Equal("RS384", assertion.Alg);
        Assert.Equal("JWT", assertion.Typ);
        Assert.False(string.IsNullOrEmpty(assertion.Kid));
        Assert.Equal(FakeEhr.ClientId, assertion.Issuer);
        Assert.Equal(FakeEhr.ClientId, assertion.Subject);
        Assert.Equal([ehr.TokenEndpoint], assertion.Audiences);
        Assert.False(string.IsNullOrEmpty(assertion.Id));
        Assert.InRange(assertion.ValidTo - harness.Time.GetUtcNow().UtcDateTime, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

        var jwks = await browser.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), TestContext.Current.CancellationToken);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(form["client_assertion"], new TokenValidationParameters
        {
            ValidIssuer = FakeEhr.ClientId,
            ValidAudience = ehr.TokenEndpoint,
            IssuerSigningKeys = new JsonWebKeySet(jwks).GetSigningKeys(),
            LifetimeValidator = TestClock.Lifetime(harness.Time),
        });
        Assert.True(result.IsValid, result.Exception?.Message);
    }

    [Fact]
    public async Task An_es384_key_signs_the_assertion_when_configured()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, new Dictionary<string, string?> { ["SigningKeys:Algorithm"] = "ES384" });
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);

        Assert.Equal(HttpStatusCode.SeeOther, steps.CallbackStatus);
        Assert.Equal("ES384", new JsonWebToken(Assert.Single(ehr.TokenRequests)["client_assertion"]).Alg);
    }

    [Fact]
    public async Task Two_assertions_never_share_a_jti()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        await harness.LaunchAsync(browser);
        await harness.LaunchAsync(browser);

        var ids = ehr.TokenRequests.Select(r => new JsonWebToken(r["client_assertion"]).Id).ToList();
        Assert.Equal(2, ids.Distinct().Count());
    }

    [Fact]
    public async Task An_unknown_iss_gets_the_unknown_ehr_page_and_no_request_leaves_the_app()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var before = ehr.RequestCount;

        using var response = await browser.GetAsync(new Uri($"/launch?iss={Uri.EscapeDataString(ehr.Base + "/other-fhir")}&launch=1", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.UnknownEhr}\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(before, ehr.RequestCount);
    }

    [Fact]
    public async Task A_slow_discovery_ends_on_the_ehr_slow_page()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var asked = ehr.Slow("/fhir/.well-known/smart-configuration", "GET");

        var launching = browser.GetAsync(new Uri($"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}&launch=1", UriKind.Relative), TestContext.Current.CancellationToken);
        // Once the app is waiting for the EHR, its clock passes the discovery's timeout.
        await asked.WaitAsync(TestContext.Current.CancellationToken);
        harness.Time.Advance(SmartDiscovery.Timeout + TimeSpan.FromSeconds(1));
        using var response = await launching;

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.EhrSlow}\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_endpoint_slower_than_the_apps_timeout_ends_on_the_ehr_slow_page()
    {
        var (response, body) = await CallbackWithSlowAsync(ehr => new Uri(ehr.TokenEndpoint).AbsolutePath, "POST", SmartTokens.Timeout);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.EhrSlow}\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_patient_read_slower_than_the_apps_timeout_ends_on_the_ehr_slow_page()
    {
        var (response, body) = await CallbackWithSlowAsync(_ => "/fhir/Patient/" + FakeEhr.PatientId, "GET", Referral.SmartApp.Ehr.EhrClient.Timeout);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.EhrSlow}\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_openid_configuration_slower_than_the_apps_timeout_leaves_the_id_token_unverified()
    {
        var (_, body) = await CallbackWithSlowAsync(_ => "/.well-known/openid-configuration", "GET", SmartDiscovery.Timeout);

        Assert.Contains($"data-problem=\"{LaunchProblemKind.IdentityUnverified}\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ehr_style_slower_than_the_apps_timeout_opens_the_form_in_the_apps_own_look()
    {
        var (response, _) = await CallbackWithSlowAsync(_ => "/smart-style.json", "GET", SmartDiscovery.Timeout);

        Assert.Equal(HttpStatusCode.SeeOther, response);
    }

    /// <summary>
    /// A launch whose callback meets an EHR endpoint that does not answer: once the app is waiting for it, the app's
    /// clock passes <paramref name="timeout"/>. Returns the callback's status and page.
    /// </summary>
    private async Task<(HttpStatusCode Status, string Body)> CallbackWithSlowAsync(Func<FakeEhr, string> path, string method, TimeSpan timeout)
    {
        var ct = TestContext.Current.CancellationToken;
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var (_, callback, _) = await harness.AuthorizeAsync(browser);
        var asked = ehr.Slow(path(ehr), method);

        var returning = browser.GetAsync(new Uri(callback.PathAndQuery, UriKind.Relative), ct);
        // A guard, not a measure: the app asks within moments, and a wrong path must fail the test rather than hang it.
        await asked.WaitAsync(TimeSpan.FromSeconds(30), ct);
        harness.Time.Advance(timeout + TimeSpan.FromSeconds(1));
        using var response = await returning;

        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    [Fact]
    public async Task A_state_this_session_never_issued_ends_on_the_state_mismatch_page_without_a_token_request()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var code = QueryHelpers.ParseQuery(steps.Callback.Query)["code"];

        using var response = await browser.GetAsync(new Uri($"/callback?code={code}&state=forged-{Guid.NewGuid():N}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.StateMismatch}\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Single(ehr.TokenRequests);
    }

    [Fact]
    public async Task A_state_from_another_browser_session_is_a_mismatch()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var attacker = await harness.StartAsync();
        using var victim = harness.Browser();
        using var launch = await attacker.GetAsync(new Uri($"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}&launch=1", UriKind.Relative), TestContext.Current.CancellationToken);
        var state = QueryHelpers.ParseQuery(launch.Headers.Location!.Query)["state"];

        using var response = await victim.GetAsync(new Uri($"/callback?code=abc&state={state}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Contains($"data-problem=\"{LaunchProblemKind.StateMismatch}\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(ehr.TokenRequests);
    }

    [Fact]
    public async Task A_reused_state_ends_on_the_already_used_page()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);

        using var replay = await browser.GetAsync(new Uri(steps.Callback.PathAndQuery, UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.StateReused}\"", await replay.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Single(ehr.TokenRequests);
    }

    [Fact]
    public async Task An_expired_state_ends_on_the_expired_page()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        using var launch = await browser.GetAsync(new Uri($"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}&launch=1", UriKind.Relative), TestContext.Current.CancellationToken);
        var state = QueryHelpers.ParseQuery(launch.Headers.Location!.Query)["state"];
        harness.Time.Advance(LaunchRecord.Lifetime + TimeSpan.FromMinutes(1));

        using var response = await browser.GetAsync(new Uri($"/callback?code=abc&state={state}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Contains($"data-problem=\"{LaunchProblemKind.StateExpired}\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("access_denied", LaunchProblemKind.AccessDenied)]
    [InlineData("server_error", LaunchProblemKind.AuthorizationFailed)]
    [InlineData("invalid_scope", LaunchProblemKind.AuthorizationFailed)]
    public async Task An_error_from_the_authorization_endpoint_ends_on_its_page(string error, LaunchProblemKind expected)
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        using var launch = await browser.GetAsync(new Uri($"/launch?iss={Uri.EscapeDataString(ehr.FhirBase)}&launch=1", UriKind.Relative), TestContext.Current.CancellationToken);
        var state = QueryHelpers.ParseQuery(launch.Headers.Location!.Query)["state"];

        using var response = await browser.GetAsync(new Uri($"/callback?error={error}&error_description=x&state={state}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Contains($"data-problem=\"{expected}\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(ehr.TokenRequests);
    }

    [Theory]
    [InlineData(500, "{\"error\":\"server_error\"}")]
    [InlineData(400, "{\"error\":\"invalid_grant\"}")]
    public async Task A_failing_token_endpoint_ends_on_the_token_error_page(int status, string body)
    {
        using var ehr = new FakeEhr { TokenFailure = (status, body) };
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);

        Assert.Equal(HttpStatusCode.BadGateway, steps.CallbackStatus);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.TokenError}\"", steps.CallbackBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_id_token_not_signed_by_the_ehr_is_not_trusted()
    {
        using var ehr = new FakeEhr { ForgeIdToken = true };
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);

        Assert.Contains($"data-problem=\"{LaunchProblemKind.IdentityUnverified}\"", steps.CallbackBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_launch_without_a_patient_ends_on_the_no_patient_page()
    {
        using var ehr = new FakeEhr { OmitPatient = true };
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);

        Assert.Contains($"data-problem=\"{LaunchProblemKind.NoPatient}\"", steps.CallbackBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_is_fetched_once_per_iss()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        await harness.LaunchAsync(browser);
        await harness.LaunchAsync(browser);

        Assert.Single(ehr.Log, e => e.RequestMessage!.Path == "/fhir/.well-known/smart-configuration");
        Assert.Single(ehr.Log, e => e.RequestMessage!.Path == "/.well-known/openid-configuration");
    }

    [Fact]
    public async Task The_access_token_is_refreshed_before_it_expires()
    {
        using var ehr = new FakeEhr { AccessTokenSeconds = 300 };
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var first = ehr.TokenRequests.Count;

        harness.Time.Advance(TimeSpan.FromSeconds(300) - LaunchContexts.RefreshAhead + TimeSpan.FromSeconds(10));
        using var form = await browser.GetAsync(new Uri(steps.FormPath!, UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        var refresh = ehr.TokenRequests.Skip(first).Single();
        Assert.Equal("refresh_token", refresh["grant_type"]);
        Assert.StartsWith("rt-", refresh["refresh_token"], StringComparison.Ordinal);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", refresh["client_assertion_type"]);
        Assert.False(refresh.ContainsKey("scope"), "a refresh asks for no new scope (req 108)");

        using var again = await browser.GetAsync(new Uri(steps.FormPath!, UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(first + 1, ehr.TokenRequests.Count);
    }

    [Fact]
    public async Task Requests_of_one_launch_at_once_near_the_tokens_expiry_refresh_it_once()
    {
        using var ehr = new FakeEhr { AccessTokenSeconds = 300 };
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var first = ehr.TokenRequests.Count;

        harness.Time.Advance(TimeSpan.FromSeconds(300) - LaunchContexts.RefreshAhead + TimeSpan.FromSeconds(10));
        var pages = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => browser.GetAsync(new Uri(steps.FormPath!, UriKind.Relative), TestContext.Current.CancellationToken)));

        Assert.All(pages, page => Assert.Equal(HttpStatusCode.OK, page.StatusCode));
        Assert.Equal("refresh_token", Assert.Single(ehr.TokenRequests.Skip(first))["grant_type"]);
        foreach (var page in pages)
        {
            page.Dispose();
        }
    }

    [Fact]
    public async Task No_token_reaches_the_browser()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var seen = new List<string>();

        var steps = await harness.LaunchAsync(browser);
        seen.Add(steps.Authorize.ToString());
        seen.Add(steps.Callback.ToString());
        seen.Add(steps.CallbackBody);
        seen.Add(steps.FormPath!);
        seen.AddRange(steps.LaunchCookies);
        foreach (var path in new[] { steps.FormPath!, steps.FormPath!.Replace("/referral", "/referrals", StringComparison.Ordinal) })
        {
            using var page = await browser.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
            seen.Add(await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            seen.AddRange(page.Headers.Select(h => h.Key + ": " + string.Join(",", h.Value)));
        }

        Assert.NotEmpty(ehr.IssuedSecrets);
        foreach (var secret in ehr.IssuedSecrets)
        {
            Assert.DoesNotContain(seen, s => s.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_session_cookie_is_secure_http_only_same_site_none_and_partitioned()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);

        var cookie = Assert.Single(steps.LaunchCookies, c => c.StartsWith("mmr-session=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("secure", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.Ordinal);
        Assert.Contains("samesite=none", cookie, StringComparison.Ordinal);
        Assert.Contains("partitioned", cookie, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_authorization_response_naming_another_issuer_ends_on_its_page_without_a_token_request()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var (_, callback, _) = await harness.AuthorizeAsync(browser);

        using var response = await browser.GetAsync(new Uri(callback.PathAndQuery + "&iss=" + Uri.EscapeDataString("https://evil.example/fhir"), UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.IssuerMismatch}\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(ehr.TokenRequests);
    }

    [Fact]
    public async Task An_ehr_sending_iss_in_its_authorization_response_launches_and_one_leaving_it_out_is_refused()
    {
        using var ehr = new FakeEhr(issInResponse: true);
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);
        Assert.Equal(ehr.FhirBase, QueryHelpers.ParseQuery(steps.Callback.Query)["iss"]);
        Assert.Equal(HttpStatusCode.SeeOther, steps.CallbackStatus);
        Assert.Single(ehr.TokenRequests);

        var (_, callback, _) = await harness.AuthorizeAsync(browser);
        var query = QueryHelpers.ParseQuery(callback.Query);
        using var response = await browser.GetAsync(new Uri($"/callback?code={query["code"]}&state={query["state"]}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"data-problem=\"{LaunchProblemKind.IssuerMismatch}\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Single(ehr.TokenRequests);
    }
}

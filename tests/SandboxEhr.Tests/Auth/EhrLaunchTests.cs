using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using SandboxEhr.Data;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Auth;

public sealed class EhrLaunchTests() : SandboxFlowTests(SmartFlow.SmartAppJwks, ClientKey.Rsa("smart-app-1"))
{
    [Fact]
    public async Task The_launch_button_sends_the_frame_to_the_registered_launch_url_with_iss_and_an_opaque_launch()
    {
        await Flow.SignInToEhrAsync();

        var target = await Flow.PressLaunchButtonAsync(SyntheticIds.LymphedemaPatient);

        Assert.Equal("http://127.0.0.1:5200/launch", target.GetLeftPart(UriPartial.Path));
        var query = QueryHelpers.ParseQuery(target.Query);
        Assert.Equal(App.FhirBase, query["iss"]);
        var launch = query["launch"].ToString();
        Assert.True(launch.Length >= 40, "The launch value should be long and random.");
        Assert.DoesNotContain(SyntheticIds.LymphedemaPatient, launch, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_good_ehr_launch_returns_the_patient_encounter_banner_style_id_token_and_refresh_token()
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(SyntheticIds.WorkersCompWristPatient);

        var (status, body, response) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal("Bearer", body.GetProperty("token_type").GetString());
        Assert.Equal(3600, body.GetProperty("expires_in").GetInt32());
        Assert.Equal(SyntheticIds.WorkersCompWristPatient, body.GetProperty("patient").GetString());
        Assert.Equal($"{SyntheticIds.WorkersCompWristPatient}-visit", body.GetProperty("encounter").GetString());
        Assert.True(body.GetProperty("need_patient_banner").GetBoolean());
        Assert.Equal($"{App.Base}/smart-style.json", body.GetProperty("smart_style_url").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("refresh_token").GetString()));
        Assert.Equal(SmartFlow.EhrLaunchScopes, body.GetProperty("scope").GetString());

        var idToken = await Tokens.ValidateAsync(App, body.GetProperty("id_token").GetString()!, SmartFlow.SmartAppId);
        Assert.Equal($"{App.FhirBase}/Practitioner/{SyntheticIds.FamilyPhysician}", idToken.Claim("fhirUser"));
        Assert.Equal(SyntheticIds.FamilyPhysician, idToken.Subject);

        using var patient = await Flow.FhirGetAsync($"Patient/{SyntheticIds.WorkersCompWristPatient}", body.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.OK, patient.StatusCode);

        using var style = await App.CreateClient().GetAsync("/smart-style.json", TestContext.Current.CancellationToken);
        Assert.True(JsonDocument.Parse(await style.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.TryGetProperty("color_background", out _));
    }

    [Fact]
    public async Task A_wrong_code_verifier_is_refused_with_invalid_grant()
    {
        var (code, _) = await Flow.EhrLaunchCodeAsync(SyntheticIds.PregnantPatient);

        var (status, body, response) = await Flow.RedeemCodeAsync(code, Pkce.Create().Verifier, Key);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.GetProperty("error").GetString());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task A_reused_code_is_refused_with_invalid_grant_and_revokes_the_tokens_the_first_use_got()
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(SyntheticIds.PregnantPatient);
        var (first, firstBody, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);
        Assert.Equal(HttpStatusCode.OK, first);
        var accessToken = firstBody.GetProperty("access_token").GetString();

        var (second, secondBody, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);

        Assert.Equal(HttpStatusCode.BadRequest, second);
        Assert.Equal("invalid_grant", secondBody.GetProperty("error").GetString());
        using var read = await Flow.FhirGetAsync($"Patient/{SyntheticIds.PregnantPatient}", accessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, read.StatusCode);
        var (refresh, refreshBody, _) = await Flow.TokenAsync(
            ("grant_type", "refresh_token"),
            ("refresh_token", firstBody.GetProperty("refresh_token").GetString()!),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", Key.Assertion(SmartFlow.SmartAppId, App.TokenEndpoint, App.Time.GetUtcNow())));
        Assert.Equal(HttpStatusCode.BadRequest, refresh);
        Assert.Equal("invalid_grant", refreshBody.GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_expired_code_is_refused_with_invalid_grant()
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(SyntheticIds.PregnantPatient);

        App.Time.Advance(TimeSpan.FromSeconds(61));
        var (status, body, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_token_request_with_another_redirect_uri_than_the_authorization_request_is_refused_with_invalid_grant()
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(SyntheticIds.PregnantPatient);

        var (status, body, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key, redirectUri: "http://127.0.0.1:5200/other");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_launch_is_single_use()
    {
        var launch = await Flow.EhrLaunchAsync(SyntheticIds.RunnerPatient);
        using var first = await Flow.AuthorizeAsync(SmartFlow.AuthorizeParameters(Pkce.Create(), SmartFlow.EhrLaunchScopes, launch));
        Assert.True(SmartFlow.RedirectParameters(first).ContainsKey("code"));

        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), SmartFlow.EhrLaunchScopes, launch);
        using var second = await Flow.AuthorizeAsync(parameters);

        var query = SmartFlow.RedirectParameters(second);
        Assert.Equal("invalid_request", query["error"]);
        Assert.Equal(parameters["state"], query["state"]);
    }

    [Fact]
    public async Task A_launch_expires_after_five_minutes()
    {
        var launch = await Flow.EhrLaunchAsync(SyntheticIds.RunnerPatient);

        App.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        using var response = await Flow.AuthorizeAsync(SmartFlow.AuthorizeParameters(Pkce.Create(), SmartFlow.EhrLaunchScopes, launch));

        Assert.Equal("invalid_request", SmartFlow.RedirectParameters(response)["error"]);
    }

    [Fact]
    public async Task An_unknown_launch_is_refused_with_invalid_request()
    {
        using var response = await Flow.AuthorizeAsync(SmartFlow.AuthorizeParameters(Pkce.Create(), SmartFlow.EhrLaunchScopes, "made-up"));

        Assert.Equal("invalid_request", SmartFlow.RedirectParameters(response)["error"]);
    }

    [Fact]
    public async Task A_refresh_rotates_the_refresh_token_and_the_old_one_then_fails()
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(SyntheticIds.FrozenShoulderPatient);
        var (_, tokens, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);
        var original = tokens.GetProperty("refresh_token").GetString()!;

        var (status, refreshed, _) = await Refresh(original);

        Assert.Equal(HttpStatusCode.OK, status);
        var rotated = refreshed.GetProperty("refresh_token").GetString()!;
        Assert.NotEqual(original, rotated);
        Assert.Equal(SyntheticIds.FrozenShoulderPatient, refreshed.GetProperty("patient").GetString());
        using var read = await Flow.FhirGetAsync($"Patient/{SyntheticIds.FrozenShoulderPatient}", refreshed.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);

        var (replay, replayBody, _) = await Refresh(original);
        Assert.Equal(HttpStatusCode.BadRequest, replay);
        Assert.Equal("invalid_grant", replayBody.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_refresh_may_narrow_the_scopes_but_not_widen_them()
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(SyntheticIds.FrozenShoulderPatient);
        var (_, tokens, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);

        var (wider, widerBody, _) = await Refresh(tokens.GetProperty("refresh_token").GetString()!, "online_access patient/Patient.rs patient/MedicationRequest.rs");
        Assert.Equal(HttpStatusCode.BadRequest, wider);
        Assert.Equal("invalid_scope", widerBody.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_narrower_refresh_gets_only_the_scopes_it_asks_for()
    {
        var (code, pkce) = await Flow.EhrLaunchCodeAsync(SyntheticIds.FrozenShoulderPatient);
        var (_, tokens, _) = await Flow.RedeemCodeAsync(code, pkce.Verifier, Key);

        var (status, narrowed, _) = await Refresh(tokens.GetProperty("refresh_token").GetString()!, "online_access patient/Patient.rs");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("online_access patient/Patient.rs", narrowed.GetProperty("scope").GetString());
        using var conditions = await Flow.FhirGetAsync($"Condition?patient={SyntheticIds.FrozenShoulderPatient}", narrowed.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, conditions.StatusCode);
    }

    private Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Refresh(string refreshToken, string? scope = null)
    {
        var fields = new List<(string, string)>
        {
            ("grant_type", "refresh_token"),
            ("refresh_token", refreshToken),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", Key.Assertion(SmartFlow.SmartAppId, App.TokenEndpoint, App.Time.GetUtcNow())),
        };
        if (scope is not null)
        {
            fields.Add(("scope", scope));
        }

        return Flow.TokenAsync([.. fields]);
    }
}

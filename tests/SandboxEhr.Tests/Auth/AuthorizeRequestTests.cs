using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SandboxEhr.Data;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Auth;

/// <summary>The authorization endpoint's refusals (RFC 6749 §4.1.2.1, RFC 7636, SMART App Launch 2.2).</summary>
/// <remarks>The refusals change nothing in the sandbox (one test registers a client of its own), so the tests share one.</remarks>
public sealed class AuthorizeRequestTests(SharedSandbox sandbox) : SandboxFlowTests(sandbox), IClassFixture<SharedSandbox>
{
    [Fact]
    public async Task A_redirect_uri_that_is_not_registered_gets_an_error_page_and_no_redirect()
    {
        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), "openid fhirUser launch/patient patient/Patient.rs", null, redirectUri: "http://127.0.0.1:5200/elsewhere");

        using var response = await Flow.AuthorizeAsync(parameters);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("Redirect URI not registered", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_client_gets_an_error_page_and_no_redirect()
    {
        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), "openid", null, clientId: "nobody");

        using var response = await Flow.AuthorizeAsync(parameters);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task Plain_pkce_is_refused_with_invalid_request_and_the_state_echoed()
    {
        var pkce = Pkce.Create();
        var parameters = SmartFlow.AuthorizeParameters(pkce, "launch/patient patient/Patient.rs", null);
        parameters["code_challenge"] = pkce.Verifier;
        parameters["code_challenge_method"] = "plain";

        using var response = await Flow.AuthorizeAsync(parameters);

        var query = SmartFlow.RedirectParameters(response);
        Assert.Equal("invalid_request", query["error"]);
        Assert.Equal(parameters["state"], query["state"]);
    }

    [Fact]
    public async Task A_request_without_pkce_is_refused_with_invalid_request()
    {
        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), "launch/patient patient/Patient.rs", null);
        parameters.Remove("code_challenge");
        parameters.Remove("code_challenge_method");

        using var response = await Flow.AuthorizeAsync(parameters);

        Assert.Equal("invalid_request", SmartFlow.RedirectParameters(response)["error"]);
    }

    [Theory]
    [InlineData("https://other-ehr.example/fhir")]
    [InlineData(null)]
    public async Task An_aud_other_than_the_fhir_base_or_none_is_refused_with_invalid_request(string? aud)
    {
        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), "launch/patient patient/Patient.rs", null);
        parameters["aud"] = aud;
        if (aud is null)
        {
            parameters.Remove("aud");
        }

        using var response = await Flow.AuthorizeAsync(parameters);

        Assert.Equal("invalid_request", SmartFlow.RedirectParameters(response)["error"]);
    }

    [Fact]
    public async Task A_response_type_other_than_code_is_refused()
    {
        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), "launch/patient patient/Patient.rs", null);
        parameters["response_type"] = "token";

        using var response = await Flow.AuthorizeAsync(parameters);

        Assert.Equal("unsupported_response_type", SmartFlow.RedirectParameters(response)["error"]);
    }

    [Fact]
    public async Task A_request_whose_scopes_the_client_may_not_have_at_all_is_refused_with_invalid_scope()
    {
        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), "patient/Procedure.rs user/AllergyIntolerance.rs system/Patient.rs", null);

        using var response = await Flow.AuthorizeAsync(parameters);

        var query = SmartFlow.RedirectParameters(response);
        Assert.Equal("invalid_scope", query["error"]);
        Assert.Equal(parameters["state"], query["state"]);
    }

    [Fact]
    public async Task The_state_parameter_is_required()
    {
        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), "launch/patient patient/Patient.rs", null);
        parameters.Remove("state");

        using var response = await Flow.AuthorizeAsync(parameters);

        Assert.Equal("invalid_request", SmartFlow.RedirectParameters(response)["error"]);
    }

    [Fact]
    public async Task A_launch_made_for_another_app_is_refused()
    {
        using (var registration = await new RegistrationTests.Registrar(App).RegisterAsync(launchUri: "http://127.0.0.1:5300/launch"))
        {
            Assert.Equal(HttpStatusCode.Created, registration.StatusCode);
        }

        var otherApp = App.Services.GetRequiredService<SandboxEhr.Clients.ClientRegistry>().All.Single(c => c.LaunchUrl == "http://127.0.0.1:5300/launch");
        await Flow.SignInToEhrAsync();
        var launchUrl = await Flow.PressLaunchButtonAsync(SyntheticIds.RunnerPatient, otherApp.ClientId);
        var launch = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(launchUrl.Query)["launch"].ToString();

        using var response = await Flow.AuthorizeAsync(SmartFlow.AuthorizeParameters(Pkce.Create(), SmartFlow.EhrLaunchScopes, launch));

        Assert.Equal("invalid_request", SmartFlow.RedirectParameters(response)["error"]);
    }
}

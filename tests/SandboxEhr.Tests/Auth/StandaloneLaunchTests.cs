using System.Net;
using System.Text.RegularExpressions;
using SandboxEhr.Data;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Auth;

public sealed partial class StandaloneLaunchTests() : SandboxFlowTests(SmartFlow.SmartAppJwks, ClientKey.Rsa("smart-app-1"))
{
    private const string Scopes = "openid fhirUser launch/patient launch/encounter offline_access patient/Patient.rs patient/Condition.rs";

    [Fact]
    public async Task A_standalone_launch_signs_in_a_physician_picks_a_patient_and_gets_tokens()
    {
        var pkce = Pkce.Create();
        var parameters = SmartFlow.AuthorizeParameters(pkce, Scopes, launch: null);
        using var authorize = await Flow.AuthorizeAsync(parameters);
        var page = await Flow.Browser.GetStringAsync(authorize.Headers.Location, TestContext.Current.CancellationToken);
        Assert.Contains("Sign in as physician", page, StringComparison.Ordinal);
        Assert.Contains("Choose a patient", page, StringComparison.Ordinal);
        Assert.Contains(">Approve<", page, StringComparison.Ordinal);
        Assert.Contains(">Deny<", page, StringComparison.Ordinal);

        using var approved = await Flow.AnswerConsentAsync(authorize, SyntheticIds.RehabilitationPhysician, SyntheticIds.AutoWhiplashPatient);
        var query = SmartFlow.RedirectParameters(approved);
        Assert.Equal(parameters["state"], query["state"]);
        var (status, body, _) = await Flow.RedeemCodeAsync(query["code"], pkce.Verifier, Key);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(SyntheticIds.AutoWhiplashPatient, body.GetProperty("patient").GetString());
        Assert.Equal($"{SyntheticIds.AutoWhiplashPatient}-visit", body.GetProperty("encounter").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("refresh_token").GetString()));
        var idToken = await Tokens.ValidateAsync(App, body.GetProperty("id_token").GetString()!, SmartFlow.SmartAppId);
        Assert.Equal($"{App.FhirBase}/Practitioner/{SyntheticIds.RehabilitationPhysician}", idToken.Claim("fhirUser"));
        using var conditions = await Flow.FhirGetAsync($"Condition?patient={SyntheticIds.AutoWhiplashPatient}", body.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.OK, conditions.StatusCode);
    }

    [Fact]
    public async Task Deny_sends_the_user_back_with_access_denied_and_the_state()
    {
        var parameters = SmartFlow.AuthorizeParameters(Pkce.Create(), Scopes, launch: null);
        using var authorize = await Flow.AuthorizeAsync(parameters);

        using var denied = await Flow.AnswerConsentAsync(authorize, SyntheticIds.RehabilitationPhysician, null, approve: false);

        var query = SmartFlow.RedirectParameters(denied);
        Assert.Equal("access_denied", query["error"]);
        Assert.Equal(parameters["state"], query["state"]);
        Assert.False(query.ContainsKey("code"));
    }

    [Fact]
    public async Task Approving_without_choosing_a_patient_asks_again_and_sends_nothing_to_the_app()
    {
        using var authorize = await Flow.AuthorizeAsync(SmartFlow.AuthorizeParameters(Pkce.Create(), Scopes, launch: null));

        using var response = await Flow.AnswerConsentAsync(authorize, SyntheticIds.RehabilitationPhysician, patientId: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Choose a patient.", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scope_the_client_may_not_have_is_left_out_of_the_grant_and_its_data_stays_closed()
    {
        var pkce = Pkce.Create();
        var parameters = SmartFlow.AuthorizeParameters(pkce, "launch/patient patient/Patient.rs patient/Procedure.rs patient/Observation.cruds", launch: null);
        using var authorize = await Flow.AuthorizeAsync(parameters);
        using var approved = await Flow.AnswerConsentAsync(authorize, SyntheticIds.FamilyPhysician, SyntheticIds.FibromyalgiaPatient);
        var (_, body, _) = await Flow.RedeemCodeAsync(SmartFlow.RedirectParameters(approved)["code"], pkce.Verifier, Key);

        // RFC 6749 §3.3: less than asked is granted and said in scope; .cruds narrows to what the client is registered for.
        Assert.Equal("launch/patient patient/Patient.rs patient/Observation.rs", body.GetProperty("scope").GetString());
        using var procedures = await Flow.FhirGetAsync($"Procedure?patient={SyntheticIds.FibromyalgiaPatient}", body.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, procedures.StatusCode);
    }

    [Fact]
    public async Task The_approve_page_is_accessible_html_with_labels_and_a_language()
    {
        using var authorize = await Flow.AuthorizeAsync(SmartFlow.AuthorizeParameters(Pkce.Create(), Scopes, launch: null));

        var page = await Flow.Browser.GetStringAsync(authorize.Headers.Location, TestContext.Current.CancellationToken);

        Assert.Contains("<html lang=\"en\">", page, StringComparison.Ordinal);
        Assert.Contains("<label for=\"patient\">", page, StringComparison.Ordinal);
        foreach (Match radio in RadioId().Matches(page))
        {
            Assert.Contains($"<label for=\"{radio.Groups[1].Value}\">", page, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("<script>", page, StringComparison.Ordinal);
    }

    [GeneratedRegex("type=\"radio\" id=\"([^\"]+)\"")]
    private static partial Regex RadioId();
}

using System.Net;
using SandboxEhr.Data;
using SandboxEhr.Tests.Infrastructure;

namespace SandboxEhr.Tests.Ehr;

/// <summary>The EHR's own pages; the tests only read them, each with its own browser, so they share one sandbox.</summary>
public sealed class EhrPageTests(SharedSandbox sandbox) : SandboxFlowTests(sandbox), IClassFixture<SharedSandbox>
{
    [Fact]
    public async Task A_chart_needs_the_ehr_sign_in()
    {
        using var response = await Flow.Browser.GetAsync($"/ehr/patients/{SyntheticIds.LymphedemaPatient}", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("http://localhost/?ReturnUrl=", response.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_chart_shows_the_problem_list_coverage_and_the_launch_button()
    {
        await Flow.SignInToEhrAsync();

        var chart = await Flow.Browser.GetStringAsync($"/ehr/patients/{SyntheticIds.WorkersCompWristPatient}", TestContext.Current.CancellationToken);

        Assert.Contains("<h1>Dana Whitfield</h1>", chart, StringComparison.Ordinal);
        Assert.Contains("G56.01", chart, StringComparison.Ordinal);
        Assert.Contains("57406009", chart, StringComparison.Ordinal);
        Assert.Contains("worker&#x27;s compensation (WCBPOL)", chart, StringComparison.Ordinal);
        Assert.Contains("WC-2026-004817", chart, StringComparison.Ordinal);
        Assert.Contains(">Medical massage referral</button>", chart, StringComparison.Ordinal);
        Assert.Contains("<iframe name=\"app-frame\"", chart, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", chart, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_home_page_lists_the_patients_and_a_standalone_launch_link()
    {
        await Flow.SignInToEhrAsync();

        var home = await Flow.Browser.GetStringAsync("/", TestContext.Current.CancellationToken);

        Assert.Contains($"href=\"/ehr/patients/{SyntheticIds.PregnantPatient}\"", home, StringComparison.Ordinal);
        Assert.Contains("href=\"http://127.0.0.1:5200/launch?iss=http%3A%2F%2Flocalhost%2Ffhir\"", home, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_without_a_launch_url_cannot_be_launched()
    {
        await Flow.SignInToEhrAsync();

        using var response = await Flow.PostLaunchAsync(SyntheticIds.WorkersCompWristPatient, SmartFlow.FunctionsId);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}

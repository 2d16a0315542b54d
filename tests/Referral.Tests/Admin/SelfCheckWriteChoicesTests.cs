using System.Net;
using System.Text.RegularExpressions;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Admin;

/// <summary>
/// The smart-app's four EHRs and the functions API's four registrations overlap in three: the sandbox (both Observations
/// and documents, the ServiceRequest written), an EHR that takes documents only (a report every 6 sessions) and one
/// with write-back off. One EHR is only in the smart-app's list, one only in the functions API's.
/// </summary>
public sealed class SelfCheckWriteChoicesFixture(AzuriteFixture azurite) : IAsyncLifetime
{
    public string DocumentsOnly { get; } = $"http://127.0.0.1:{Loopback.FreePort()}/fhir";

    public string LaunchOnly { get; } = $"http://127.0.0.1:{Loopback.FreePort()}/fhir";

    public string SwitchedOff { get; } = $"http://127.0.0.1:{Loopback.FreePort()}/fhir";

    public const string WriteBackOnly = "https://writeback-only.example/fhir";

    public InboxApps Stack { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Stack = await InboxApps.StartAsync(
        azurite,
        appSettings: new Dictionary<string, string?>
        {
            ["Admin:Enabled"] = "true",
            ["Ehrs:1:Iss"] = DocumentsOnly + "/",
            ["Ehrs:1:ClientId"] = "documents-only-client",
            ["Ehrs:1:Name"] = "Documents-only EHR",
            ["Ehrs:2:Iss"] = LaunchOnly,
            ["Ehrs:2:ClientId"] = "launch-only-client",
            ["Ehrs:2:Name"] = "Launch-only EHR",
            ["Ehrs:3:Iss"] = SwitchedOff,
            ["Ehrs:3:ClientId"] = "switched-off-client",
            ["Ehrs:3:Name"] = "Switched-off EHR",
        },
        functionsSettings: sandboxBase => new Dictionary<string, string?>
        {
            ["Ehrs:0:Iss"] = sandboxBase + "/fhir",
            ["Ehrs:0:ClientId"] = "medical-massage-functions",
            ["Ehrs:0:WriteBack"] = "true",
            ["Ehrs:0:WriteServiceRequest"] = "true",
            ["Ehrs:0:Writes"] = "Both",
            ["Ehrs:1:Iss"] = DocumentsOnly,
            ["Ehrs:1:ClientId"] = "documents-only-backend",
            ["Ehrs:1:WriteBack"] = "true",
            ["Ehrs:1:WriteServiceRequest"] = "false",
            ["Ehrs:1:Writes"] = "Documents",
            ["Ehrs:1:ReportEverySessions"] = "6",
            ["Ehrs:2:Iss"] = WriteBackOnly,
            ["Ehrs:2:ClientId"] = "writeback-only-backend",
            ["Ehrs:2:WriteBack"] = "true",
            ["Ehrs:2:Writes"] = "Observations",
            ["Ehrs:3:Iss"] = SwitchedOff,
            ["Ehrs:3:ClientId"] = "switched-off-backend",
            ["Ehrs:3:WriteBack"] = "false",
        });

    public ValueTask DisposeAsync() => Stack.DisposeAsync();
}

/// <summary>
/// /admin/self-check lists what the functions API's write-back puts in each EHR's charts, asked with the signed-in
/// administrator's access token (the sandbox issues the app role in it, as Entra ID does), through the real sign-in,
/// the real JwtBearer check and the API's administrator policy.
/// </summary>
public sealed partial class SelfCheckWriteChoicesTests(SelfCheckWriteChoicesFixture fixture, AzuriteFixture azurite) : IClassFixture<SelfCheckWriteChoicesFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_signed_in_administrator_sees_each_EHRs_write_choice_and_the_EHRs_only_one_app_lists_need_attention()
    {
        var stack = fixture.Stack;
        var admin = await stack.AddTherapistAsync("Wren", "Writechoice", appRole: "referral-admin");
        using var browser = stack.Browser();
        var signIn = await stack.SignInAsync(browser, admin, "/admin/self-check");

        using var page = await browser.GetAsync(new Uri(signIn.Location, UriKind.RelativeOrAbsolute), Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("data-write-choices=\"true\"", html, StringComparison.Ordinal);
        var rows = Rows(html);
        Assert.Equal([stack.SandboxBase + "/fhir", fixture.DocumentsOnly, fixture.LaunchOnly, fixture.SwitchedOff, SelfCheckWriteChoicesFixture.WriteBackOnly], rows.Keys);

        var sandbox = rows[stack.SandboxBase + "/fhir"];
        Assert.Contains("data-ready=\"true\" data-writes=\"both\"", sandbox, StringComparison.Ordinal);
        Assert.Contains("<td>Observations and progress-report documents</td>", sandbox, StringComparison.Ordinal);
        Assert.Contains("data-service-request=\"true\">written<", sandbox, StringComparison.Ordinal);
        Assert.Contains("a progress report every 4 sessions", sandbox, StringComparison.Ordinal);

        var documents = rows[fixture.DocumentsOnly];
        Assert.Contains("data-ready=\"true\" data-writes=\"documents\"", documents, StringComparison.Ordinal);
        Assert.Contains("Documents-only EHR", documents, StringComparison.Ordinal);
        Assert.Contains("<td>Documents only</td>", documents, StringComparison.Ordinal);
        Assert.Contains("data-service-request=\"false\">not written<", documents, StringComparison.Ordinal);
        Assert.Contains("a progress report every 6 sessions", documents, StringComparison.Ordinal);

        var launchOnly = rows[fixture.LaunchOnly];
        Assert.Contains("data-ready=\"false\" data-writes=\"\"", launchOnly, StringComparison.Ordinal);
        Assert.Contains("Not in the functions API's Ehrs: nothing is written back into this EHR", launchOnly, StringComparison.Ordinal);

        var switchedOff = rows[fixture.SwitchedOff];
        Assert.Contains("data-ready=\"true\" data-writes=\"nothing\"", switchedOff, StringComparison.Ordinal);
        Assert.Contains("<td>Nothing: write-back is off</td>", switchedOff, StringComparison.Ordinal);
        Assert.Contains("data-service-request=\"false\">not written<", switchedOff, StringComparison.Ordinal);
        Assert.Contains("data-report-every=\"\">none<", switchedOff, StringComparison.Ordinal);

        var writeBackOnly = rows[SelfCheckWriteChoicesFixture.WriteBackOnly];
        Assert.Contains("data-ready=\"false\" data-writes=\"observations\"", writeBackOnly, StringComparison.Ordinal);
        Assert.Contains("<td>Observations only</td>", writeBackOnly, StringComparison.Ordinal);
        Assert.Contains("Not in the smart-app's Ehrs: this EHR cannot launch the app", writeBackOnly, StringComparison.Ordinal);
        Assert.Contains("data-report-every=\"\">none<", writeBackOnly, StringComparison.Ordinal);

        Assert.Contains("data-healthy=\"false\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_the_functions_API_refuses_the_administrator_the_self_check_says_why_and_is_not_healthy()
    {
        // The API's administrator role differs from the one the inbox's provider gives this user.
        await using var stack = await InboxApps.StartAsync(
            azurite,
            appSettings: new Dictionary<string, string?> { ["Admin:Enabled"] = "true" },
            functionsSettings: _ => new Dictionary<string, string?> { ["Auth:Therapist:AdminRole"] = "referral-api-admin" });
        var admin = await stack.AddTherapistAsync("Rhea", "Refused", appRole: "referral-admin");
        using var browser = stack.Browser();
        var signIn = await stack.SignInAsync(browser, admin, "/admin/self-check");

        using var page = await browser.GetAsync(new Uri(signIn.Location, UriKind.RelativeOrAbsolute), Ct);
        var html = WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("data-write-choices=\"false\">no: The functions API refused the administrator (403)", html, StringComparison.Ordinal);
        Assert.Contains("Auth:Therapist:AdminRole", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-write-ehr=", html, StringComparison.Ordinal);
        Assert.Contains("data-healthy=\"false\"", html, StringComparison.Ordinal);
    }

    /// <summary>The write-back table's rows by their EHR's iss, in page order, their markup HTML-decoded.</summary>
    private static Dictionary<string, string> Rows(string html) =>
        WriteRow().Matches(html).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Value), StringComparer.Ordinal);

    [GeneratedRegex("<tr data-write-ehr=\"([^\"]+)\".*?</tr>", RegexOptions.Singleline)]
    private static partial Regex WriteRow();
}

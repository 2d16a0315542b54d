using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>The form against the real functions app: validation next to the fields, an idempotent send, the status.</summary>
public sealed class ReferralFormTests(AzuriteFixture azurite)
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_form_shows_the_problem_list_diagnosis_picked_its_sites_ticked_and_the_claim_number_filled()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);

        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        Assert.Matches("value=\"G56.01\" checked=\"checked\"", html);
        Assert.Matches("value=\"Wrist:Right\" id=\"site-Wrist-Right\" checked=\"checked\"", html);
        Assert.Matches("value=\"Hand:Right\" id=\"site-Hand-Right\" checked=\"checked\"", html);
        Assert.DoesNotMatch("value=\"Wrist:Left\" id=\"site-Wrist-Left\" checked", html);
        Assert.Contains("value=\"WC-2026-004817\"", html, StringComparison.Ordinal);
        Assert.Contains("class=\"patient-banner\"", html, StringComparison.Ordinal);
        Assert.Contains("ehr-style.css", html, StringComparison.Ordinal);
        // Therapists without workers' comp come after those with it; none lacking training is offered.
        Assert.True(html.IndexOf("Sam Rivera, LMT", StringComparison.Ordinal) < html.IndexOf("Olivia Hart", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_review_without_therapist_or_body_site_shows_each_error_next_to_its_field()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        using var response = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), Form(html, ("Input.Diagnoses", "G56.01")), Ct);
        var page = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches("(?s)id=\"field-Sites\".{0,300}class=\"field-error\"", page);
        Assert.Matches("(?s)id=\"field-Therapist\".{0,200}class=\"field-error\">Choose the therapist", page);
        Assert.Contains("class=\"error-summary\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_and_send_twice_makes_one_referral_in_the_functions_api_writes_nothing_into_the_ehr_itself_and_shows_it_as_sent()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sites", "Hand:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera"), ("Input.Note", "<b>Night</b> numbness")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, review.StatusCode);
        var summary = await browser.GetStringAsync(review.Headers.Location!, Ct);
        Assert.Contains("&lt;b&gt;Night&lt;/b&gt; numbness", summary, StringComparison.Ordinal);
        // The note holds markup the functions API refuses: its $validate says so on the review, which offers no send
        // (ReviewValidationTests); a send posted anyway is refused with the same message, and nothing is stored.
        Assert.DoesNotContain("Sign and send", summary, StringComparison.Ordinal);
        using var refused = await browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), Form(html), Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);

        using var fixedReview = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sites", "Hand:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        var sendPage = await browser.GetStringAsync(fixedReview.Headers.Location!, Ct);
        var sends = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ =>
            browser.PostAsync(new Uri(fixedReview.Headers.Location + "?handler=Send", UriKind.Relative), Form(sendPage), Ct)));
        var locations = sends.Select(s => s.Headers.Location?.ToString()).Distinct().ToList();
        Assert.All(sends, s => Assert.Equal(HttpStatusCode.SeeOther, s.StatusCode));
        var location = Assert.Single(locations)!;
        Assert.Contains("?sent=true", location, StringComparison.Ordinal);

        var store = harness.Functions.Services.GetRequiredService<ReferralStore>();
        var stored = await store.FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct);
        var referral = Assert.Single(stored);
        Assert.Equal($"{ehr.FhirBase}/Practitioner/{FakeEhr.PractitionerId}", referral.Request.Requester?.Reference);
        // The smart-app never writes the referral into the EHR: that is the functions write-back's (EhrWriterTests).
        Assert.Empty(ehr.Creates("ServiceRequest"));

        var detail = await browser.GetStringAsync(new Uri(location, UriKind.Relative), Ct);
        Assert.True(detail.Contains("data-status=\"sent\"", StringComparison.Ordinal), detail);
        Assert.Contains("The referral was sent", detail, StringComparison.Ordinal);
        var list = await browser.GetStringAsync(new Uri(steps.FormPath!.Replace("/referral", "/referrals", StringComparison.Ordinal), UriKind.Relative), Ct);
        Assert.Contains("data-status=\"sent\"", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_jwks_publishes_current_and_next_rs384_and_es384_public_keys_with_a_cache_header()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();

        using var response = await browser.GetAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Ct);
        var keys = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("keys").EnumerateArray().ToList();

        Assert.NotNull(response.Headers.CacheControl?.MaxAge);
        Assert.Equal(4, keys.Count);
        Assert.Equal(4, keys.Select(k => k.GetProperty("kid").GetString()).Distinct().Count());
        Assert.Equal(2, keys.Count(k => k.GetProperty("kty").GetString() == "RSA" && k.TryGetProperty("n", out _) && k.TryGetProperty("e", out _)));
        Assert.Equal(2, keys.Count(k => k.GetProperty("kty").GetString() == "EC" && k.GetProperty("crv").GetString() == "P-384" && k.TryGetProperty("x", out _) && k.TryGetProperty("y", out _)));
        Assert.DoesNotContain(keys, k => k.TryGetProperty("d", out _) || k.TryGetProperty("p", out _));
    }

    [Fact]
    public async Task Pages_carry_a_csp_framed_only_by_the_allow_listed_ehrs_with_no_inline_script_and_no_x_frame_options()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);

        using var response = await browser.GetAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        var html = await response.Content.ReadAsStringAsync(Ct);

        Assert.Contains($"frame-ancestors 'self' {new Uri(ehr.Base).GetLeftPart(UriPartial.Authority)}", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("X-Frame-Options"));
        Assert.DoesNotMatch("<script>|<script [^>]*>[^<]", html);
        Assert.DoesNotMatch("<[^>]+\\son[a-z]+\\s*=", html);
        Assert.Contains("__RequestVerificationToken", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_post_without_the_antiforgery_token_is_refused()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);

        using var response = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative),
            new FormUrlEncodedContent([new("Input.Therapist", "therapist-sam-rivera")]), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    internal static FormUrlEncodedContent Form(string page, params (string Name, string Value)[] fields) =>
        new([new("__RequestVerificationToken", SmartAppHarness.AntiforgeryToken(page)), .. fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))]);
}

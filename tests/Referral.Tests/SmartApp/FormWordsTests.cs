using System.Net;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Model.Fhir;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using Referral.Model.Terminology;
using Referral.SmartApp.Referrals;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.SmartApp;

/// <summary>Human words on the form and the review: "2 a week", "Auto insurance", a typed code's own display, a choice among matches.</summary>
public sealed class FormWordsTests(AzuriteFixture azurite)
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1, FrequencyUnit.Week, "once a week")]
    [InlineData(2, FrequencyUnit.Week, "2 a week")]
    [InlineData(3, FrequencyUnit.Day, "3 a day")]
    [InlineData(2, FrequencyUnit.Month, "2 a month")]
    public void A_frequency_reads_as_a_physician_says_it(int times, FrequencyUnit unit, string expected)
    {
        Assert.Equal(expected, FrequencyUnits.Describe(times, unit));
    }

    [Theory]
    [InlineData(CoverageType.Auto, "Auto insurance")]
    [InlineData(CoverageType.WorkersCompensation, "Workers' compensation")]
    [InlineData(CoverageType.HealthPlan, "Health insurance")]
    public void A_coverage_type_reads_in_plain_words_not_as_its_code_display(CoverageType type, string expected)
    {
        Assert.Equal(expected, CoverageTypes.Label(type));
        Assert.NotEqual(CoverageTypes.Codes.For(type).Display, CoverageTypes.Label(type));
    }

    [Fact]
    public void A_typed_phrase_that_matches_several_codes_resolves_to_none_and_offers_them_all()
    {
        var result = ReferralForm.ResolveSearch("carpal tunnel");

        Assert.Null(result.Code);
        Assert.Equal(["G56.00", "G56.01", "G56.02", "G56.03"], result.Choices.Select(c => c.Code).Order(StringComparer.Ordinal));
        Assert.Contains("choose one below", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_typed_code_resolves_to_that_code()
    {
        var result = ReferralForm.ResolveSearch("C50.912");

        Assert.Equal("C50.912", result.Code);
        Assert.Empty(result.Choices);
    }

    [Fact]
    public async Task A_typed_code_shows_its_own_display_on_the_form_and_on_review_and_the_frequency_and_insurance_read_in_plain_words()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        // An auto policy, which the seed's oncology therapist bills (she does not bill workers' comp).
        var auto = new Coverage
        {
            Id = FakeEhr.PatientId + "-coverage",
            Status = FinancialResourceStatusCodes.Active,
            Type = new CodeableConcept { Coding = [new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AUTOPOL", "automobile insurance policy")] },
            Beneficiary = new ResourceReference("Patient/" + FakeEhr.PatientId),
            Payor = [new ResourceReference("Organization/evergreen", "Evergreen Mutual Auto")],
            Identifier = [new Identifier("urn:claims", "WC-2026-004817") { Type = new CodeableConcept { Text = "Claim number" } }],
        };
        ehr.Server.Given(Request.Create().WithPath("/fhir/Coverage").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/fhir+json").WithBody(FhirJson.Serialize(new Bundle { Type = Bundle.BundleType.Searchset, Entry = [new Bundle.EntryComponent { Resource = auto }] })));
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        Assert.Contains("Auto insurance, Evergreen", html, StringComparison.Ordinal);
        Assert.Contains(">a week</option>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("automobile insurance policy", html, StringComparison.Ordinal);

        using var update = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Update", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.DiagnosisSearch", "C50.912")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, update.StatusCode);
        var form = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        Assert.Contains("Malignant neoplasm of unspecified site of left female breast <span class=\"code\">ICD-10-CM C50.912</span>", form, StringComparison.Ordinal);

        // Review with an oncology-trained therapist: the summary names the code's own display, "2 a week" and "Auto insurance".
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(form,
            ("Input.Diagnoses", "G56.01"), ("Input.Diagnoses", "C50.912"), ("Input.SuggestionsApplied", "G56.01"), ("Input.SuggestionsApplied", "C50.912"),
            ("Input.Sites", "Wrist:Right"), ("Input.Precautions", "Cancer"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "2"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-olivia-hart")), Ct);
        var reviewPage = await review.Content.ReadAsStringAsync(Ct);
        Assert.True(review.StatusCode == HttpStatusCode.SeeOther, reviewPage);
        var summary = await browser.GetStringAsync(review.Headers.Location!, Ct);

        Assert.Contains("Malignant neoplasm of unspecified site of left female breast (ICD-10-CM C50.912)", summary, StringComparison.Ordinal);
        Assert.Contains("6 sessions of 60 minutes, 2 a week", summary, StringComparison.Ordinal);
        Assert.Contains("Auto insurance, Evergreen", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("automobile insurance policy", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("per wk", summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_typed_phrase_matching_several_codes_offers_a_choice_and_the_chosen_one_is_added()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        using var update = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Update", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.DiagnosisSearch", "sciatica")), Ct);
        var page = await update.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Contains("Which diagnosis do you mean?", page, StringComparison.Ordinal);
        foreach (var code in new[] { "M54.30", "M54.31", "M54.32" })
        {
            Assert.Contains($"name=\"Input.DiagnosisChoice\" value=\"{code}\"", page, StringComparison.Ordinal);
        }

        Assert.DoesNotMatch("name=\"Input.Diagnoses\" value=\"M54.3[0-2]\"", page);

        using var chosen = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Update", UriKind.Relative), ReferralFormTests.Form(page,
            ("Input.Diagnoses", "G56.01"), ("Input.DiagnosisSearch", "sciatica"), ("Input.DiagnosisChoice", "M54.32")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, chosen.StatusCode);
        var form = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        Assert.Contains("name=\"Input.Diagnoses\" value=\"M54.32\" checked", form, StringComparison.Ordinal);
        Assert.Matches("value=\"Buttock:Left\" id=\"site-Buttock-Left\" checked", form);
    }

    [Fact]
    public async Task The_review_the_status_list_and_the_status_page_show_the_prescription_as_the_API_stored_it()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sites", "Hand:Right"), ("Input.Sessions", "8"), ("Input.FrequencyTimes", "2"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "45"), ("Input.ValidityDays", "60"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, review.StatusCode);
        var reviewPage = await browser.GetStringAsync(review.Headers.Location!, Ct);
        var summary = WebUtility.HtmlDecode(reviewPage);
        using var sent = await browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(reviewPage), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);

        // What the API stored, read as FHIR, not through the app's read model.
        var stored = Assert.Single(await harness.Functions.Services.GetRequiredService<ReferralStore>()
            .FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct)).Request;
        var bounds = Assert.IsType<Period>(Assert.IsType<Timing>(stored.Occurrence).Repeat!.Bounds);
        var sites = string.Join(", ", stored.BodySite.Select(b => b.Text));
        Assert.Equal("Right wrist joint, Right hand", sites);
        Assert.Contains($"8 sessions of 45 minutes, 2 a week (valid {bounds.Start} to {bounds.End}, dates in {PracticeTime.ZoneOf(bounds).Id})", summary, StringComparison.Ordinal);
        Assert.Contains($"<dd>{sites}</dd>", summary, StringComparison.Ordinal);

        var list = WebUtility.HtmlDecode(await browser.GetStringAsync(new Uri($"/context/{SmartAppHarness.ContextIdOf(steps.FormPath!)}/referrals", UriKind.Relative), Ct));
        Assert.Contains($"<td>{stored.AuthoredOn![..10]}</td>", list, StringComparison.Ordinal);
        Assert.Contains($">{stored.ReasonCode.Single().Text}</a></th>", list, StringComparison.Ordinal);
        var detail = WebUtility.HtmlDecode(await browser.GetStringAsync(sent.Headers.Location!, Ct));
        Assert.Contains($"<dd>{sites}</dd>", detail, StringComparison.Ordinal);
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.SmartApp.Ehr;
using Referral.SmartApp.Referrals;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.SmartApp;

/// <summary>
/// Suggested body sites are a one-time suggestion when a diagnosis is first ticked: a site the physician unticked is
/// never ticked again by the server (Review, Add diagnosis); the visit's reason pre-ticks the diagnoses it names.
/// </summary>
public sealed class SiteSuggestionTests(AzuriteFixture azurite)
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public void A_diagnosis_ticked_for_the_first_time_ticks_its_sites_once_and_never_again()
    {
        var saved = new ReferralInput();
        var input = new ReferralInput { Diagnoses = ["M54.50"] };

        ReferralForm.ApplySuggestions(input, saved, []);
        Assert.Equal(["LumbarRegion"], input.Sites);
        Assert.Equal(["M54.50"], input.SuggestionsApplied);

        // The physician unticks the site and reviews again: the diagnosis's suggestion was made, nothing comes back.
        var next = new ReferralInput { Diagnoses = ["M54.50"], SuggestionsApplied = input.SuggestionsApplied };
        ReferralForm.ApplySuggestions(next, input, []);
        Assert.Empty(next.Sites);
        Assert.Equal(["LumbarRegion"], next.Unticked);
    }

    [Fact]
    public void A_new_diagnosis_does_not_tick_a_site_the_physician_unticked_but_ticks_its_others()
    {
        // The browser posted what it saw: the lower back unticked after low back pain was picked.
        var saved = new ReferralInput { Diagnoses = ["M54.50"], Sites = [], SuggestionsApplied = ["M54.50"] };
        var input = new ReferralInput { Diagnoses = ["M54.50", "M62.830"], SuggestionsApplied = ["M54.50"], Unticked = ["LumbarRegion"] };

        ReferralForm.ApplySuggestions(input, saved, []);

        Assert.Equal(["ThoracicSpine"], input.Sites);
        Assert.Contains("LumbarRegion", input.Unticked);
    }

    [Fact]
    public void A_site_the_physician_ticks_again_is_no_longer_remembered_as_unticked()
    {
        var saved = new ReferralInput { Diagnoses = ["M54.50"], Unticked = ["LumbarRegion"], SuggestionsApplied = ["M54.50"] };
        var input = new ReferralInput { Diagnoses = ["M54.50"], Sites = ["LumbarRegion"], SuggestionsApplied = ["M54.50"] };

        ReferralForm.ApplySuggestions(input, saved, []);

        Assert.Empty(input.Unticked);
        Assert.Equal(["LumbarRegion"], input.Sites);
    }

    [Fact]
    public void With_several_problems_the_diagnoses_the_visits_reason_names_are_pre_ticked()
    {
        var record = Record(new Encounter { ReasonCode = [new CodeableConcept { Text = "Neck pain and headaches after a rear-end car accident" }] },
            ("S13.4XXA", "Whiplash injury to neck", null), ("M54.2", "Neck pain", null), ("G44.209", "Tension-type headache", null), ("M72.2", "Plantar fasciitis, right foot", "Right foot"));

        var input = ReferralForm.Initial(record);

        Assert.Equal(["S13.4XXA", "M54.2", "G44.209"], input.Diagnoses);
        Assert.Equal(["Neck", "Shoulder:Right", "Shoulder:Left", "Head"], input.Sites);
        Assert.Equal(input.Diagnoses, input.SuggestionsApplied);
    }

    [Fact]
    public void A_visit_whose_reason_references_a_condition_pre_ticks_it_and_its_recorded_side()
    {
        var record = Record(new Encounter { ReasonReference = [new ResourceReference("Condition/p-m72-2")] },
            ("M72.2", "Plantar fasciitis, right foot", "Right foot"), ("G57.01", "Piriformis syndrome, right", "Right buttock"));

        var input = ReferralForm.Initial(record);

        Assert.Equal(["M72.2"], input.Diagnoses);
        Assert.Equal(["Foot:Right"], input.Sites);
    }

    [Fact]
    public void With_several_problems_and_no_visit_reason_nothing_is_pre_ticked()
    {
        var record = Record(null, ("Z33.1", "Pregnancy, second trimester", null), ("M54.50", "Low back pain", "Lower back"));

        var input = ReferralForm.Initial(record);

        Assert.Empty(input.Diagnoses);
        Assert.Empty(input.Sites);
    }

    [Fact]
    public async Task Unticking_every_suggested_site_and_reviewing_shows_the_body_site_error_with_no_site_ticked_again()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        Assert.Contains("name=\"Input.SuggestionsApplied\" value=\"G56.01\"", html, StringComparison.Ordinal);

        // Twice: the second round trip must not bring them back either.
        for (var round = 0; round < 2; round++)
        {
            using var response = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html,
                ("Input.Diagnoses", "G56.01"), ("Input.SuggestionsApplied", "G56.01"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
            var page = await response.Content.ReadAsStringAsync(Ct);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.DoesNotMatch("name=\"Input.Sites\"[^>]*checked", page);
            Assert.Matches("(?s)class=\"error-summary\".{0,600}href=\"#field-Sites\"", page);
        }
    }

    [Fact]
    public async Task Adding_a_diagnosis_ticks_its_sites_except_the_one_the_physician_unticked()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        // The right wrist unticked (no JavaScript: the server sees it missing), then bilateral carpal tunnel typed and added.
        using var update = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Update", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Hand:Right"), ("Input.Sites", "Forearm:Right"), ("Input.DiagnosisSearch", "G56.03")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, update.StatusCode);
        var page = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        Assert.Matches("value=\"G56.03\" checked", page);
        Assert.Matches("value=\"Wrist:Left\" id=\"site-Wrist-Left\" checked", page);
        Assert.Matches("value=\"Hand:Left\" id=\"site-Hand-Left\" checked", page);
        Assert.DoesNotMatch("value=\"Wrist:Right\" id=\"site-Wrist-Right\" checked", page);
        Assert.Contains("name=\"Input.Unticked\" value=\"Wrist:Right\"", page, StringComparison.Ordinal);
    }

    private static PatientRecord Record(Encounter? visit, params (string Code, string Text, string? Site)[] problems) => new()
    {
        Patient = new Patient { Id = "p" },
        Encounter = visit,
        Conditions =
        [
            .. problems.Select(p => new Condition
            {
                Id = "p-" + p.Code.ToLowerInvariant().Replace('.', '-'),
                Code = new CodeableConcept { Coding = [new Coding(Canonicals.Icd10Cm, p.Code)], Text = p.Text },
                BodySite = p.Site is null ? [] : [new CodeableConcept { Text = p.Site }],
            }),
        ],
    };
}

using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Functions.Therapists;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>
/// The form's therapist list against the real functions directory (the seed's five therapists) for the fake EHR's
/// Dana Whitfield (carpal tunnel, workers' comp, a home in NE Portland with its position): what each row says, who
/// can be chosen, who is preselected, the list the browser fetches when the diagnoses change, and the server's
/// refusal of a therapist the form would not let a physician choose. Tests sharing this Azurite may add therapists of
/// their own to the directory (without a practice), so the rows looked at are the seed's.
/// </summary>
public sealed partial class TherapistListTests(AzuriteFixture azurite)
{
    private const string Coverage = "dana-whitfield-coverage";
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_therapist_shows_why_they_qualify_their_distance_from_the_patients_home_insurances_phone_and_languages()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);

        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        var rows = Rows(html);

        Assert.Equal(5, rows.Count);
        var sam = rows["therapist-sam-rivera"];
        Assert.Contains("Qualifies: these diagnoses need no special training.", sam, StringComparison.Ordinal);
        Assert.Contains("Trained in Sports massage.", sam, StringComparison.Ordinal);
        Assert.Contains("Downtown Sports Massage, 1000 SW Broadway, Portland", sam, StringComparison.Ordinal);
        Assert.Contains("Phone +1 503 555 0103 · Speaks English, Spanish", sam, StringComparison.Ordinal);
        Assert.Contains("Taking new referrals · Bills Workers' compensation, Auto insurance, Health insurance", sam, StringComparison.Ordinal);
        // Great-circle distances from 2415 NE Alberta St (45.5590, -122.6412), worked out by hand from the seed's positions.
        Assert.InRange(Km(sam), 5.5, 5.8);
        Assert.InRange(Km(rows["therapist-kai-nakamura"]), 3.0, 3.2);
        Assert.InRange(Km(rows["therapist-margaret-lee"]), 9.3, 9.5);
        Assert.Equal(5, rows.Values.Select(Km).Distinct().Count());
        Assert.Equal(5, rows.Values.Select(r => AddressPattern().Match(r).Value).Distinct().Count());
    }

    [Fact]
    public async Task A_therapist_not_taking_referrals_or_not_billing_the_coverage_cannot_be_chosen_and_the_only_one_who_can_is_preselected()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);

        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        var rows = Rows(html);

        Assert.Contains("Cannot be chosen: Not taking new referrals.", rows["therapist-kai-nakamura"], StringComparison.Ordinal);
        Assert.Matches("<input[^>]+value=\"therapist-kai-nakamura\"[^>]+disabled=\"disabled\"", rows["therapist-kai-nakamura"]);
        foreach (var id in new[] { "therapist-olivia-hart", "therapist-nadia-kowalski", "therapist-margaret-lee" })
        {
            Assert.Contains("Cannot be chosen: Does not bill workers' compensation.", rows[id], StringComparison.Ordinal);
            Assert.Matches("<input[^>]+disabled=\"disabled\"", rows[id]);
        }

        Assert.Matches("<input[^>]+value=\"therapist-sam-rivera\" checked=\"checked\"", rows["therapist-sam-rivera"]);
        Assert.DoesNotMatch("<input[^>]+disabled", rows["therapist-sam-rivera"]);
        Assert.Single(CheckedPattern().Matches(html));
        Assert.True(html.IndexOf("data-therapist=\"therapist-sam-rivera\"", StringComparison.Ordinal) < html.IndexOf("data-therapist=\"therapist-olivia-hart\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_list_the_browser_fetches_follows_the_ticked_diagnoses_and_says_which_required_training_matched()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        var list = new Uri(steps.FormPath + "?handler=Therapists", UriKind.Relative);

        // Lymphedema needs manual lymph drainage: only Olivia Hart is listed, with the training that matched.
        using var lymphedema = await browser.PostAsync(list, ReferralFormTests.Form(html, ("Input.Diagnoses", "I89.0"), ("Input.CoverageId", "none")), Ct);
        var fragment = await lymphedema.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, lymphedema.StatusCode);
        Assert.DoesNotContain("<html", fragment, StringComparison.Ordinal);
        var olivia = Assert.Single(Rows(fragment)).Value;
        Assert.All(RowPattern().Matches(fragment), m => Assert.Contains("Manual lymph drainage", m.Value, StringComparison.Ordinal));
        Assert.Contains("Qualifies: trained in Manual lymph drainage (certified lymphedema therapist) (needed for Lymphedema)", olivia, StringComparison.Ordinal);
        Assert.Matches("value=\"therapist-olivia-hart\" checked=\"checked\"", olivia);
        Assert.Contains("best match first", fragment, StringComparison.Ordinal);

        // With the workers' comp coverage she does not bill it: listed, not chosen, not choosable.
        using var workersComp = await browser.PostAsync(list, ReferralFormTests.Form(html,
            ("Input.Diagnoses", "I89.0"), ("Input.CoverageId", Coverage), ("Input.Therapist", "therapist-olivia-hart")), Ct);
        var notBilling = Rows(await workersComp.Content.ReadAsStringAsync(Ct))["therapist-olivia-hart"];
        Assert.Contains("Cannot be chosen: Does not bill workers' compensation.", notBilling, StringComparison.Ordinal);
        Assert.DoesNotContain("checked", notBilling, StringComparison.Ordinal);

        // No diagnosis: nobody is "best", nobody is chosen for the physician; nearest first.
        using var noDiagnosis = await browser.PostAsync(list, ReferralFormTests.Form(html, ("Input.CoverageId", Coverage)), Ct);
        var none = await noDiagnosis.Content.ReadAsStringAsync(Ct);
        Assert.DoesNotContain("best match", none, StringComparison.Ordinal);
        Assert.Contains("No diagnosis is ticked", none, StringComparison.Ordinal);
        Assert.DoesNotMatch(CheckedPattern(), none);
        var distances = Rows(none).Values.Select(Km).ToList();
        Assert.Equal(5, distances.Count);
        Assert.Equal(distances.Order(), distances);
        Assert.Equal("therapist-kai-nakamura", Rows(none).Keys.First());

        // A post, so the diagnoses stay out of URLs: without the form's antiforgery token it is refused.
        using var forged = await browser.PostAsync(list, new FormUrlEncodedContent([new("Input.Diagnoses", "I89.0")]), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
    }

    [Fact]
    public async Task Review_and_send_refuse_a_therapist_who_is_not_taking_referrals_or_does_not_bill_the_coverage_naming_the_field()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        using var notAccepting = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html, Fields("therapist-kai-nakamura")), Ct);
        var page = await notAccepting.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, notAccepting.StatusCode);
        Assert.Contains("<a href=\"#field-Therapist\">Therapist: Kai Nakamura, LMT is not taking new referrals. Choose another therapist.</a>", page, StringComparison.Ordinal);
        Assert.Matches("(?s)id=\"field-Therapist\".{0,200}class=\"field-error\">Therapist: Kai Nakamura, LMT is not taking new referrals", page);

        using var notBilling = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html, Fields("therapist-margaret-lee")), Ct);
        page = await notBilling.Content.ReadAsStringAsync(Ct);
        Assert.Contains("Therapist: Margaret Lee, LMT does not bill workers&#x27; compensation. Choose another therapist, or another insurance.", page, StringComparison.Ordinal);

        // Straight to "Sign and send" with the refused choice still in the form: refused, named, nothing stored.
        var review = steps.FormPath + "/review";
        var summary = await browser.GetStringAsync(new Uri(review, UriKind.Relative), Ct);
        Assert.DoesNotContain(">Sign and send<", summary, StringComparison.Ordinal);
        Assert.Contains("does not bill workers&#x27; compensation", summary, StringComparison.Ordinal);
        using var send = await browser.PostAsync(new Uri(review + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(html), Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, send.StatusCode);
        Assert.Contains("Therapist: Margaret Lee, LMT does not bill", await send.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var stored = await harness.Functions.Services.GetRequiredService<ReferralStore>().FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct);
        Assert.Empty(stored);
    }

    internal static (string Name, string Value)[] Fields(string therapist, string diagnosis = "G56.01", params (string Name, string Value)[] sites) =>
    [
        ("Input.Diagnoses", diagnosis), .. (sites.Length > 0 ? sites : [("Input.Sites", "Wrist:Right"), ("Input.Sites", "Hand:Right")]),
        ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"), ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"),
        ("Input.CoverageId", Coverage), ("Input.ClaimNumbers[" + Coverage + "]", "WC-2026-004817"), ("Input.Therapist", therapist),
    ];

    /// <summary>Each therapist's row of the list (HTML-decoded), by the therapist's id.</summary>
    private static Dictionary<string, string> Rows(string html) =>
        RowPattern().Matches(html).Where(m => TherapistSeed.Therapists.Any(t => t.Id == m.Groups[1].Value))
            .ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Value));

    private static double Km(string row) => double.Parse(DistancePattern().Match(row).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex("(?s)<li class=\"[^\"]*\" data-therapist=\"([^\"]+)\">.*?</li>")]
    private static partial Regex RowPattern();

    [GeneratedRegex("data-distance>([0-9.]+) km from the patient")]
    private static partial Regex DistancePattern();

    [GeneratedRegex("data-distance>[^<]*: ([^<]+)</span>")]
    private static partial Regex AddressPattern();

    [GeneratedRegex("name=\"Input.Therapist\"[^>]*checked=\"checked\"")]
    private static partial Regex CheckedPattern();
}

using System.Net;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Audit;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Inbox;

/// <summary>
/// The contact details a referral carries (issue 23) through the real functions API and the therapist's pages, signed
/// in at the sandbox: shown to the therapist it was sent to and to no other, encoded on the page, refused by the API
/// when they break FHIR's rules; and the printable prescription, which follows the same access.
/// </summary>
public sealed class ContactPagesTests(InboxFixture fixture) : IClassFixture<InboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private InboxApps Apps => fixture.Stack;

    private static ReferralDraft WithContacts(ReferralDraft draft, string addressLine = "2415 NE Alberta St") => draft with
    {
        PatientContact = new PatientContact
        {
            BirthDate = "1981-04-12",
            Phones = [new Telecom(ContactPoint.ContactPointSystem.Phone, "503-555-0161", ContactPoint.ContactPointUse.Mobile)],
            Address = new Address { Use = Address.AddressUse.Home, Line = [addressLine], City = "Portland", State = "OR", PostalCode = "97211" },
            Language = new Coding(Languages.System, "es-MX"),
        },
        PrescriberContact = new PrescriberContact
        {
            Npi = "1234567893",
            Telecoms = [new Telecom(ContactPoint.ContactPointSystem.Phone, "503-555-0110"), new Telecom(ContactPoint.ContactPointSystem.Fax, "503-555-0111")],
        },
        Coverage = draft.Coverage! with
        {
            PayorContact = new PayorContact
            {
                Telecoms = [new Telecom(ContactPoint.ContactPointSystem.Phone, "800-555-0140")],
                AdjusterName = "Priya Natarajan",
                AdjusterTelecoms = [new Telecom(ContactPoint.ContactPointSystem.Email, "priya@comp.example")],
            },
        },
    };

    [Fact]
    public async Task The_therapist_the_referral_was_sent_to_sees_how_to_reach_the_patient_the_physician_and_the_adjuster_and_another_therapist_sees_nothing()
    {
        var therapist = await Apps.AddTherapistAsync("Lena", "Holt");
        var other = await Apps.AddTherapistAsync("Finn", "Quist");
        var id = await Apps.SendReferralAsync(therapist, d => WithContacts(d));
        using var browser = await SignedInAsync(therapist);
        using var otherBrowser = await SignedInAsync(other);

        var html = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);
        using var theirs = await otherBrowser.GetAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);
        var theirHtml = await theirs.Content.ReadAsStringAsync(Ct);

        Assert.Contains("<a href=\"tel:5035550161\">503-555-0161</a> (mobile)", html, StringComparison.Ordinal);
        Assert.Matches(@"<span class=""line"">2415 NE Alberta St</span>\s*<span class=""line"">Portland, OR 97211</span>", html);
        Assert.Matches(@"data-contact=""patient-birth-date"">1981-04-12 \(\d+ years\)<", html);
        Assert.Contains("data-contact=\"patient-language\">Spanish<", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"tel:5035550110\">503-555-0110</a>", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"tel:5035550111\">503-555-0111</a>", html, StringComparison.Ordinal);
        Assert.Contains("data-contact=\"physician-npi\">1234567893<", html, StringComparison.Ordinal);
        Assert.Contains("Priya Natarajan", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"mailto:priya@comp.example\">priya@comp.example</a>", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"tel:8005550140\">800-555-0140</a>", html, StringComparison.Ordinal);
        Assert.Contains("data-contact=\"claim-number\">WC-77<", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
        foreach (var detail in new[] { "503-555-0161", "Alberta", "1981-04-12", "1234567893", "Priya", "503-555-0110" })
        {
            Assert.DoesNotContain(detail, theirHtml, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task What_the_EHR_did_not_give_is_said_so_instead_of_an_empty_line()
    {
        var therapist = await Apps.AddTherapistAsync("Mona", "Reyes");
        var id = await Apps.SendReferralAsync(therapist);
        using var browser = await SignedInAsync(therapist);

        var html = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);

        foreach (var field in new[] { "patient-phone", "patient-address", "patient-birth-date", "patient-language", "physician-phone", "physician-fax", "physician-npi", "adjuster" })
        {
            Assert.Matches($@"data-contact=""{field}"">\s*(<span class=""not-given"">)?Not given by the EHR<", html);
        }
    }

    [Fact]
    public async Task Hostile_text_in_the_contact_details_is_encoded_on_the_page()
    {
        var therapist = await Apps.AddTherapistAsync("Otto", "Brink");
        // Markup is refused at the API; what passes (quotes, ampersands, a lone "<") must still be encoded.
        var id = await Apps.SendReferralAsync(therapist, d => WithContacts(d, "12 O'Brien & \"Sons\" Rd < 3 > 2"));
        using var browser = await SignedInAsync(therapist);

        var html = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);
        var print = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}/prescription", UriKind.Relative), Ct);

        Assert.Contains("<span class=\"line\">12 O&#x27;Brien &amp; &quot;Sons&quot; Rd &lt; 3 &gt; 2</span>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\"Sons\" Rd < 3", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\"Sons\" Rd < 3", print, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Contact_details_that_break_FHIRs_rules_are_refused_by_the_API_naming_the_element()
    {
        var therapist = await Apps.AddTherapistAsync("Pia", "Sund");
        var draft = WithContacts(ReferralScenario.DraftFactory.Draft(PracticeTime.DateIn(Apps.Time.GetUtcNow(), InboxApps.PracticeZone)) with
        {
            TimeZone = InboxApps.PracticeZone.Id,
            Therapist = new ResourceRef($"PractitionerRole/{therapist.Id}", therapist.Name),
            Coverage = new CoverageDraft { Type = CoverageType.WorkersCompensation, PayorName = "State Fund", ClaimNumber = "WC-77" },
        });
        draft = draft with
        {
            PrescriberContact = draft.PrescriberContact! with { Npi = "1234567890" },
            PatientContact = draft.PatientContact! with { BirthDate = "2999-01-01" },
        };
        using var client = Apps.Functions.ClientWith(Apps.Identity.Physician("dr-1", "pat-1", at: Apps.Time.GetUtcNow()));

        using var response = await client.PostAsync(new Uri("/api/fhir/ServiceRequest", UriKind.Relative),
            ReferralScenario.Body(ReferralScenario.Json(draft, Apps.Time.GetUtcNow())), Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var outcome = await ReferralScenario.ReadAsync<OperationOutcome>(response);
        var expressions = outcome.Issue.Where(i => i.Severity == OperationOutcome.IssueSeverity.Error).SelectMany(i => i.Expression).Order().ToList();
        Assert.Equal(["ServiceRequest.contained[2].birthDate", "ServiceRequest.contained[3].identifier[0].value"], expressions);
    }

    [Fact]
    public async Task The_printable_prescription_shows_the_signed_referral_to_its_therapist_audited_and_is_not_found_for_another()
    {
        var therapist = await Apps.AddTherapistAsync("Rhea", "Voss");
        var other = await Apps.AddTherapistAsync("Sven", "Tal");
        var id = await Apps.SendReferralAsync(therapist, d => WithContacts(d));
        using var browser = await SignedInAsync(therapist);
        using var otherBrowser = await SignedInAsync(other);

        var print = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}/prescription", UriKind.Relative), Ct);
        using var theirs = await otherBrowser.GetAsync(new Uri($"/inbox/referrals/{id}/prescription", UriKind.Relative), Ct);

        Assert.Contains("<h1 id=\"prescription-title\">Prescription for medical massage</h1>", print, StringComparison.Ordinal);
        Assert.Contains("/css/prescription.css", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"birth-date\">1981-04-12<", print, StringComparison.Ordinal);
        Assert.Contains("ICD-10-CM G56.01", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"sites\">Right wrist joint", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"sessions\">6 sessions of 60 minutes<", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"frequency\">1 per week<", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"payer\">Workers&#x27; compensation: State Fund<", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"claim-number\">WC-77<", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"prescriber\">Dr. Rivera<", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"npi\">1234567893<", print, StringComparison.Ordinal);
        Assert.Contains("data-rx=\"prescriber-fax\">503-555-0111<", print, StringComparison.Ordinal);
        Assert.Matches(@"data-written>\d{4}-\d{2}-\d{2}<", print);
        Assert.Contains("class=\"signature-line\"", print, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
        Assert.DoesNotContain("1234567893", await theirs.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        // The view is audited as the referral's page is: the API recorded the therapist's read of the referral.
        var today = DateOnly.FromDateTime(Apps.Time.GetUtcNow().UtcDateTime);
        var (events, _) = await Apps.Functions.Services.GetRequiredService<AuditTrail>()
            .SearchAsync(today.AddDays(-1), today.AddDays(1), null, null, 1000, null, Ct);
        Assert.Contains(events, e => e.Subtype.Single().Code == "read" && e.Entity[0].What?.Reference == $"ServiceRequest/{id}"
            && e.Agent.Single().Who?.Reference == $"PractitionerRole/{therapist.Id}");
    }

    private async Task<HttpClient> SignedInAsync(InboxApps.Therapist therapist)
    {
        var browser = Apps.Browser();
        await Apps.SignInAsync(browser, therapist);
        return browser;
    }
}

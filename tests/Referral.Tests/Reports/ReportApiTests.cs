using System.Net;
using System.Xml.Linq;
using Hl7.Fhir.Model;
using Referral.Tests.Infrastructure;
using UglyToad.PdfPig;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Reports;

/// <summary>The progress report downloads through the real pipeline, real tokens and Azurite, read back out of the PDF.</summary>
public sealed class ReportApiTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The PDF's words, in reading order, one space apart (line breaks and wrapping do not split a phrase).</summary>
    public static string PdfText(byte[] pdf)
    {
        using var document = PdfDocument.Open(pdf);
        return string.Join(" ", document.GetPages().SelectMany(p => p.GetWords()).Select(w => w.Text));
    }

    /// <summary>An attachment's hash is the SHA-1 of its content, as FHIR R4 defines <c>Attachment.hash</c>.</summary>
    internal static void AssertHashIsOfContent(Attachment attachment)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        Assert.NotNull(attachment.Data);
#pragma warning disable CA5350 // Why: FHIR R4's Attachment.hash is SHA-1; the test recomputes it, it secures nothing.
        Assert.Equal(System.Security.Cryptography.SHA1.HashData(attachment.Data), attachment.Hash);
#pragma warning restore CA5350
    }

    private static Parameters SessionOf(DateTimeOffset start, int minutes, int painBefore, int painAfter, string? note = null)
    {
        var session = Session(start, painBefore: painBefore, painAfter: painAfter);
        session.Parameter.Single(p => p.Name == "minutes").Value = new Integer(minutes);
        if (note is not null)
        {
            session.Parameter.Single(p => p.Name == "note").Value = new FhirString(note);
        }

        return session;
    }

    /// <summary>A referral with two sessions: 45 minutes (pain 7 to 4), then 23 minutes (pain 5 to 2).</summary>
    private static async Task<string> TwoSessionsAsync(ReferralScenario scenario, string? note = null)
    {
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var now = scenario.Time.GetUtcNow();
        using (var first = await scenario.RecordSessionAsync(id, SessionOf(now.AddHours(-26), 45, 7, 4)))
        {
            Assert.True(first.StatusCode == HttpStatusCode.Created, await first.Content.ReadAsStringAsync(Ct));
        }

        using (var second = await scenario.RecordSessionAsync(id, SessionOf(now.AddHours(-2), 23, 5, 2, note)))
        {
            Assert.True(second.StatusCode == HttpStatusCode.Created, await second.Content.ReadAsStringAsync(Ct));
        }

        return id;
    }

    [Fact]
    public async Task The_therapist_s_payer_copy_names_the_patient_the_diagnosis_each_session_s_pain_and_its_CPT_units()
    {
        await using var scenario = new ReferralScenario(functions);
        var id = await TwoSessionsAsync(scenario);
        using var therapist = scenario.AsTherapist();

        using var response = await therapist.GetAsync(Url($"/api/fhir/ServiceRequest/{id}/$progress-report?copy=payer"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/pdf", response.Content.Headers.ContentType?.MediaType);
        var text = PdfText(await response.Content.ReadAsByteArrayAsync(Ct));
        Assert.Contains("progress report (payer's copy)", text, StringComparison.Ordinal);
        Assert.Contains("Alex Doe", text, StringComparison.Ordinal);
        Assert.Contains("ICD-10-CM G56.01", text, StringComparison.Ordinal);
        Assert.Contains("Session 1:", text, StringComparison.Ordinal);
        Assert.Contains("Pain 7/10 before, 4/10 after", text, StringComparison.Ordinal);
        Assert.Contains("Pain 5/10 before, 2/10 after", text, StringComparison.Ordinal);
        // 45 minutes bill 3 units, 23 minutes 2 (the 8-minute rule).
        Assert.Contains("CPT 97124 x 3 units; ICD-10-CM G56.01", text, StringComparison.Ordinal);
        Assert.Contains("CPT 97124 x 2 units; ICD-10-CM G56.01", text, StringComparison.Ordinal);
        Assert.Contains("Coverage type: Workers' compensation", text, StringComparison.Ordinal);
        Assert.Contains("Claim number: WC-1", text, StringComparison.Ordinal);
        Assert.Contains("Sessions: 2 done of 6 prescribed, 4 remaining", text, StringComparison.Ordinal);
        Assert.Contains("Right wrist", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_physician_s_copy_shows_the_course_without_the_claim_or_the_billing()
    {
        await using var scenario = new ReferralScenario(functions);
        var id = await TwoSessionsAsync(scenario);
        using var physician = scenario.AsPhysician();

        using var response = await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{id}/$progress-report"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = PdfText(await response.Content.ReadAsByteArrayAsync(Ct));
        Assert.Contains("Medical massage progress report", text, StringComparison.Ordinal);
        Assert.Contains("Pain 7/10 before, 4/10 after", text, StringComparison.Ordinal);
        Assert.DoesNotContain("CPT", text, StringComparison.Ordinal);
        Assert.DoesNotContain("WC-1", text, StringComparison.Ordinal);
        Assert.Contains("Continue treatment: 4 of 6 sessions remaining", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_XHTML_rendition_is_well_formed_and_carries_the_therapist_s_words_escaped_as_text()
    {
        await using var scenario = new ReferralScenario(functions);
        var id = await TwoSessionsAsync(scenario, note: "Grip < 5 kg & improving");
        using var therapist = scenario.AsTherapist();

        using var response = await therapist.GetAsync(Url($"/api/fhir/ServiceRequest/{id}/$progress-report?format=xhtml"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/xhtml+xml", response.Content.Headers.ContentType?.MediaType);
        var html = XDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        XNamespace x = "http://www.w3.org/1999/xhtml";
        Assert.Contains(html.Descendants(x + "p"), p => p.Value == "Grip < 5 kg & improving");
        Assert.Contains(html.Descendants(x + "li"), li => li.Value == "Pain 5/10 before, 2/10 after");
    }

    [Fact]
    public async Task Another_therapist_and_a_physician_of_another_patient_are_told_the_report_does_not_exist()
    {
        await using var scenario = new ReferralScenario(functions);
        var id = await TwoSessionsAsync(scenario);
        using var other = scenario.AsTherapist(scenario.OtherTherapist);
        using var stranger = scenario.App.ClientWith(identity.Physician("someone-else", "another-patient", ehr: scenario.Ehr, at: scenario.Time.GetUtcNow()));

        using var asOther = await other.GetAsync(Url($"/api/fhir/ServiceRequest/{id}/$progress-report?copy=payer"), Ct);
        using var asStranger = await stranger.GetAsync(Url($"/api/fhir/ServiceRequest/{id}/$progress-report"), Ct);

        Assert.Equal(HttpStatusCode.NotFound, asOther.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, asStranger.StatusCode);
        Assert.Equal("application/fhir+json", asOther.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_unknown_copy_or_format_is_a_400_naming_the_parameter()
    {
        await using var scenario = new ReferralScenario(functions);
        var id = await TwoSessionsAsync(scenario);
        using var therapist = scenario.AsTherapist();

        using var badCopy = await therapist.GetAsync(Url($"/api/fhir/ServiceRequest/{id}/$progress-report?copy=lawyer"), Ct);
        using var badFormat = await therapist.GetAsync(Url($"/api/fhir/ServiceRequest/{id}/$progress-report?format=docx"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, badCopy.StatusCode);
        Assert.Equal("copy", (await ReadAsync<OperationOutcome>(badCopy)).Issue.Single().Expression.Single());
        Assert.Equal(HttpStatusCode.BadRequest, badFormat.StatusCode);
        Assert.Equal("format", (await ReadAsync<OperationOutcome>(badFormat)).Issue.Single().Expression.Single());
    }
}

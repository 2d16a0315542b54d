using System.Net;
using System.Xml.Linq;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Referral.Functions.Reports;
using Referral.Tests.Infrastructure;
using Referral.Tests.Reports;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>
/// The progress report into the EHR (WireMock) as a DocumentReference, through the same backend-services write-back
/// as the Observations, fired by the local trigger runner.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class ReportWriteBackTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static readonly FhirXmlDeserializer Xml = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict));

    [Fact]
    public async Task After_every_Nth_session_the_EHR_gets_one_valid_DocumentReference_whose_attachments_match_their_hashes()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(reportEverySessions: 2));
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-5), painBefore: 7, painAfter: 4))).StatusCode);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        Assert.Empty(ehr.Creates("DocumentReference"));

        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-2), painBefore: 5, painAfter: 2))).StatusCode);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var posted = Assert.Single(ehr.Creates("DocumentReference"));
        Assert.Equal(8, ehr.Creates("Observation").Count);
        Assert.StartsWith("application/fhir+xml", posted.RequestMessage!.Headers!["Content-Type"].Single(), StringComparison.Ordinal);
        var document = new FhirXmlDeserializer(new DeserializerSettings().UsingMode(DeserializationMode.Strict)).Deserialize<DocumentReference>(posted.RequestMessage!.Body!);
        Assert.Empty(FhirSpec.Errors(document));
        Assert.Equal(DocumentReferenceStatus.Current, document.Status);
        Assert.Equal(("http://loinc.org", "11506-3"), (document.Type!.Coding.Single().System, document.Type.Coding.Single().Code));
        Assert.Equal("clinical-note", document.Category.Single().Coding.Single().Code);
        Assert.Equal($"Patient/{scenario.Patient}", document.Subject!.Reference);
        Assert.Equal("ServiceRequest", document.Context!.Related.Single().Type);
        Assert.Equal($"{id}/session-2", document.Identifier.Single().Value);
        Assert.StartsWith("identifier=", posted.RequestMessage.Headers!["If-None-Exist"].Single(), StringComparison.Ordinal);
        Assert.Equal(["application/pdf", "application/xhtml+xml"], document.Content.Select(c => c.Attachment.ContentType));
        Assert.All(document.Content.Select(c => c.Attachment), ReportApiTests.AssertHashIsOfContent);
        // The sizes read from the XML as posted: the SDK's R5-shaped Attachment.Size property cannot read R4's unsignedInt back.
        XNamespace fhir = "http://hl7.org/fhir";
        var sizes = XDocument.Parse(posted.RequestMessage.Body!).Descendants(fhir + "size")
            .Select(e => int.Parse(e.Attribute("value")!.Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(document.Content.Select(c => c.Attachment.Data!.Length), sizes);
        var text = ReportApiTests.PdfText(document.Content[0].Attachment.Data!);
        Assert.Contains("Pain 7/10 before, 4/10 after", text, StringComparison.Ordinal);
        Assert.Contains("Pain 5/10 before, 2/10 after", text, StringComparison.Ordinal);
        Assert.NotNull(XDocument.Parse(System.Text.Encoding.UTF8.GetString(document.Content[1].Attachment.Data!)).Root);
    }

    [Fact]
    public async Task A_report_written_after_the_course_moved_on_reports_its_own_session_and_the_discharge_summary_the_whole_course()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(reportEverySessions: 2));
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var now = scenario.Time.GetUtcNow();
        foreach (var (hoursAgo, before, after) in new[] { (50, 7, 4), (26, 5, 2), (2, 3, 1) })
        {
            using var recorded = await scenario.RecordSessionAsync(id, Session(now.AddHours(-hoursAgo), painBefore: before, painAfter: after));
            Assert.Equal(HttpStatusCode.Created, recorded.StatusCode);
        }

        using var therapist = scenario.AsTherapist();
        using var completed = await therapist.PostAsync(Url($"/api/fhir/Task/{id}/$complete"),
            Body(new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "outcome", Value = new FhirString("Pain 7 to 1.") }] }), Ct);
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);

        // Nothing ran until now: the queued write-backs find the course closed with three sessions.
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var documents = ehr.Creates("DocumentReference").Select(d => Xml.Deserialize<DocumentReference>(d.RequestMessage!.Body!)).ToList();
        var afterSecond = Assert.Single(documents, d => d.Identifier.Single().Value == $"{id}/session-2");
        var discharge = Assert.Single(documents, d => d.Identifier.Single().Value == $"{id}/discharge");
        Assert.Equal(2, documents.Count);
        Assert.Equal("11506-3", afterSecond.Type!.Coding.Single().Code);
        var progressText = ReportApiTests.PdfText(afterSecond.Content[0].Attachment.Data!);
        Assert.Contains("Pain 5/10 before, 2/10 after", progressText, StringComparison.Ordinal);
        Assert.DoesNotContain("Pain 3/10 before, 1/10 after", progressText, StringComparison.Ordinal);
        Assert.Contains("Continue treatment: 4 of 6 sessions remaining", progressText, StringComparison.Ordinal);
        Assert.Equal("18842-5", discharge.Type!.Coding.Single().Code);
        var dischargeText = ReportApiTests.PdfText(discharge.Content[0].Attachment.Data!);
        Assert.Contains("Pain 3/10 before, 1/10 after", dischargeText, StringComparison.Ordinal);
        Assert.Contains("Pain 7 to 1.", dischargeText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_EHR_set_to_documents_only_gets_the_report_and_no_Observations_under_a_DocumentReference_scope()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(writes: "Documents", reportEverySessions: 1));
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();

        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-2)))).StatusCode);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        Assert.Single(ehr.Creates("DocumentReference"));
        Assert.Empty(ehr.Creates("Observation"));
        Assert.Equal("system/DocumentReference.c", ehr.TokenRequest()["scope"]);
        Assert.Equal(ReportDocument.IdentifierSystem, new FhirXmlDeserializer(new DeserializerSettings().UsingMode(DeserializationMode.Strict)).Deserialize<DocumentReference>(ehr.Creates("DocumentReference")[0].RequestMessage!.Body!).Identifier.Single().System);
    }
}

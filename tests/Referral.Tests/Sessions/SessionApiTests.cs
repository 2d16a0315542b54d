using System.Net;
using Hl7.Fhir.Model;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Sessions;

/// <summary>Recording sessions and reading progress through the real pipeline, real tokens and Azurite.</summary>
public sealed class SessionApiTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IEnumerable<string?> Expressions(OperationOutcome outcome) => outcome.Issue.SelectMany(i => i.Expression);

    [Fact]
    public async Task A_recorded_session_stores_a_Procedure_and_Observations_and_moves_the_Task()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();

        using var response = await scenario.RecordSessionAsync(id, Session(), ifMatch: "W/\"2\"");

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("W/\"3\"", response.Headers.ETag?.ToString());
        var result = await ReadAsync<Parameters>(response);
        var task = Assert.IsType<Hl7.Fhir.Model.Task>(result.Parameter.Single(p => p.Name == "task").Resource);
        var procedure = Assert.IsType<Procedure>(result.Parameter.Single(p => p.Name == "procedure").Resource);
        var observations = result.Parameter.Where(p => p.Name == "observation").Select(p => Assert.IsType<Observation>(p.Resource)).ToList();
        Assert.Equal("5.1.4", task.BusinessStatus!.Coding.Single().Code);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.InProgress, task.Status);
        Assert.Equal($"ServiceRequest/{id}", procedure.BasedOn.Single().Reference);
        Assert.Equal(4, observations.Count);
        Assert.All(observations, o => Assert.Equal($"Procedure/{procedure.Id}", o.PartOf.Single().Reference));
        Assert.Equal(5, task.Output.Count);
        Assert.Contains(task.Output, o => ((ResourceReference)o.Value!).Reference == $"Procedure/{procedure.Id}");
        Assert.Equal(1, ((Integer)result.Parameter.Single(p => p.Name == "session").Value!).Value);
        Assert.Equal(5, ((Integer)result.Parameter.Single(p => p.Name == "remainingSessions").Value!).Value);
    }

    [Fact]
    public async Task Two_sessions_are_searchable_by_based_on_and_by_patient_oldest_first()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var first = scenario.Time.GetUtcNow().AddHours(-5);
        var second = scenario.Time.GetUtcNow().AddHours(-2);
        // Recorded out of order: the search sorts by when things happened, not when they were typed in.
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(second, painBefore: 5, painAfter: 2))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(first, painBefore: 7, painAfter: 4))).StatusCode);

        using var physician = scenario.AsPhysician();
        using var therapist = scenario.AsTherapist();
        var byReferral = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/Observation?based-on=ServiceRequest/{id}"), Ct));
        var byPatient = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/Observation?patient=Patient/{scenario.Patient}"), Ct));
        var forTherapist = await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Observation?patient={scenario.Patient}&based-on={id}"), Ct));
        var procedures = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/Procedure?based-on={id}"), Ct));

        Assert.Equal(Bundle.BundleType.Searchset, byReferral.Type);
        Assert.Equal(8, byReferral.Total);
        var pain = byReferral.Entry.Select(e => (Observation)e.Resource!).Where(o => o.Code.Coding[0].Code == "72514-3")
            .Select(o => ((Quantity)o.Value!).Value).ToList();
        Assert.Equal([7m, 4m, 5m, 2m], pain);
        var dates = byReferral.Entry.Select(e => ((FhirDateTime)((Observation)e.Resource!).Effective!).ToDateTimeOffset(TimeSpan.Zero)).ToList();
        Assert.Equal(dates.Order(), dates);
        Assert.Equal(byReferral.Entry.Select(e => e.Resource!.Id), byPatient.Entry.Select(e => e.Resource!.Id));
        Assert.Equal(byReferral.Entry.Select(e => e.Resource!.Id), forTherapist.Entry.Select(e => e.Resource!.Id));
        Assert.Equal(2, procedures.Total);
        Assert.True(((Period)((Procedure)procedures.Entry[0].Resource!).Performed!).Start!.CompareTo(((Period)((Procedure)procedures.Entry[1].Resource!).Performed!).Start) < 0);
    }

    [Fact]
    public async Task A_session_past_the_prescribed_count_is_refused_with_an_OperationOutcome_naming_the_count()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync(scenario.DraftValidSinceLastWeek() with { Sessions = 1 });
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddHours(-4)))).StatusCode);

        using var response = await scenario.RecordSessionAsync(id, Session());

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("ServiceRequest.occurrence.repeat.count", Expressions(await ReadAsync<OperationOutcome>(response)));
        using var physician = scenario.AsPhysician();
        var procedures = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/Procedure?based-on={id}"), Ct));
        Assert.Equal(1, procedures.Total);
    }

    [Fact]
    public async Task A_session_on_a_body_site_not_prescribed_is_refused_naming_the_parameter()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();

        using var response = await scenario.RecordSessionAsync(id, Session(sites: [new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Shoulder, Laterality.Left)]));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var outcome = await ReadAsync<OperationOutcome>(response);
        Assert.Equal(["Parameters.parameter.where(name='bodySite')[1].value"], Expressions(outcome));
        Assert.Contains("Left shoulder region", outcome.Issue.Single().Details!.Text, StringComparison.Ordinal);
        using var physician = scenario.AsPhysician();
        Assert.Equal(0, (await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/Observation?based-on={id}"), Ct))).Total);
    }

    [Fact]
    public async Task A_session_outside_the_validity_and_a_session_before_acceptance_are_refused()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var (_, notAccepted) = await scenario.SubmitAsync(scenario.DraftValidSinceLastWeek());

        using var early = await scenario.RecordSessionAsync(id, Session(scenario.Time.GetUtcNow().AddDays(-10)));
        using var unaccepted = await scenario.RecordSessionAsync(notAccepted!.Id!, Session());

        Assert.Equal(HttpStatusCode.UnprocessableEntity, early.StatusCode);
        Assert.Contains("Parameters.parameter.where(name='start').value", Expressions(await ReadAsync<OperationOutcome>(early)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, unaccepted.StatusCode);
        Assert.Contains("Task.status", Expressions(await ReadAsync<OperationOutcome>(unaccepted)));
    }

    [Fact]
    public async Task Only_the_therapist_the_referral_is_assigned_to_records_sessions()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var physician = scenario.AsPhysician();
        using var other = scenario.AsTherapist(scenario.OtherTherapist);

        using var byPhysician = await scenario.RecordSessionAsync(id, Session(), physician);
        using var byOther = await scenario.RecordSessionAsync(id, Session(), other);

        Assert.Equal(HttpStatusCode.Forbidden, byPhysician.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, byOther.StatusCode);
        Assert.Empty((await ReadAsync<Bundle>(await other.GetAsync(Url($"/api/fhir/Observation?based-on={id}"), Ct))).Entry);
        using var stranger = scenario.App.ClientWith(identity.Physician("dr-someone-else", "pat-someone-else"));
        Assert.Empty((await ReadAsync<Bundle>(await stranger.GetAsync(Url($"/api/fhir/Observation?patient={scenario.Patient}"), Ct))).Entry);
    }

    [Fact]
    public async Task The_same_session_sent_again_is_answered_with_what_was_stored_and_recorded_once()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var session = Session();

        using var first = await scenario.RecordSessionAsync(id, session, ifMatch: "W/\"2\"");
        using var retry = await scenario.RecordSessionAsync(id, session, ifMatch: "W/\"2\"");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        var firstProcedure = (await ReadAsync<Parameters>(first)).Parameter.Single(p => p.Name == "procedure").Resource!.Id;
        var retryProcedure = (await ReadAsync<Parameters>(retry)).Parameter.Single(p => p.Name == "procedure").Resource!.Id;
        Assert.Equal(firstProcedure, retryProcedure);
        using var therapist = scenario.AsTherapist();
        Assert.Equal(1, (await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Procedure?based-on={id}"), Ct))).Total);
    }

    [Fact]
    public async Task A_stale_If_Match_is_refused_with_412_and_records_nothing()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();

        using var response = await scenario.RecordSessionAsync(id, Session(), ifMatch: "W/\"1\"");

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        using var therapist = scenario.AsTherapist();
        Assert.Equal(0, (await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Procedure?based-on={id}"), Ct))).Total);
    }

    public static TheoryData<string, string, int> BadBodies() => new()
    {
        { "missing start", "start", 400 },
        { "unknown parameter", "pressure", 400 },
        { "unknown technique", "technique", 422 },
        { "pain out of range", "painAfter", 422 },
        { "markup in the note", "note", 422 },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_bad_session_body_is_refused_naming_the_parameter(string problem, string parameter, int status)
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        var session = Session();
        switch (problem)
        {
            case "missing start":
                session.Parameter.RemoveAll(p => p.Name == "start");
                break;
            case "unknown parameter":
                session.Add("pressure", new FhirString("firm"));
                break;
            case "unknown technique":
                session.Parameter.Single(p => p.Name == "technique").Value = new Coding("http://example.org/techniques", "hot-stones");
                break;
            case "pain out of range":
                session.Parameter.Single(p => p.Name == "painAfter").Value = new Integer(11);
                break;
            default:
                session.Parameter.Single(p => p.Name == "note").Value = new FhirString("<script>alert(1)</script>");
                break;
        }

        using var response = await scenario.RecordSessionAsync(id, session);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(Expressions(await ReadAsync<OperationOutcome>(response)), e => e!.Contains($"name='{parameter}'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_search_without_based_on_or_patient_is_a_400()
    {
        await using var scenario = new ReferralScenario(functions);
        using var physician = scenario.AsPhysician();

        using var response = await physician.GetAsync(Url("/api/fhir/Observation"), Ct);
        using var badReference = await physician.GetAsync(Url("/api/fhir/Procedure?based-on=Patient/x"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badReference.StatusCode);
    }

    [Fact]
    public async Task Recording_and_reading_sessions_leaves_AuditEvents()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        await scenario.RecordSessionAsync(id, Session());
        using var physician = scenario.AsPhysician();
        await physician.GetAsync(Url($"/api/fhir/Observation?based-on={id}"), Ct);

        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200"), Ct));
        var events = audit.Entry.Select(e => e.Resource).OfType<AuditEvent>().ToList();

        Assert.Contains(events, e => e.Subtype.Single().Code == "operation" && e.Entity[0].What?.Reference == $"Task/{id}" && e.Action == AuditEvent.AuditEventAction.U
            && e.Agent.Single().Who?.Reference == $"PractitionerRole/{scenario.Therapist}");
        Assert.Contains(events, e => e.Subtype.Single().Code == "search-type" && e.Entity[0].What?.Reference == "Observation");
    }
}

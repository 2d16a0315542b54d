using System.Net;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using static Referral.Tests.Referrals.CourseCloseAndRenewalTests;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// The physician's answer to a renewal request (<c>$approve-renewal</c>, <c>$decline-renewal</c>) through the real
/// pipeline, real tokens and Azurite: the prescription revised as the next version of the same ServiceRequest, the
/// session past the old count refused before and accepted after, only the requesting physician answering.
/// </summary>
public sealed class RenewalAnswerTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Approval_revises_the_prescription_as_its_next_version_and_a_session_past_the_old_count_is_refused_before_and_accepted_after()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync(scenario.DraftValidSinceLastWeek() with { Sessions = 1 });
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, Session(TestClock.Now.AddHours(-3)))).StatusCode);
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();

        using var beyond = await scenario.RecordSessionAsync(id, Session(TestClock.Now.AddHours(-1)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, beyond.StatusCode);
        Assert.Contains((await ReadAsync<OperationOutcome>(beyond)).Issue, i => i.RuleOf() == ValidationRules.SessionCountExceeded);

        (await PostAsync(therapist, id, "request-renewal", Renewal("Grip still weak.", 4))).EnsureSuccessStatusCode();
        var today = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime);
        using var approved = await PostAsync(physician, id, "approve-renewal", Approval(4, today.AddDays(120)), ifMatch: "W/\"4\"");

        Assert.True(approved.StatusCode == HttpStatusCode.OK, await approved.Content.ReadAsStringAsync(Ct));
        Assert.Equal("W/\"5\"", approved.Headers.ETag?.ToString());
        var task = await ReadAsync<FhirTask>(approved);
        Assert.Equal(FhirTask.TaskStatus.InProgress, task.Status);
        var answer = Assert.Single(RenewalAnswers.AnswersOf(task));
        Assert.Equal((RenewalDecision.Approved, (int?)4, (DateOnly?)today.AddDays(120)), (answer.Decision, answer.Sessions, answer.ValidUntil));
        Assert.Null(RenewalAnswers.Pending(task));

        // The same ServiceRequest, its next version: 5 sessions, valid 120 days from today, the zone kept.
        var request = await ReadAsync<ServiceRequest>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), Ct));
        Assert.Equal(id, request.Id);
        Assert.Equal("5", request.Meta?.VersionId);
        var repeat = Assert.IsType<Timing>(request.Occurrence).Repeat!;
        Assert.Equal(5, repeat.Count);
        var bounds = Assert.IsType<Period>(repeat.Bounds);
        Assert.Equal(FhirTime.Date(today.AddDays(120)), bounds.End);
        Assert.Equal(PracticeTime.ZoneIdOf(bounds.StartElement), PracticeTime.ZoneIdOf(bounds.EndElement));
        Assert.Equal(RequestStatus.Active, request.Status);
        Assert.Empty(FhirSpec.Errors(request));
        Assert.Empty(FhirSpec.Errors(task));
        Assert.Empty(new ReferralValidator(scenario.Time).Validate(request, _ => Enum.GetValues<TherapistTraining>()).Problems());

        using var after = await scenario.RecordSessionAsync(id, Session(TestClock.Now.AddHours(-1)));
        Assert.True(after.StatusCode == HttpStatusCode.Created, await after.Content.ReadAsStringAsync(Ct));

        using var again = await PostAsync(physician, id, "approve-renewal", Approval(2, today.AddDays(120)));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(ValidationRules.RenewalNotPending, (await ReadAsync<OperationOutcome>(again)).Issue.Single().RuleOf());

        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200"), Ct));
        Assert.Contains(audit.Entry.Select(e => e.Resource).OfType<AuditEvent>(), e =>
            e.Subtype.Single().Code == "operation" && e.Action == AuditEvent.AuditEventAction.U
            && e.Entity.Any(x => x.What?.Reference == $"ServiceRequest/{id}") && e.Agent.Single().Who?.Reference == $"{scenario.Ehr}/Practitioner/{scenario.Physician}");
    }

    [Fact]
    public async Task Only_the_physician_who_wrote_the_referral_may_answer_its_renewal_and_nothing_changes_otherwise()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();
        (await PostAsync(therapist, id, "request-renewal", Renewal("More needed.", 2))).EnsureSuccessStatusCode();
        var until = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime).AddDays(100);
        // Another physician launched on the same patient sees the referral, but did not write it.
        using var colleague = scenario.App.ClientWith(identity.Physician("dr-colleague", scenario.Patient, ehr: scenario.Ehr, at: scenario.Time.GetUtcNow()));
        using var other = scenario.AsTherapist(scenario.OtherTherapist);

        using var byColleague = await PostAsync(colleague, id, "approve-renewal", Approval(2, until));
        using var byColleagueDecline = await PostAsync(colleague, id, "decline-renewal", Reason("Not mine to say."));
        using var byTherapist = await PostAsync(therapist, id, "approve-renewal", Approval(2, until));
        using var byOtherTherapist = await PostAsync(other, id, "decline-renewal", Reason("No."));

        Assert.Equal(HttpStatusCode.Forbidden, byColleague.StatusCode);
        Assert.Equal(ValidationRules.RenewalNotRequester, (await ReadAsync<OperationOutcome>(byColleague)).Issue.Single().RuleOf());
        Assert.Equal(HttpStatusCode.Forbidden, byColleagueDecline.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byTherapist.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byOtherTherapist.StatusCode);
        var task = await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Empty(RenewalAnswers.AnswersOf(task));
        Assert.NotNull(RenewalAnswers.Pending(task));
        Assert.Equal(6, Assert.IsType<Timing>((await ReadAsync<ServiceRequest>(await therapist.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), Ct))).Occurrence).Repeat!.Count);
    }

    [Fact]
    public async Task Declining_needs_a_reason_keeps_the_prescription_and_the_therapist_reads_the_answer()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();
        (await PostAsync(therapist, id, "request-renewal", Renewal("More needed.", 2))).EnsureSuccessStatusCode();

        using var noReason = await PostAsync(physician, id, "decline-renewal", Reason("   "));
        using var declined = await PostAsync(physician, id, "decline-renewal", Reason("Refer back to me first: I want to re-examine."));

        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);
        var noReasonIssues = (await ReadAsync<OperationOutcome>(noReason)).Issue;
        Assert.True(noReasonIssues.Count == 1, string.Join("; ", noReasonIssues.Select(i => $"{string.Join(",", i.Expression)} {i.Details?.Text}")));
        Assert.Equal(["Parameters.parameter.where(name='reason')"], noReasonIssues[0].Expression);
        Assert.Equal(HttpStatusCode.OK, declined.StatusCode);
        var task = await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        var answer = Assert.Single(RenewalAnswers.AnswersOf(task));
        Assert.Equal((RenewalDecision.Declined, "Refer back to me first: I want to re-examine.", (int?)null), (answer.Decision, answer.Text, answer.Sessions));
        Assert.Null(RenewalAnswers.Pending(task));
        Assert.Equal(FhirTask.TaskStatus.InProgress, task.Status);
        var request = await ReadAsync<ServiceRequest>(await therapist.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), Ct));
        Assert.Equal(6, Assert.IsType<Timing>(request.Occurrence).Repeat!.Count);
        Assert.Empty(FhirSpec.Errors(task));
    }

    [Fact]
    public async Task An_approval_out_of_range_or_malformed_is_refused_naming_the_parameter_and_one_with_no_request_pending_is_a_conflict()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();
        var today = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime);

        using var nothingPending = await PostAsync(physician, id, "approve-renewal", Approval(2, today.AddDays(60)));
        Assert.Equal(HttpStatusCode.Conflict, nothingPending.StatusCode);
        (await PostAsync(therapist, id, "request-renewal", Renewal("More needed.", 2))).EnsureSuccessStatusCode();
        var noDate = new Parameters();
        noDate.Add("sessions", new Integer(2));
        var textSessions = Approval(2, today.AddDays(60));
        textSessions.Parameter[0].Value = new FhirString("two");

        var cases = new (Parameters Body, HttpStatusCode Status, string Expression)[]
        {
            (Approval(0, today.AddDays(60)), HttpStatusCode.UnprocessableEntity, "Parameters.parameter.where(name='sessions').value"),
            (Approval(47, today.AddDays(358)), HttpStatusCode.UnprocessableEntity, "Parameters.parameter.where(name='sessions').value"),
            (Approval(2, today.AddDays(-1)), HttpStatusCode.UnprocessableEntity, "Parameters.parameter.where(name='validUntil').value"),
            (Approval(2, today.AddDays(400)), HttpStatusCode.UnprocessableEntity, "Parameters.parameter.where(name='validUntil').value"),
            (noDate, HttpStatusCode.BadRequest, "Parameters.parameter.where(name='validUntil')"),
            (textSessions, HttpStatusCode.BadRequest, "Parameters.parameter.where(name='sessions').value"),
        };
        foreach (var (body, status, expression) in cases)
        {
            using var response = await PostAsync(physician, id, "approve-renewal", body);

            Assert.Equal(status, response.StatusCode);
            Assert.Equal([expression], (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression);
        }

        var task = await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.NotNull(RenewalAnswers.Pending(task));
    }

    [Fact]
    public async Task A_completed_course_has_no_renewal_waiting_and_cannot_be_approved()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();
        (await PostAsync(therapist, id, "request-renewal", Renewal("More needed.", 2))).EnsureSuccessStatusCode();
        (await PostAsync(therapist, id, "complete", Discharge("Recovered after all.", null))).EnsureSuccessStatusCode();

        using var approved = await PostAsync(physician, id, "approve-renewal", Approval(2, DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime).AddDays(30)));

        Assert.Equal(HttpStatusCode.Conflict, approved.StatusCode);
        Assert.Null(RenewalAnswers.Pending(await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct))));
    }

    internal static Parameters Approval(int sessions, DateOnly validUntil)
    {
        var parameters = new Parameters();
        parameters.Add("sessions", new Integer(sessions));
        parameters.Add("validUntil", new Date(FhirTime.Date(validUntil)));
        return parameters;
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// The closed loop's API: <c>$complete</c> with the therapist's discharge summary, and <c>$request-renewal</c>; through
/// the real pipeline, real tokens and Azurite.
/// </summary>
public sealed class CourseCloseAndRenewalTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Completing_a_treated_course_stores_the_outcome_and_recommendations_on_the_Task_and_completes_the_ServiceRequest()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();

        using var completed = await PostAsync(therapist, id, "complete", Discharge("Pain 6 to 2; grip strength back.", "Nerve glides daily; review in 3 months."), ifMatch: "W/\"3\"");

        Assert.True(completed.StatusCode == HttpStatusCode.OK, await completed.Content.ReadAsStringAsync(Ct));
        Assert.Equal("W/\"4\"", completed.Headers.ETag?.ToString());
        Assert.Equal(new DischargeSummary("Pain 6 to 2; grip strength back.", "Nerve glides daily; review in 3 months."),
            ReferralTasks.DischargeSummaryOf(await ReadAsync<FhirTask>(completed)));
        using var physician = scenario.AsPhysician();
        var task = await ReadAsync<FhirTask>(await physician.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal(FhirTask.TaskStatus.Completed, task.Status);
        Assert.Equal("Pain 6 to 2; grip strength back.", ReferralTasks.DischargeSummaryOf(task)?.Outcome);
        var request = await ReadAsync<ServiceRequest>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), Ct));
        Assert.Equal(RequestStatus.Completed, request.Status);
    }

    [Fact]
    public async Task Completing_a_treated_course_without_an_outcome_is_refused_naming_the_outcome_parameter_and_changes_nothing()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();

        using var noBody = await therapist.PostAsync(Url($"/api/fhir/Task/{id}/$complete"), null, Ct);
        using var onlyRecommendations = await PostAsync(therapist, id, "complete", Discharge(null, "Keep stretching."));
        using var blank = await PostAsync(therapist, id, "complete", Discharge("   ", null));

        foreach (var response in new[] { noBody, onlyRecommendations, blank })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var issue = (await ReadAsync<OperationOutcome>(response)).Issue.Single();
            Assert.Equal(["Parameters.parameter.where(name='outcome')"], issue.Expression);
            Assert.Equal(ValidationRules.DischargeOutcomeRequired, issue.RuleOf());
        }

        var task = await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal(FhirTask.TaskStatus.InProgress, task.Status);
        Assert.Equal("3", task.Meta!.VersionId);
        Assert.Null(ReferralTasks.DischargeSummaryOf(task));
    }

    [Fact]
    public async Task A_discharge_with_markup_or_of_the_wrong_type_and_an_outcome_on_another_operation_are_refused_naming_the_parameter()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();
        var coded = new Parameters();
        coded.Add("outcome", new CodeableConcept { Text = "Better" });

        using var markup = await PostAsync(therapist, id, "complete", Discharge("Better <script>alert(1)</script>", null));
        using var scriptedAdvice = await PostAsync(therapist, id, "complete", Discharge("Better.", "<img src=x onerror=alert(1)>"));
        using var wrongType = await PostAsync(therapist, id, "complete", coded);
        using var onCancel = await PostAsync(therapist, id, "cancel", Discharge("Better.", null));

        Assert.Equal<string>(
            ["Parameters.parameter.where(name='outcome').value", "Parameters.parameter.where(name='recommendations').value", "Parameters.parameter.where(name='outcome').value", "Parameters.parameter.where(name='outcome')"],
            await Task.WhenAll(new[] { markup, scriptedAdvice, wrongType, onCancel }.Select(async r =>
            {
                Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
                return (await ReadAsync<OperationOutcome>(r)).Issue.Single().Expression.Single()!;
            })));
    }

    [Fact]
    public async Task A_course_closed_after_a_no_show_with_no_session_recorded_needs_only_the_reason()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var therapist = scenario.AsTherapist();
        var store = scenario.App.Services.GetRequiredService<ReferralStore>();
        // Scheduled, then the patient did not come: the state machine's own moves, written as the inbox will.
        foreach (var state in new[] { ReferralTaskState.Scheduled, ReferralTaskState.NoShow })
        {
            var current = (await store.GetAsync(id, Ct))!;
            var moved = ReferralTaskStateMachine.Apply(current.Task, new TaskChange { To = state, Actor = TaskActor.Therapist, ActorReference = current.Task.Owner!.Reference }, scenario.Time.GetUtcNow());
            var actor = new Caller { Kind = CallerKind.Therapist, Id = scenario.Therapist, Display = $"PractitionerRole/{scenario.Therapist}" };
            Assert.NotNull(await store.UpdateAsync(current, moved.Task!, null, actor, scenario.Time.GetUtcNow(), Ct));
        }

        using var completed = await PostAsync(therapist, id, "complete", Reason("The patient stopped coming after the first booking."));

        Assert.True(completed.StatusCode == HttpStatusCode.OK, await completed.Content.ReadAsStringAsync(Ct));
        var task = await ReadAsync<FhirTask>(completed);
        Assert.Equal(FhirTask.TaskStatus.Completed, task.Status);
        Assert.Null(ReferralTasks.DischargeSummaryOf(task));
    }

    [Fact]
    public async Task The_therapist_requests_a_renewal_twice_and_the_Task_keeps_both_with_the_latest_read_first()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();

        using var first = await PostAsync(therapist, id, "request-renewal", Renewal("Grip still weak.", 4), ifMatch: "W/\"3\"");
        using var stale = await PostAsync(therapist, id, "request-renewal", Renewal("Sent from an old screen.", 2), ifMatch: "W/\"3\"");
        using var second = await PostAsync(therapist, id, "request-renewal", Renewal("Night pain is back.", null));

        Assert.True(first.StatusCode == HttpStatusCode.OK, await first.Content.ReadAsStringAsync(Ct));
        Assert.Equal("W/\"4\"", first.Headers.ETag?.ToString());
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        using var physician = scenario.AsPhysician();
        var task = await ReadAsync<FhirTask>(await physician.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal(FhirTask.TaskStatus.InProgress, task.Status);
        Assert.Equal([("Grip still weak.", (int?)4), ("Night pain is back.", null)], ReferralTasks.RenewalRequestsOf(task).Select(r => (r.Reason, r.AdditionalSessions)));
        Assert.Equal("Night pain is back.", ReferralTasks.RenewalRequestOf(task)!.Reason);
        Assert.Equal(1, ReferralTasks.SessionsRecorded(task));

        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200"), Ct));
        // The accept, the session and the two renewals; the stale attempt changed nothing.
        Assert.Equal(4, audit.Entry.Select(e => e.Resource).OfType<AuditEvent>().Count(e =>
            e.Subtype.Single().Code == "operation" && e.Action == AuditEvent.AuditEventAction.U
            && e.Entity.Any(x => x.What?.Reference == $"Task/{id}") && e.Agent.Single().Who?.Reference == $"PractitionerRole/{scenario.Therapist}"));
    }

    [Fact]
    public async Task A_renewal_is_refused_with_409_before_acceptance_and_after_a_decline_a_cancellation_or_completion()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();
        var created = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        var declined = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        (await PostAsync(therapist, declined, "decline", Reason("No openings."))).EnsureSuccessStatusCode();
        var cancelled = await scenario.SubmitAndAcceptAsync();
        (await PostAsync(physician, cancelled, "cancel", Reason("Patient moved away."))).EnsureSuccessStatusCode();
        var completed = await TreatedOnceAsync(scenario);
        (await PostAsync(therapist, completed, "complete", Discharge("Recovered.", null))).EnsureSuccessStatusCode();

        foreach (var id in new[] { created, declined, cancelled, completed })
        {
            using var response = await PostAsync(therapist, id, "request-renewal", Renewal("More sessions would help.", 4));

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            var issue = (await ReadAsync<OperationOutcome>(response)).Issue.Single();
            Assert.Equal(OperationOutcome.IssueType.BusinessRule, issue.Code);
            Assert.Equal(ValidationRules.RenewalNotUnderTreatment, issue.RuleOf());
            Assert.Null(ReferralTasks.RenewalRequestOf(await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct))));
        }
    }

    [Fact]
    public async Task Another_therapist_gets_404_and_the_physician_may_not_request_a_renewal()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var other = scenario.AsTherapist(scenario.OtherTherapist);
        using var physician = scenario.AsPhysician();

        using var byOther = await PostAsync(other, id, "request-renewal", Renewal("More needed.", 2));
        using var byPhysician = await PostAsync(physician, id, "request-renewal", Renewal("More needed.", 2));

        Assert.Equal(HttpStatusCode.NotFound, byOther.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byPhysician.StatusCode);
        using var therapist = scenario.AsTherapist();
        Assert.Null(ReferralTasks.RenewalRequestOf(await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct))));
    }

    [Fact]
    public async Task A_renewal_without_a_reason_with_markup_or_with_sessions_outside_1_to_52_is_refused_naming_the_parameter()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var therapist = scenario.AsTherapist();
        var unknown = Renewal("More needed.", 2);
        unknown.Add("weeks", new Integer(4));

        var cases = new (Parameters Body, string Expression)[]
        {
            (Renewal(null, 4), "Parameters.parameter.where(name='reason')"),
            (Renewal("<b>More</b>", 4), "Parameters.parameter.where(name='reason').value"),
            (Renewal("More needed.", 0), "Parameters.parameter.where(name='sessions').value"),
            (Renewal("More needed.", 53), "Parameters.parameter.where(name='sessions').value"),
            (unknown, "Parameters.parameter.where(name='weeks')"),
        };
        foreach (var (body, expression) in cases)
        {
            using var response = await PostAsync(therapist, id, "request-renewal", body);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal([expression], (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression);
        }
    }

    /// <summary>A referral accepted and treated once (Task version 3); its id.</summary>
    internal static async Task<string> TreatedOnceAsync(ReferralScenario scenario)
    {
        var id = await scenario.SubmitAndAcceptAsync();
        using var session = await scenario.RecordSessionAsync(id, Session());
        Assert.Equal(HttpStatusCode.Created, session.StatusCode);
        return id;
    }

    internal static Parameters Discharge(string? outcome, string? recommendations)
    {
        var parameters = new Parameters();
        if (outcome is not null)
        {
            parameters.Add("outcome", new FhirString(outcome));
        }

        if (recommendations is not null)
        {
            parameters.Add("recommendations", new FhirString(recommendations));
        }

        return parameters;
    }

    internal static Parameters Renewal(string? reason, int? sessions)
    {
        var parameters = new Parameters();
        if (reason is not null)
        {
            parameters.Add("reason", new FhirString(reason));
        }

        if (sessions is not null)
        {
            parameters.Add("sessions", new Integer(sessions));
        }

        return parameters;
    }

    internal static async Task<HttpResponseMessage> PostAsync(HttpClient client, string id, string operation, Parameters body, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url($"/api/fhir/Task/{id}/${operation}")) { Content = Body(body) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }
}

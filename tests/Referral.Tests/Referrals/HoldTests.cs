using System.Net;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using static Referral.Tests.Referrals.CourseCloseAndRenewalTests;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// A new referral put on hold while the therapist waits for an answer (<c>$hold</c> with a reason, <c>$resume</c>),
/// through the real pipeline, real tokens and Azurite: only the assigned therapist holds or resumes, the reason is
/// required at the parameter, holding twice or resuming what is not held is refused saying so, and from the hold the
/// referral can be accepted, declined or cancelled by the physician.
/// </summary>
public sealed class HoldTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Waiting = "Asked the physician whether the patient may lie prone after the surgery.";

    [Fact]
    public async Task The_therapist_puts_a_new_referral_on_hold_with_a_reason_resumes_it_then_accepts_it_and_every_step_is_audited()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();

        using var held = await PostAsync(therapist, id, "hold", Reason(Waiting), ifMatch: "W/\"1\"");

        Assert.True(held.StatusCode == HttpStatusCode.OK, await held.Content.ReadAsStringAsync(Ct));
        Assert.Equal("W/\"2\"", held.Headers.ETag?.ToString());
        var task = await ReadAsync<FhirTask>(held);
        Assert.Equal((FhirTask.TaskStatus.OnHold, Waiting, ReferralTaskState.OnHold), (task.Status, task.StatusReason?.Text, ReferralTaskStates.StateOf(task)));
        Assert.Equal("2.0", task.BusinessStatus?.Coding.Single().Code);
        Assert.Empty(FhirSpec.Errors(task));
        // The physician reads the same on-hold Task, and the ServiceRequest stays active.
        var seen = await ReadAsync<FhirTask>(await physician.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal((FhirTask.TaskStatus.OnHold, Waiting), (seen.Status, seen.StatusReason?.Text));
        Assert.Equal(RequestStatus.Active, (await ReadAsync<ServiceRequest>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), Ct))).Status);
        // It stays with the therapist's new referrals.
        var inbox = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task?status=requested,on-hold"), Ct));
        Assert.Contains(inbox.Entry, e => e.Resource?.Id == id);

        using var resumed = await PostAsync(therapist, id, "resume", new Parameters());
        Assert.True(resumed.StatusCode == HttpStatusCode.OK, await resumed.Content.ReadAsStringAsync(Ct));
        var afterResume = await ReadAsync<FhirTask>(resumed);
        Assert.Equal((FhirTask.TaskStatus.Requested, (CodeableConcept?)null), (afterResume.Status, afterResume.StatusReason));
        Assert.Empty(FhirSpec.Errors(afterResume));

        (await PostAsync(therapist, id, "hold", Reason("Waiting for the imaging report."))).EnsureSuccessStatusCode();
        using var accepted = await PostAsync(therapist, id, "accept", new Parameters());
        Assert.True(accepted.StatusCode == HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync(Ct));
        var final = await ReadAsync<FhirTask>(accepted);
        Assert.Equal(ReferralTaskState.Accepted, ReferralTaskStates.StateOf(final));
        Assert.Equal(
            [(HoldEvent.Held, Waiting), (HoldEvent.Resumed, null), (HoldEvent.Held, "Waiting for the imaging report.")],
            ReferralTasks.HoldsOf(final).Select(h => (h.Kind, h.Reason)));
        Assert.Empty(FhirSpec.Errors(final));

        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200"), Ct));
        var changes = audit.Entry.Select(e => e.Resource).OfType<AuditEvent>().Where(e =>
            e.Subtype.Single().Code == "operation" && e.Action == AuditEvent.AuditEventAction.U && e.Outcome == AuditEvent.AuditEventOutcome.N0
            && e.Entity.Any(x => x.What?.Reference == $"Task/{id}") && e.Agent.Single().Who?.Reference?.EndsWith($"PractitionerRole/{scenario.Therapist}", StringComparison.Ordinal) == true);
        Assert.Equal(4, changes.Count());
    }

    [Fact]
    public async Task Only_the_assigned_therapist_holds_or_resumes_and_nothing_changes_otherwise()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        using var other = scenario.AsTherapist(scenario.OtherTherapist);
        using var physician = scenario.AsPhysician();

        using var byOther = await PostAsync(other, id, "hold", Reason(Waiting));
        using var byPhysician = await PostAsync(physician, id, "hold", Reason(Waiting));

        // Another therapist's referral is absent to them (404, leaking nothing); the physician may not hold at all (403).
        Assert.Equal(HttpStatusCode.NotFound, byOther.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byPhysician.StatusCode);
        Assert.Equal(ValidationRules.TaskActorNotAllowed, (await ReadAsync<OperationOutcome>(byPhysician)).Issue.Single().RuleOf());

        using var therapist = scenario.AsTherapist();
        (await PostAsync(therapist, id, "hold", Reason(Waiting))).EnsureSuccessStatusCode();
        using var resumedByOther = await PostAsync(other, id, "resume", new Parameters());
        using var resumedByPhysician = await PostAsync(physician, id, "resume", new Parameters());
        Assert.Equal(HttpStatusCode.NotFound, resumedByOther.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, resumedByPhysician.StatusCode);

        var task = await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal((FhirTask.TaskStatus.OnHold, "2"), (task.Status, task.Meta?.VersionId));
        Assert.Single(ReferralTasks.HoldsOf(task));
    }

    [Fact]
    public async Task A_hold_without_a_reason_is_a_400_naming_the_reason_parameter_and_stores_nothing()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        using var therapist = scenario.AsTherapist();

        using var noBody = await therapist.PostAsync(Url($"/api/fhir/Task/{id}/$hold"), null, Ct);
        using var empty = await PostAsync(therapist, id, "hold", new Parameters());
        using var blank = await PostAsync(therapist, id, "hold", Reason("   "));
        var unknown = new Parameters();
        unknown.Add("note", new FhirString(Waiting));
        using var noted = await PostAsync(therapist, id, "hold", unknown);

        foreach (var response in new[] { noBody, empty, blank })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var issue = (await ReadAsync<OperationOutcome>(response)).Issue.Single();
            Assert.Equal((OperationOutcome.IssueType.Required, "Parameters.parameter.where(name='reason')"), (issue.Code, issue.Expression.Single()));
        }

        // $hold's input profile names both problems of a 'note' sent instead of the reason.
        Assert.Equal(HttpStatusCode.BadRequest, noted.StatusCode);
        Assert.Equal(["Parameters.parameter.where(name='note')", "Parameters.parameter.where(name='reason')"],
            (await ReadAsync<OperationOutcome>(noted)).Issue.Select(i => i.Expression.Single()).Order(StringComparer.Ordinal));
        var task = await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal((FhirTask.TaskStatus.Requested, "1"), (task.Status, task.Meta?.VersionId));
    }

    [Fact]
    public async Task Holding_twice_resuming_what_is_not_on_hold_or_holding_an_accepted_referral_is_a_409_saying_why()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        var accepted = await scenario.SubmitAndAcceptAsync();
        using var therapist = scenario.AsTherapist();

        using var notHeld = await PostAsync(therapist, id, "resume", new Parameters());
        (await PostAsync(therapist, id, "hold", Reason(Waiting))).EnsureSuccessStatusCode();
        using var twice = await PostAsync(therapist, id, "hold", Reason("Still waiting."));
        using var holdAccepted = await PostAsync(therapist, accepted, "hold", Reason(Waiting));
        using var session = await scenario.RecordSessionAsync(id, Session());

        await AssertRefused(notHeld, "Only a referral on hold can be resumed");
        await AssertRefused(twice, "already on hold");
        await AssertRefused(holdAccepted, "Only a new referral, not yet accepted or declined, can be put on hold");
        // No session on a referral not yet accepted.
        Assert.Equal(HttpStatusCode.UnprocessableEntity, session.StatusCode);
        var task = await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        Assert.Equal((Waiting, 1), (task.StatusReason?.Text, ReferralTasks.HoldsOf(task).Count));

        static async Task AssertRefused(HttpResponseMessage response, string words)
        {
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            var issue = (await ReadAsync<OperationOutcome>(response)).Issue.Single();
            Assert.Equal((ValidationRules.TaskTransitionInvalid, "Task.status"), (issue.RuleOf(), issue.Expression.Single()));
            Assert.Contains(words, issue.Details?.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task From_on_hold_the_therapist_may_decline_and_the_physician_may_cancel()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, first) = await scenario.SubmitAsync(scenario.Draft());
        var (_, second) = await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();
        (await PostAsync(therapist, first!.Id!, "hold", Reason(Waiting))).EnsureSuccessStatusCode();
        (await PostAsync(therapist, second!.Id!, "hold", Reason(Waiting))).EnsureSuccessStatusCode();

        using var declined = await PostAsync(therapist, first.Id!, "decline", Reason("The physician advised against massage for now."));
        using var cancelled = await PostAsync(physician, second.Id!, "cancel", Reason("Surgery moved: I will refer again after it."));

        Assert.True(declined.StatusCode == HttpStatusCode.OK, await declined.Content.ReadAsStringAsync(Ct));
        Assert.Equal(ReferralTaskState.Declined, ReferralTaskStates.StateOf(await ReadAsync<FhirTask>(declined)));
        Assert.True(cancelled.StatusCode == HttpStatusCode.OK, await cancelled.Content.ReadAsStringAsync(Ct));
        var cancelledTask = await ReadAsync<FhirTask>(cancelled);
        Assert.Equal((ReferralTaskState.Cancelled, "Surgery moved: I will refer again after it."), (ReferralTaskStates.StateOf(cancelledTask)!.Value, cancelledTask.StatusReason?.Text));
        Assert.Equal(RequestStatus.Revoked, (await ReadAsync<ServiceRequest>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{second.Id}"), Ct))).Status);
    }
}

using System.Net;
using System.Text.Json;
using Azure.Storage.Queues;
using Hl7.Fhir.Model;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>Referral intake, inbox and transitions through the real pipeline, real tokens and Azurite.</summary>
public sealed class ReferralApiTests(AzuriteFixture azurite, SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_submitted_referral_is_stored_with_its_Task_and_lands_in_the_therapists_inbox()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();

        var (response, request) = await scenario.SubmitAsync(scenario.Draft());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/fhir/ServiceRequest/{request!.Id}", response.Headers.Location?.AbsolutePath);
        Assert.Equal("W/\"1\"", response.Headers.ETag?.ToString());
        Assert.Equal(RequestStatus.Active, request.Status);

        using var therapist = scenario.AsTherapist();
        var inbox = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task"), Ct));
        var task = Assert.IsType<Hl7.Fhir.Model.Task>(Assert.Single(inbox.Entry).Resource);
        Assert.Equal(request.Id, task.Id);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Requested, task.Status);
        Assert.Equal($"PractitionerRole/{scenario.Therapist}", task.Owner!.Reference);
        Assert.Equal($"ServiceRequest/{request.Id}", task.Focus!.Reference);
        Assert.Equal("2.0", task.BusinessStatus!.Coding.Single().Code);
    }

    [Fact]
    public async Task A_submitted_referral_puts_a_notification_for_the_therapist_on_the_queue()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();

        var (_, request) = await scenario.SubmitAsync(scenario.Draft());

        var queue = new QueueClient(azurite.ConnectionString, ReferralNotifications.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        // Other tests share this queue: look through all of it (each batch hidden for a moment, so the next is new),
        // rather than peeking, which only ever shows the oldest 32.
        var found = false;
        for (var batch = 0; batch < 100 && !found; batch++)
        {
            var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(5), Ct)).Value;
            if (messages.Length == 0)
            {
                break;
            }

            found = messages.Any(m => JsonSerializer.Deserialize<ReferralEvent>(m.Body.ToString())!.Referral == request!.Id);
        }

        Assert.True(found, $"The notification for {request!.Id} should be on the queue.");
    }

    [Fact]
    public async Task A_retried_submit_with_the_same_placer_identifier_returns_the_original_and_stores_no_duplicate()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var draft = scenario.Draft();

        var (first, original) = await scenario.SubmitAsync(draft);
        var (retry, again) = await scenario.SubmitAsync(draft with { Note = "sent twice" });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(original!.Id, again!.Id);
        Assert.Equal("Night-time numbness.", again.Note.Single().Text);
        using var therapist = scenario.AsTherapist();
        var inbox = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task"), Ct));
        Assert.Single(inbox.Entry);
    }

    [Fact]
    public async Task The_therapist_accepts_and_the_physician_sees_the_accepted_Task()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();

        using var accepted = await therapist.PostAsync(Url($"/api/fhir/Task/{request!.Id}/$accept"), null, Ct);

        Assert.True(accepted.StatusCode == HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync(Ct));
        Assert.Equal("W/\"2\"", accepted.Headers.ETag?.ToString());
        using var physician = scenario.AsPhysician();
        var task = await ReadAsync<Hl7.Fhir.Model.Task>(await physician.GetAsync(Url($"/api/fhir/Task/{request.Id}"), Ct));
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Accepted, task.Status);
        Assert.Equal("3.0", task.BusinessStatus!.Coding.Single().Code);
    }

    [Fact]
    public async Task A_decline_needs_a_reason_and_the_physician_sees_the_reason()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();

        using var withoutReason = await therapist.PostAsync(Url($"/api/fhir/Task/{request!.Id}/$decline"), null, Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, withoutReason.StatusCode);
        Assert.Contains("Task.statusReason", (await ReadAsync<OperationOutcome>(withoutReason)).Issue.SelectMany(i => i.Expression));

        using var declined = await therapist.PostAsync(Url($"/api/fhir/Task/{request.Id}/$decline"), Body(Reason("No openings until March.")), Ct);
        Assert.Equal(HttpStatusCode.OK, declined.StatusCode);

        using var physician = scenario.AsPhysician();
        var task = await ReadAsync<Hl7.Fhir.Model.Task>(await physician.GetAsync(Url($"/api/fhir/Task/{request.Id}"), Ct));
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Rejected, task.Status);
        Assert.Equal("No openings until March.", task.StatusReason!.Text);
    }

    [Fact]
    public async Task The_physician_cancels_with_a_reason_and_the_referral_is_revoked()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        using var physician = scenario.AsPhysician();

        using var cancelled = await physician.PostAsync(Url($"/api/fhir/Task/{request!.Id}/$cancel"), Body(Reason("Patient moved away.")), Ct);

        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Cancelled, (await ReadAsync<Hl7.Fhir.Model.Task>(cancelled)).Status);
        var stored = await ReadAsync<ServiceRequest>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{request.Id}"), Ct));
        Assert.Equal(RequestStatus.Revoked, stored.Status);
    }

    [Fact]
    public async Task The_physician_may_not_accept_and_the_therapist_may_not_act_on_another_therapists_referral()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());

        using var physician = scenario.AsPhysician();
        using var physicianAccept = await physician.PostAsync(Url($"/api/fhir/Task/{request!.Id}/$accept"), null, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, physicianAccept.StatusCode);

        using var other = scenario.AsTherapist(scenario.OtherTherapist);
        using var otherAccept = await other.PostAsync(Url($"/api/fhir/Task/{request.Id}/$accept"), null, Ct);
        Assert.Equal(HttpStatusCode.NotFound, otherAccept.StatusCode);
    }

    [Fact]
    public async Task A_stale_If_Match_is_refused_with_412_and_changes_nothing()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();
        using var accept = new HttpRequestMessage(HttpMethod.Post, Url($"/api/fhir/Task/{request!.Id}/$accept"));
        accept.Headers.TryAddWithoutValidation("If-Match", "W/\"1\"");
        Assert.Equal(HttpStatusCode.OK, (await therapist.SendAsync(accept, Ct)).StatusCode);

        using var stale = new HttpRequestMessage(HttpMethod.Post, Url($"/api/fhir/Task/{request.Id}/$decline")) { Content = Body(Reason("changed my mind")) };
        stale.Headers.TryAddWithoutValidation("If-Match", "W/\"1\"");
        using var response = await therapist.SendAsync(stale, Ct);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        var task = await ReadAsync<Hl7.Fhir.Model.Task>(await therapist.GetAsync(Url($"/api/fhir/Task/{request.Id}"), Ct));
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Accepted, task.Status);
    }

    [Fact]
    public async Task Another_therapist_gets_404_and_a_physician_launched_for_another_patient_gets_404()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());

        using var other = scenario.AsTherapist(scenario.OtherTherapist);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync(Url($"/api/fhir/Task/{request!.Id}"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync(Url($"/api/fhir/ServiceRequest/{request.Id}"), Ct)).StatusCode);

        using var stranger = scenario.App.ClientWith(identity.Physician("dr-someone-else", "pat-someone-else"));
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(Url($"/api/fhir/ServiceRequest/{request.Id}"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(Url($"/api/fhir/Task/{request.Id}"), Ct)).StatusCode);
        var search = await ReadAsync<Bundle>(await stranger.GetAsync(Url($"/api/fhir/ServiceRequest?patient=Patient/{scenario.Patient}"), Ct));
        Assert.Empty(search.Entry);

        // Another physician of the same EHR with this patient open in their launch may see it.
        using var colleague = scenario.App.ClientWith(identity.Physician("dr-colleague", scenario.Patient));
        Assert.Equal(HttpStatusCode.OK, (await colleague.GetAsync(Url($"/api/fhir/ServiceRequest/{request.Id}"), Ct)).StatusCode);
    }

    [Fact]
    public async Task The_physician_finds_the_patients_referrals_and_their_own()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, first) = await scenario.SubmitAsync(scenario.Draft());
        var (_, second) = await scenario.SubmitAsync(scenario.Draft(therapist: scenario.OtherTherapist));
        using var physician = scenario.AsPhysician();

        var byPatient = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest?patient={scenario.Patient}"), Ct));
        var mine = await ReadAsync<Bundle>(await physician.GetAsync(Url("/api/fhir/ServiceRequest"), Ct));
        var toOther = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest?patient={scenario.Patient}&performer=PractitionerRole/{scenario.OtherTherapist}&status=active"), Ct));

        Assert.Equal([first!.Id, second!.Id], byPatient.Entry.Select(e => e.Resource!.Id).Order());
        Assert.Equal([first.Id, second.Id], mine.Entry.Select(e => e.Resource!.Id).Order());
        Assert.Equal(second.Id, Assert.Single(toOther.Entry).Resource!.Id);
    }

    [Fact]
    public async Task The_inbox_pages_newest_first_with_a_next_link_and_filters_by_status()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await scenario.SubmitAsync(scenario.Draft())).Request!.Id!);
        }

        using var therapist = scenario.AsTherapist();
        await therapist.PostAsync(Url($"/api/fhir/Task/{ids[0]}/$accept"), null, Ct);

        var first = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task?_count=2"), Ct));
        var next = first.Link.Single(l => l.Relation == "next").Url!;
        var second = await ReadAsync<Bundle>(await therapist.GetAsync(new Uri(next), Ct));
        var requested = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task?status=requested"), Ct));

        Assert.Equal([ids[2], ids[1]], first.Entry.Select(e => e.Resource!.Id));
        Assert.Equal([ids[0]], second.Entry.Select(e => e.Resource!.Id));
        Assert.DoesNotContain(second.Link, l => l.Relation == "next");
        Assert.Equal([ids[2], ids[1]], requested.Entry.Select(e => e.Resource!.Id));
    }

    [Fact]
    public async Task Every_read_and_write_of_the_referral_leaves_an_AuditEvent()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        using var physician = scenario.AsPhysician();
        using var therapist = scenario.AsTherapist();
        await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{request!.Id}"), Ct);
        await therapist.GetAsync(Url($"/api/fhir/Task/{request.Id}"), Ct);
        await therapist.PostAsync(Url($"/api/fhir/Task/{request.Id}/$accept"), null, Ct);
        await physician.GetAsync(Url($"/api/fhir/ServiceRequest?patient={scenario.Patient}"), Ct);

        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200"), Ct));
        var events = audit.Entry.Select(e => e.Resource).OfType<AuditEvent>().ToList();

        string? Interaction(AuditEvent e) => e.Subtype.Single().Code;
        string? Who(AuditEvent e) => e.Agent.Single().Who?.Reference;
        Assert.Contains(events, e => Interaction(e) == "create" && Who(e) == $"{TestIdentity.Ehr}/Practitioner/{scenario.Physician}");
        Assert.Contains(events, e => Interaction(e) == "read" && e.Entity[0].What?.Reference == $"ServiceRequest/{request.Id}");
        Assert.Contains(events, e => Interaction(e) == "read" && e.Entity[0].What?.Reference == $"Task/{request.Id}" && Who(e) == $"PractitionerRole/{scenario.Therapist}");
        Assert.Contains(events, e => Interaction(e) == "operation" && e.Action == AuditEvent.AuditEventAction.U);
        Assert.Contains(events, e => Interaction(e) == "search-type" && e.Entity[0].What?.Reference == "ServiceRequest");
        Assert.All(events, e => Assert.Contains(e.Entity, x => x.What?.Reference == $"Patient/{scenario.Patient}"));
    }
}

using System.Net;
using System.Text.Json;
using Azure.Storage.Queues;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referral.Functions.Referrals;
using Referral.Functions.Security;
using Referral.Functions.WriteBack;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>
/// References resolve to the launching EHR or are relative (DESIGN.md §6): a subject, requester or any other reference
/// on another server is refused with a 422 naming the element, and nothing is stored, queued or written into a chart.
/// Run with the queue-triggered functions (a write-back EHR that would take the ServiceRequest), so "not written to
/// the EHR" is proven by draining every queue and finding the EHR untouched.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class ForeignReferenceTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private const string Elsewhere = "https://elsewhere.example/fhir";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>One reference moved off the launching EHR, and the element the refusal must name.</summary>
    public sealed record Foreign(string Name, Action<ServiceRequest, ReferralScenario> Change, string Expression, string Rule = ValidationRules.ReferenceForeign)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Foreign> ForeignReferences() =>
    [
        new Foreign("the subject, same patient id, on another server", (r, s) => r.Subject = new ResourceReference($"{Elsewhere}/Patient/{s.Patient}"), "ServiceRequest.subject"),
        new Foreign("the subject as a urn:uuid", (r, _) => r.Subject = new ResourceReference("urn:uuid:6f1c1c1e-0a5b-4a43-9b8e-2d0c2f1f0a11"), "ServiceRequest.subject", ValidationRules.SubjectType),
        new Foreign("the subject on the EHR's host under another path", (r, s) => r.Subject = new ResourceReference($"{new Uri(s.Ehr).GetLeftPart(UriPartial.Authority)}/other/Patient/{s.Patient}"), "ServiceRequest.subject"),
        new Foreign("the subject on the EHR's path in another case", (r, s) => r.Subject = new ResourceReference($"{s.Ehr.ToUpperInvariant().Replace("HTTP://", "http://", StringComparison.Ordinal)}/Patient/{s.Patient}"), "ServiceRequest.subject"),
        new Foreign("the requester, same id, on another server", (r, s) => r.Requester = new ResourceReference($"{Elsewhere}/Practitioner/{s.Physician}"), "ServiceRequest.requester"),
        new Foreign("a reasonReference on another server", (r, _) => r.ReasonReference.Add(new ResourceReference($"{Elsewhere}/Condition/c1")), "ServiceRequest.reasonReference[0]"),
        new Foreign("the performer on another server", (r, s) => r.Performer[0].Reference = $"{Elsewhere}/PractitionerRole/{s.Therapist}", "ServiceRequest.performer[0]"),
        new Foreign("supportingInfo on another server", (r, _) => r.SupportingInfo.Add(new ResourceReference($"{Elsewhere}/DocumentReference/x-ray")), "ServiceRequest.supportingInfo[0]"),
        new Foreign("the contained Coverage's beneficiary on another server", (r, s) => ((Coverage)r.Contained[0]).Beneficiary = new ResourceReference($"{Elsewhere}/Patient/{s.Patient}"), "ServiceRequest.contained[0].beneficiary"),
        new Foreign("the contained Coverage's payor on another server", (r, _) => ((Coverage)r.Contained[0]).Payor = [new ResourceReference($"{Elsewhere}/Organization/state-fund")], "ServiceRequest.contained[0].payor[0]"),
        new Foreign("a reference inside an extension", (r, _) => r.Extension.Add(new Extension("https://example.org/ext", new ResourceReference($"{Elsewhere}/Patient/p2"))), "ServiceRequest.extension[0].value"),
    ];

    [Theory]
    [MemberData(nameof(ForeignReferences))]
    public async Task A_reference_off_the_launching_EHR_is_refused_naming_the_element_and_nothing_is_stored_queued_or_written_to_the_EHR(Foreign foreign)
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(writeServiceRequest: true));
        await scenario.SeedTherapistsAsync();
        var request = Build(scenario);
        foreign.Change(request, scenario);

        using var physician = scenario.AsPhysician();
        using var response = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(request), Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var issue = Assert.Single((await ReadAsync<OperationOutcome>(response)).Issue);
        Assert.Equal(foreign.Expression, Assert.Single(issue.Expression));
        Assert.Equal(foreign.Rule, issue.RuleOf());
        await AssertNothingStoredQueuedOrWrittenAsync(scenario, ehr, request);
    }

    [Fact]
    public async Task References_absolute_on_the_launching_EHR_with_a_trailing_slash_in_the_token_or_relative_are_accepted()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase + "/", ehr.Settings(writeServiceRequest: true));
        await scenario.SeedTherapistsAsync();
        var request = Build(scenario);
        request.Subject = new ResourceReference($"{ehr.FhirBase}/Patient/{scenario.Patient}");
        request.Requester = new ResourceReference($"{ehr.FhirBase}/Practitioner/{scenario.Physician}");
        request.ReasonReference.Add(new ResourceReference("Condition/c1"));

        using var physician = scenario.AsPhysician();
        using var response = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(request), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task A_physician_token_without_a_patient_in_context_submits_nothing_and_is_told_why()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(writeServiceRequest: true));
        await scenario.SeedTherapistsAsync();
        var request = Build(scenario);

        using var physician = scenario.App.ClientWith(identity.Physician(scenario.Physician, patientId: null, ehr: scenario.Ehr, at: scenario.Time.GetUtcNow()));
        using var response = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(request), Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var issue = Assert.Single((await ReadAsync<OperationOutcome>(response)).Issue);
        Assert.Equal("ServiceRequest.subject", Assert.Single(issue.Expression));
        Assert.Contains("no patient in context", issue.Diagnostics, StringComparison.Ordinal);
        await AssertNothingStoredQueuedOrWrittenAsync(scenario, ehr, request);
    }

    [Fact]
    public async Task A_Task_operation_whose_Parameters_carry_a_foreign_reference_is_refused_and_changes_nothing()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var (submitted, stored) = await scenario.SubmitAsync(scenario.Draft());
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        var reason = Reason("Not taking new clients.");
        reason.Parameter[0].Extension.Add(new Extension("https://example.org/ext", new ResourceReference($"{Elsewhere}/Patient/{scenario.Patient}")));

        using var therapist = scenario.AsTherapist();
        using var response = await therapist.PostAsync(Url($"/api/fhir/Task/{stored!.Id}/$decline"), Body(reason), Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var issue = Assert.Single((await ReadAsync<OperationOutcome>(response)).Issue);
        Assert.Equal("Parameters.parameter[0].extension[0].value", Assert.Single(issue.Expression));
        var task = await ReadAsync<Hl7.Fhir.Model.Task>(await therapist.GetAsync(Url($"/api/fhir/Task/{stored.Id}"), Ct));
        Assert.Equal("2.0", task.BusinessStatus!.Coding.Single().Code);
        Assert.Empty(await MessagesAboutAsync(ReferralNotifications.QueueName, stored.Id!));
    }

    [Fact]
    public async Task A_session_whose_Parameters_carry_a_foreign_reference_is_refused_and_nothing_is_recorded_queued_or_written_to_the_EHR()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings());
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        var session = Session(scenario.Time.GetUtcNow().AddHours(-2));
        session.Parameter.Single(p => p.Name == "note").Extension.Add(new Extension("https://example.org/ext", new ResourceReference($"{Elsewhere}/Patient/{scenario.Patient}")));

        using var response = await scenario.RecordSessionAsync(id, session);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var issue = Assert.Single((await ReadAsync<OperationOutcome>(response)).Issue);
        Assert.Matches(@"^Parameters\.parameter\[\d+\]\.extension\[0\]\.value$", Assert.Single(issue.Expression));
        using var therapist = scenario.AsTherapist();
        Assert.Equal(0, (await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Procedure?based-on=ServiceRequest/{id}"), Ct))).Total);
        Assert.Empty(await MessagesAboutAsync(EhrWriteBackRequests.QueueName, id));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        Assert.Empty(ehr.Creates("Observation"));
    }

    [Fact]
    public async Task The_write_back_refuses_a_stored_referral_whose_subject_is_on_another_server_and_the_EHR_receives_nothing()
    {
        using var ehr = new BackendServicesEhr().AcceptingCreates();
        await using var scenario = new ReferralScenario(own.Azurite, identity, ehr.FhirBase, ehr.Settings(writeServiceRequest: true));
        await scenario.SeedTherapistsAsync();
        // Stored behind the API's back, as a referral from before the API checked references might be.
        var request = Build(scenario);
        request.Subject = new ResourceReference($"{Elsewhere}/Patient/{scenario.Patient}");
        var now = scenario.Time.GetUtcNow();
        request.Id = ReferralStore.IdFor(scenario.Therapist, ehr.FhirBase, request.Identifier[0]);
        var task = ReferralTasks.Create(request, now);
        task.Id = request.Id;
        await scenario.App.Services.GetRequiredService<ReferralStore>().SubmitAsync(request, task, ehr.FhirBase,
            new Caller { Kind = CallerKind.Physician, Id = $"Practitioner/{scenario.Physician}", Ehr = ehr.FhirBase, Display = $"Practitioner/{scenario.Physician}" }, now, Ct);

        await Queue(EhrWriteBackRequests.QueueName).SendMessageAsync(
            JsonSerializer.Serialize(new EhrWriteBackMessage(EhrWriteBackMessage.ServiceRequestKind, request.Id)), Ct);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await scenario.App.Triggers.PollQueuesOnceAsync(Ct);
        }

        Assert.Empty(ehr.Creates("ServiceRequest"));
        Assert.Empty(ehr.ClientAssertions());
        Assert.NotEmpty(await MessagesAboutAsync(EhrWriteBackRequests.QueueName + "-poison", request.Id));
    }

    private static ServiceRequest Build(ReferralScenario scenario)
    {
        var draft = scenario.Draft();
        return new ReferralBuilder(new FakeTimeProvider(scenario.WrittenAt(draft))).Build(draft);
    }

    private async Task AssertNothingStoredQueuedOrWrittenAsync(ReferralScenario scenario, BackendServicesEhr ehr, ServiceRequest request)
    {
        var id = ReferralStore.IdFor(scenario.Therapist, scenario.Ehr.TrimEnd('/'), request.Identifier.Single(i => i.System == Canonicals.PlacerIdentifierSystem));
        using var physician = scenario.AsPhysician();
        Assert.Equal(0, (await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest?patient=Patient/{scenario.Patient}"), Ct))).Total);
        Assert.Null(await scenario.App.Services.GetRequiredService<ReferralStore>().GetAsync(id, Ct));
        Assert.Empty(await MessagesAboutAsync(ReferralNotifications.QueueName, id));
        Assert.Empty(await MessagesAboutAsync(EhrWriteBackRequests.QueueName, id));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        Assert.Empty(ehr.Creates("ServiceRequest"));
    }

    private async Task<IReadOnlyList<string>> MessagesAboutAsync(string queue, string id) =>
        [.. (await Queue(queue).PeekMessagesAsync(32, Ct)).Value.Select(m => m.Body.ToString()).Where(b => b.Contains(id, StringComparison.Ordinal))];

    private QueueClient Queue(string name)
    {
        var queue = new QueueClient(own.Azurite.ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        queue.CreateIfNotExists(cancellationToken: Ct);
        return queue;
    }
}

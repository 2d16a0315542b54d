using System.Net;
using Hl7.Fhir.Model;
using Referral.Functions.Conformance;
using Referral.Model.Conformance;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Conformance;

/// <summary>
/// The package against what the API really emits (issue 20), through the real pipeline, tokens and Azurite: every
/// resource of a referral's journey conforms to its profile with no error, and <c>ServiceRequest/$validate</c> checks a
/// draft as a submission would be checked, without storing it.
/// </summary>
public sealed class PackageJourneyTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IEnumerable<string> Errors(Resource resource, string profile) =>
        ReferralPackage.Instance.Check(resource, profile).Select(i => $"{resource.TypeName}/{resource.Id} {string.Join(",", i.Expression ?? [])}: {i.Details?.Text}");

    [Fact]
    public async Task Every_resource_a_referrals_journey_emits_conforms_to_its_profile_in_the_package()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var recorded = await scenario.RecordSessionAsync(id, Session());
        Assert.True(recorded.IsSuccessStatusCode, await recorded.Content.ReadAsStringAsync(Ct));
        var session = await ReadAsync<Parameters>(recorded);
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();
        using var completed = await therapist.PostAsync(Url($"/api/fhir/Task/{id}/$complete"),
            Body(new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "outcome", Value = new FhirString("Numbness gone at night.") }] }), Ct);
        Assert.True(completed.IsSuccessStatusCode, await completed.Content.ReadAsStringAsync(Ct));

        var referral = await ReadAsync<ServiceRequest>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest/{id}"), Ct));
        var task = await ReadAsync<FhirTask>(await therapist.GetAsync(Url($"/api/fhir/Task/{id}"), Ct));
        var procedures = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/Procedure?based-on=ServiceRequest/{id}"), Ct));
        var observations = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/Observation?based-on=ServiceRequest/{id}"), Ct));

        var emitted = new List<(Resource Resource, string Profile)>
        {
            (referral, MedicalMassageServiceRequest.Profile),
            (task, ReferralProfiles.TaskProfile),
        };
        emitted.AddRange(procedures.Entry.Select(e => e.Resource).OfType<Procedure>().Select(p => ((Resource)p, ReferralProfiles.ProcedureProfile)));
        emitted.AddRange(observations.Entry.Select(e => e.Resource).OfType<Observation>().Select(o => ((Resource)o, ReferralProfiles.ObservationProfile)));
        emitted.AddRange(session.Parameter.Select(p => p.Resource).OfType<Procedure>().Select(p => ((Resource)p, ReferralProfiles.ProcedureProfile)));
        emitted.AddRange(session.Parameter.Select(p => p.Resource).OfType<Observation>().Select(o => ((Resource)o, ReferralProfiles.ObservationProfile)));

        Assert.Equal(2, emitted.Count(e => e.Resource is Procedure)); // the session's, as searched and as $record-session answered
        Assert.True(emitted.Count(e => e.Resource is Observation) >= 6, $"{emitted.Count(e => e.Resource is Observation)} observations");
        var problems = emitted.SelectMany(e => Errors(e.Resource, e.Profile)).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Validate_answers_a_draft_with_every_problem_named_and_stores_nothing()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        using var physician = scenario.AsPhysician();
        var draft = scenario.Draft();
        var good = Json(draft, scenario.WrittenAt(draft));
        Assert.True(FhirJson.TryParse<ServiceRequest>(good, out var broken, out _));
        broken!.BodySite.Clear();
        broken.Performer[0] = new ResourceReference("PractitionerRole/stranger");

        using var goodAnswer = await physician.PostAsync(Url("/api/fhir/ServiceRequest/$validate"), Body(good), Ct);
        using var brokenAnswer = await physician.PostAsync(Url("/api/fhir/ServiceRequest/$validate"),
            Body(new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "resource", Resource = broken }] }), Ct);
        // Checked, not stored: the same referral sent afterwards is created, not answered as a retry.
        using var submitted = await physician.PostAsync(Url("/api/fhir/ServiceRequest"), Body(good), Ct);

        Assert.Equal(HttpStatusCode.OK, goodAnswer.StatusCode);
        Assert.True((await ReadAsync<OperationOutcome>(goodAnswer)).IsValid());
        Assert.Equal(HttpStatusCode.OK, brokenAnswer.StatusCode);
        var outcome = await ReadAsync<OperationOutcome>(brokenAnswer);
        Assert.Contains(outcome.Issue, i => i.RuleOf() == ValidationRules.Profile && (i.Expression ?? []).Contains("ServiceRequest.bodySite"));
        Assert.Contains(outcome.Issue, i => i.RuleOf() == ValidationRules.PerformerUnknown && (i.Expression ?? []).Contains("ServiceRequest.performer[0]"));
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using static Referral.Tests.Referrals.CourseCloseAndRenewalTests;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// Questions and answers on a referral (<c>$message</c>, <c>GET Communication?part-of=</c>) through the real pipeline,
/// real tokens and Azurite: FHIR Communications about the ServiceRequest and partOf its Task, between its therapist and
/// the physician who wrote it only.
/// </summary>
public sealed class MessageTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_therapist_asks_before_accepting_the_physician_answers_and_both_read_them_in_order_as_valid_Communications()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();

        using var asked = await PostAsync(therapist, id, "message", Text("Is deep pressure on the wrist all right after the injection?"));
        using var answered = await PostAsync(physician, id, "message", Text("Yes, from next week; light pressure until then."));
        using var again = await PostAsync(physician, id, "message", Text("Yes, from next week; light pressure until then."));

        Assert.Equal(HttpStatusCode.Created, asked.StatusCode);
        Assert.Equal(HttpStatusCode.Created, answered.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var question = await ReadAsync<Communication>(asked);
        Assert.Equal(EventStatus.Completed, question.Status);
        Assert.Equal($"ServiceRequest/{id}", question.About.Single().Reference);
        Assert.Equal($"Task/{id}", question.PartOf.Single().Reference);
        Assert.Equal($"PractitionerRole/{scenario.Therapist}", question.Sender?.Reference);
        Assert.EndsWith($"Practitioner/{scenario.Physician}", question.Recipient.Single().Reference, StringComparison.Ordinal);
        Assert.Empty(FhirSpec.Errors(question));
        Assert.Equal((await ReadAsync<Communication>(answered)).Id, (await ReadAsync<Communication>(again)).Id);
        foreach (var reader in new[] { therapist, physician })
        {
            var bundle = await ReadAsync<Bundle>(await reader.GetAsync(Url($"/api/fhir/Communication?part-of=Task/{id}"), Ct));
            Assert.Equal(
                ["Is deep pressure on the wrist all right after the injection?", "Yes, from next week; light pressure until then."],
                bundle.Entry.Select(e => (Assert.IsType<Communication>(e.Resource).Payload.Single().Content as FhirString)?.Value));
            Assert.Empty(FhirSpec.Errors(bundle));
        }

        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(Url($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200"), Ct));
        Assert.Equal(2, audit.Entry.Select(e => e.Resource).OfType<AuditEvent>().Count(e =>
            e.Action == AuditEvent.AuditEventAction.C && e.Entity.Any(x => x.What?.Reference?.StartsWith("Communication/", StringComparison.Ordinal) == true)));
    }

    [Fact]
    public async Task Only_the_assigned_therapist_and_the_writing_physician_exchange_messages_and_none_after_the_referral_ends()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        using var therapist = scenario.AsTherapist();
        using var other = scenario.AsTherapist(scenario.OtherTherapist);
        using var colleague = scenario.App.ClientWith(identity.Physician("dr-colleague", scenario.Patient, ehr: scenario.Ehr, at: scenario.Time.GetUtcNow()));

        using var byOther = await PostAsync(other, id, "message", Text("Can I take it?"));
        using var byColleague = await PostAsync(colleague, id, "message", Text("I am covering."));
        using var blank = await PostAsync(therapist, id, "message", Text("  "));
        using var markup = await PostAsync(therapist, id, "message", Text("<script>alert(1)</script>"));
        var othersView = await ReadAsync<Bundle>(await other.GetAsync(Url($"/api/fhir/Communication?part-of=Task/{id}"), Ct));
        (await PostAsync(therapist, id, "decline", Reason("No openings."))).EnsureSuccessStatusCode();
        using var afterEnd = await PostAsync(therapist, id, "message", Text("One more thing."));

        Assert.Equal(HttpStatusCode.NotFound, byOther.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byColleague.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        Assert.Equal(["Parameters.parameter.where(name='text')"], (await ReadAsync<OperationOutcome>(blank)).Issue.Single().Expression);
        Assert.Equal(HttpStatusCode.BadRequest, markup.StatusCode);
        Assert.Empty(othersView.Entry);
        Assert.Equal(HttpStatusCode.Conflict, afterEnd.StatusCode);
        Assert.Empty((await ReadAsync<Bundle>(await therapist.GetAsync(Url($"/api/fhir/Communication?part-of=Task/{id}"), Ct))).Entry);
    }

    internal static Parameters Text(string text)
    {
        var parameters = new Parameters();
        parameters.Add("text", new FhirString(text));
        return parameters;
    }
}

using System.Globalization;
using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Hl7.Fhir.Serialization;
using Referral.Model;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// FHIR's conditional create on ServiceRequest (<c>If-None-Exist</c>), asked through Firely's FhirClient as any FHIR
/// client asks it: created when nothing matches, the one match answered (200) and nothing created, 412 for several,
/// the criteria judged as a search judges them (status, diagnosis, validity), and criteria it cannot answer refused.
/// </summary>
public sealed class ConditionalCreateTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ServiceRequest Build(ReferralScenario scenario, ReferralDraft draft) =>
        FhirJsonDeserializer.STRICT.Deserialize<ServiceRequest>(Json(draft, scenario.WrittenAt(draft)));

    private static FhirClient Fhir(HttpClient physician) =>
        new(new Uri(physician.BaseAddress!, "/api/fhir"), physician, new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false });

    /// <summary>The smart-app's question: this physician's open referrals for the patient with a carpal tunnel code, valid from <paramref name="day"/> on.</summary>
    private static SearchParams OpenCarpalTunnel(ReferralScenario scenario, DateOnly day) => new SearchParams()
        .Add("patient", $"Patient/{scenario.Patient}")
        .Add("requester", $"Practitioner/{scenario.Physician}")
        .Add("status", "active")
        .Add("reason-code", string.Join(',', MassageConditions.Find(Canonicals.Icd10Cm, "G56.01")!.Icd10Cm.Select(c => $"{Canonicals.Icd10Cm}|{c.Code}")))
        .Add("occurrence", "ge" + day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

    private static async Task<int> CountAsync(ReferralScenario scenario, HttpClient physician)
    {
        var all = await ReadAsync<Bundle>(await physician.GetAsync(Url($"/api/fhir/ServiceRequest?patient=Patient/{scenario.Patient}"), Ct));
        return all.Entry.Count(e => e.Resource is ServiceRequest);
    }

    [Fact]
    public async Task A_conditional_create_makes_the_referral_when_none_matches_answers_the_one_that_does_and_refuses_when_several_do()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        using var physician = scenario.AsPhysician();
        var fhir = Fhir(physician);
        var today = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime);

        var first = await fhir.ConditionalCreateAsync(Build(scenario, scenario.Draft()), OpenCarpalTunnel(scenario, today), Ct);
        Assert.Equal("201", fhir.LastResult?.Status?.Split(' ')[0]);

        // The same diagnosis again (another placer id, the left wrist: a code of the same condition): the open one answers.
        var again = scenario.Draft() with { Diagnoses = [new Diagnosis("G56.02")], BodySites = [new BodyArea(BodyRegion.Wrist, Laterality.Left)] };
        var answered = await fhir.ConditionalCreateAsync(Build(scenario, again), OpenCarpalTunnel(scenario, today), Ct);
        Assert.Equal("200", fhir.LastResult?.Status?.Split(' ')[0]);
        Assert.Equal(first!.Id, answered!.Id);
        Assert.Equal(1, await CountAsync(scenario, physician));

        // A retry of the first (its own placer id) is still a retry, not a duplicate of itself.
        var retried = await fhir.ConditionalCreateAsync(Build(scenario, scenario.Draft(first.Identifier.Single(i => i.System == Canonicals.PlacerIdentifierSystem).Value)), OpenCarpalTunnel(scenario, today), Ct);
        Assert.Equal(first.Id, retried!.Id);

        // Asked without the condition, the second one is made; with two open, the condition cannot pick one: 412.
        Assert.NotEqual(first.Id, (await fhir.CreateAsync(Build(scenario, again), Ct))!.Id);
        var several = await Assert.ThrowsAsync<FhirOperationException>(() => fhir.ConditionalCreateAsync(Build(scenario, scenario.Draft()), OpenCarpalTunnel(scenario, today), Ct));
        Assert.Equal(HttpStatusCode.PreconditionFailed, several.Status);
        Assert.Contains("matches 2 referrals", several.Outcome!.Issue.Single().Diagnostics, StringComparison.Ordinal);
        Assert.Equal(2, await CountAsync(scenario, physician));
    }

    [Fact]
    public async Task A_referral_for_another_diagnosis_or_one_whose_validity_ends_before_the_day_asked_for_does_not_match()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        using var physician = scenario.AsPhysician();
        var fhir = Fhir(physician);
        var draft = scenario.Draft();
        Assert.Equal(HttpStatusCode.Created, (await scenario.SubmitAsync(draft)).Response.StatusCode);

        // The open referral's validity ends on ValidUntil: asked from the day after, it no longer counts as open.
        var afterItEnds = await fhir.ConditionalCreateAsync(Build(scenario, scenario.Draft()), OpenCarpalTunnel(scenario, draft.ValidUntil.AddDays(1)), Ct);
        Assert.Equal("201", fhir.LastResult?.Status?.Split(' ')[0]);

        var neck = scenario.Draft() with { Diagnoses = [new Diagnosis("M54.2")], BodySites = [new BodyArea(BodyRegion.Neck)] };
        // References as absolute URLs of the EHR are the same references.
        var criteria = new SearchParams().Add("patient", $"{scenario.Ehr.TrimEnd('/')}/Patient/{scenario.Patient}")
            .Add("requester", $"{scenario.Ehr.TrimEnd('/')}/Practitioner/{scenario.Physician}").Add("status", "active").Add("reason-code", "M54.2");
        var firstNeck = await fhir.ConditionalCreateAsync(Build(scenario, neck), criteria, Ct);
        Assert.Equal("201", fhir.LastResult?.Status?.Split(' ')[0]);
        Assert.NotEqual(afterItEnds!.Id, firstNeck!.Id);

        // The same search parameters find them in a search.
        var found = await fhir.SearchAsync<ServiceRequest>(criteria, Ct);
        Assert.Equal(firstNeck.Id, Assert.Single(found!.Entry).Resource!.Id);
        var open = await fhir.SearchAsync<ServiceRequest>(OpenCarpalTunnel(scenario, draft.ValidUntil), Ct);
        Assert.Equal(2, open!.Entry.Count);
    }

    [Theory]
    [InlineData("code=http://snomed.info/sct|409774005", "supports patient, requester, status, reason-code, occurrence; not code")]
    [InlineData("patient=Patient/someone-else&status=active", "must name the referral's patient")]
    [InlineData("status=active", "must name the referral's patient")]
    [InlineData("patient={patient}&occurrence=2026-01-01", "occurrence takes ge[date]")]
    [InlineData("patient={patient}&status=sleeping", "status must be a ServiceRequest status code")]
    public async Task Criteria_the_API_cannot_answer_are_refused_with_400_and_nothing_is_created(string criteria, string message)
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        using var physician = scenario.AsPhysician();
        using var request = new HttpRequestMessage(HttpMethod.Post, Url("/api/fhir/ServiceRequest")) { Content = Body(Json(scenario.Draft(), scenario.Time.GetUtcNow())) };
        request.Headers.TryAddWithoutValidation("If-None-Exist", criteria.Replace("{patient}", "Patient/" + scenario.Patient, StringComparison.Ordinal));

        using var response = await physician.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, (await ReadAsync<OperationOutcome>(response)).Issue.Single().Diagnostics, StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(scenario, physician));
    }
}

using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// One referral's whole course in one search (the status page's and the inbox referral's one call):
/// <c>ServiceRequest?_id=&amp;_revinclude=Task:focus&amp;_revinclude=Procedure:based-on&amp;_revinclude=Observation:based-on&amp;_revinclude:iterate=Communication:part-of</c>,
/// asked with Firely's FhirClient; nobody else's course comes with it, and the read is audited with what it included.
/// </summary>
public sealed class ReferralCourseSearchTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The course, as Firely's <c>SearchByIdAsync</c> asks for it (<c>_id</c> and the revincludes, one with <c>:iterate</c>).</summary>
    private static async Task<Bundle> CourseAsync(HttpClient http, string id)
    {
        var client = new FhirClient(new Uri(http.BaseAddress!, "/api/fhir"), http, new FhirClientSettings { VerifyFhirVersion = false });
        (string, IncludeModifier)[] revIncludes =
        [
            ("Task:focus", IncludeModifier.None),
            ("Procedure:based-on", IncludeModifier.None),
            ("Observation:based-on", IncludeModifier.None),
            ("Communication:part-of", IncludeModifier.Iterate),
        ];
        return (await client.SearchByIdAsync<ServiceRequest>(id, includes: null, pageSize: null, revIncludes: revIncludes, ct: Ct))!;
    }

    [Fact]
    public async Task A_search_by_id_with_the_course_includes_returns_the_referral_its_task_sessions_and_messages_in_one_bundle()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, ReferralScenario.Session(scenario.Time.GetUtcNow().AddHours(-26)))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, ReferralScenario.Session(scenario.Time.GetUtcNow().AddHours(-2)))).StatusCode);
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();
        (await CourseCloseAndRenewalTests.PostAsync(physician, id, "message", MessageTests.Text("Light pressure on the scar, please."))).EnsureSuccessStatusCode();
        var expectedObservations = (await ReadAsync<Bundle>(await therapist.GetAsync(new Uri($"/api/fhir/Observation?based-on=ServiceRequest/{id}&_count=200", UriKind.Relative), Ct))).Entry.Count;

        foreach (var http in new[] { therapist, physician })
        {
            var bundle = await CourseAsync(http, id);

            Assert.Equal(id, Assert.Single(bundle.Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Resource!.Id);
            var included = bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Include).Select(e => e.Resource!).ToList();
            Assert.Equal(id, Assert.Single(included.OfType<FhirTask>()).Id);
            Assert.Equal(2, included.OfType<Procedure>().Count());
            Assert.True(expectedObservations > 2);
            Assert.Equal(expectedObservations, included.OfType<Observation>().Count());
            Assert.All(included.OfType<Procedure>().Concat<Resource>(included.OfType<Observation>()), r =>
                Assert.Contains($"ServiceRequest/{id}", ((IEnumerable<ResourceReference>)(r is Procedure p ? p.BasedOn : ((Observation)r).BasedOn)).Select(b => b.Reference)));
            Assert.Equal("Light pressure on the scar, please.", (Assert.Single(included.OfType<Communication>()).Payload.Single().Content as FhirString)?.Value);
            Assert.Empty(FhirSpec.Errors(bundle));
        }

        // The read is audited as a read of the referral, with the search that says what came with it.
        using var admin = scenario.AsAdmin();
        var audit = await ReadAsync<Bundle>(await admin.GetAsync(new Uri($"/api/fhir/AuditEvent?patient=Patient/{scenario.Patient}&_count=200", UriKind.Relative), Ct));
        var reads = audit.Entry.Select(e => e.Resource).OfType<AuditEvent>()
            .SelectMany(e => e.Entity).Where(x => x.What?.Reference == $"ServiceRequest/{id}" && x.Query is not null)
            .Select(x => Encoding.UTF8.GetString(x.Query!)).ToList();
        Assert.Equal(2, reads.Count);
        Assert.All(reads, q => Assert.Contains("_revinclude:iterate=Communication:part-of", Uri.UnescapeDataString(q), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Messages_come_only_with_the_task_they_are_part_of_and_course_includes_need_an_id()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        using var therapist = scenario.AsTherapist();
        (await CourseCloseAndRenewalTests.PostAsync(therapist, id, "message", MessageTests.Text("Is the left side included?"))).EnsureSuccessStatusCode();

        var withoutTask = await ReadAsync<Bundle>(await therapist.GetAsync(new Uri($"/api/fhir/ServiceRequest?_id={id}&_revinclude:iterate=Communication:part-of", UriKind.Relative), Ct));
        using var list = await therapist.GetAsync(new Uri("/api/fhir/ServiceRequest?_revinclude=Task:focus&_revinclude=Observation:based-on", UriKind.Relative), Ct);
        using var unknown = await therapist.GetAsync(new Uri($"/api/fhir/ServiceRequest?_id={id}&_revinclude=DocumentReference:related", UriKind.Relative), Ct);

        Assert.Equal([id], withoutTask.Entry.Select(e => e.Resource!.Id));
        Assert.Equal(HttpStatusCode.BadRequest, list.StatusCode);
        Assert.Equal("_revinclude", (await ReadAsync<OperationOutcome>(list)).Issue.Single().Expression.Single());
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    public async Task Another_therapists_referral_searched_with_the_course_includes_gives_nothing_of_it()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        Assert.Equal(HttpStatusCode.Created, (await scenario.RecordSessionAsync(id, ReferralScenario.Session(scenario.Time.GetUtcNow().AddHours(-2)))).StatusCode);
        using var other = scenario.AsTherapist("another-therapist-" + Guid.NewGuid().ToString("N")[..8]);

        var bundle = await CourseAsync(other, id);

        Assert.Empty(bundle.Entry);
    }
}

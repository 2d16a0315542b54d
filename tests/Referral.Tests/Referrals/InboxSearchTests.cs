using System.Net;
using Hl7.Fhir.Model;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Referrals;

/// <summary>
/// What the therapist inbox asks of <c>GET /api/fhir/Task</c>: the focal ServiceRequests alongside the Tasks, a
/// status group in one query, and the count of each group; through the real pipeline, real tokens and Azurite.
/// </summary>
public sealed class InboxSearchTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Include_Task_focus_adds_each_Tasks_ServiceRequest_as_an_include_entry_and_total_counts_only_the_Tasks()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var first = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        var second = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        using var therapist = scenario.AsTherapist();

        var bundle = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task?_include=Task:focus"), Ct));

        var matches = bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).ToList();
        var included = bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Include).ToList();
        Assert.Equal([second.Id, first.Id], matches.Select(e => Assert.IsType<FhirTask>(e.Resource).Id));
        Assert.Equal([second.Id, first.Id], included.Select(e => Assert.IsType<ServiceRequest>(e.Resource).Id));
        Assert.All(included, e => Assert.EndsWith($"/api/fhir/ServiceRequest/{e.Resource!.Id}", e.FullUrl, StringComparison.Ordinal));
        Assert.Equal(2, bundle.Total);
    }

    [Fact]
    public async Task Include_Task_focus_is_carried_into_the_next_page_link()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var oldest = (await scenario.SubmitAsync(scenario.Draft())).Request!;
        await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();

        var first = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task?_include=Task:focus&_count=1"), Ct));
        var next = first.Link.Single(l => l.Relation == "next").Url!;
        var second = await ReadAsync<Bundle>(await therapist.GetAsync(new Uri(next), Ct));

        Assert.Contains("_include=Task%3Afocus", next, StringComparison.Ordinal);
        Assert.Equal([oldest.Id, oldest.Id], second.Entry.Select(e => e.Resource!.Id));
        Assert.IsType<ServiceRequest>(second.Entry.Single(e => e.Search?.Mode == Bundle.SearchEntryMode.Include).Resource);
    }

    [Theory]
    [InlineData("Task:owner")]
    [InlineData("ServiceRequest:subject")]
    [InlineData("*")]
    public async Task Any_other_include_is_refused_with_400_naming_include(string include)
    {
        await using var scenario = new ReferralScenario(functions);
        using var therapist = scenario.AsTherapist();

        using var response = await therapist.GetAsync(Url($"/api/fhir/Task?_include={Uri.EscapeDataString(include)}"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("_include", (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression);
    }

    [Fact]
    public async Task A_comma_separated_status_matches_any_of_the_statuses()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        var inbox = await InboxOfFourAsync(scenario);
        using var therapist = scenario.AsTherapist();

        var active = await ReadAsync<Bundle>(await therapist.GetAsync(Url("/api/fhir/Task?status=accepted,in-progress"), Ct));
        using var unknown = await therapist.GetAsync(Url("/api/fhir/Task?status=accepted,finished"), Ct);

        Assert.Equal([inbox.InProgress, inbox.Accepted], active.Entry.Select(e => e.Resource!.Id));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("status", (await ReadAsync<OperationOutcome>(unknown)).Issue.Single().Expression);
    }

    [Fact]
    public async Task Summary_count_gives_each_inbox_groups_total_without_entries_counting_only_the_callers_Tasks()
    {
        await using var scenario = new ReferralScenario(functions);
        await scenario.SeedTherapistsAsync();
        await InboxOfFourAsync(scenario);
        // A new referral for another therapist: never in this therapist's counts.
        await scenario.SubmitAsync(scenario.Draft(therapist: scenario.OtherTherapist));
        using var therapist = scenario.AsTherapist();

        async Task<Bundle> CountAsync(string status)
        {
            using var response = await therapist.GetAsync(Url($"/api/fhir/Task?_summary=count{status}"), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await ReadAsync<Bundle>(response);
        }

        var all = await CountAsync("");
        var fresh = await CountAsync("&status=requested");
        var active = await CountAsync("&status=accepted,in-progress");
        var closed = await CountAsync("&status=completed,rejected,cancelled,failed");

        Assert.Equal([4, 1, 2, 1], new[] { all, fresh, active, closed }.Select(b => b.Total));
        Assert.All(new[] { all, fresh, active, closed }, b =>
        {
            Assert.Equal(Bundle.BundleType.Searchset, b.Type);
            Assert.Empty(b.Entry);
        });
        using var other = scenario.AsTherapist(scenario.OtherTherapist);
        Assert.Equal(1, (await ReadAsync<Bundle>(await other.GetAsync(Url("/api/fhir/Task?_summary=count"), Ct))).Total);
    }

    [Fact]
    public async Task A_summary_other_than_count_is_refused_with_400_naming_summary()
    {
        await using var scenario = new ReferralScenario(functions);
        using var therapist = scenario.AsTherapist();

        using var response = await therapist.GetAsync(Url("/api/fhir/Task?_summary=true"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("_summary", (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression);
    }

    private sealed record FourTasks(string New, string Accepted, string InProgress, string Declined);

    /// <summary>Four referrals to the scenario's therapist, oldest first: one left new, one declined, one accepted, one treated once.</summary>
    private static async Task<FourTasks> InboxOfFourAsync(ReferralScenario scenario)
    {
        var fresh = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        var declined = (await scenario.SubmitAsync(scenario.Draft())).Request!.Id!;
        using var therapist = scenario.AsTherapist();
        using (var decline = await therapist.PostAsync(Url($"/api/fhir/Task/{declined}/$decline"), Body(Reason("No openings.")), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, decline.StatusCode);
        }

        var accepted = await scenario.SubmitAndAcceptAsync();
        var inProgress = await scenario.SubmitAndAcceptAsync();
        using (var session = await scenario.RecordSessionAsync(inProgress, Session()))
        {
            Assert.Equal(HttpStatusCode.Created, session.StatusCode);
        }

        return new FourTasks(fresh, accepted, inProgress, declined);
    }
}

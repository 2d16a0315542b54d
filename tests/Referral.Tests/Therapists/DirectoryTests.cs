using System.Net;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Therapists;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Therapists;

/// <summary>The therapist directory the referral form ranks from, searched through the API.</summary>
public sealed class DirectoryTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Every match, following the bundle's <c>next</c> links: the directory in the shared Azurite holds the therapists
    /// of every test that seeded some, more than one page of them.
    /// </summary>
    private static async Task<List<PractitionerRole>> SearchAsync(HttpClient client, string query)
    {
        List<PractitionerRole> found = [];
        for (Uri? page = Url($"/api/fhir/PractitionerRole{query}"); page is not null;)
        {
            using var response = await client.GetAsync(page, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var bundle = await ReadAsync<Bundle>(response);
            found.AddRange(bundle.Entry.Select(e => e.Resource).OfType<PractitionerRole>());
            page = bundle.NextLink;
        }

        return found;
    }

    private static async Task SeedLocalTherapistsAsync(FunctionsApp app)
    {
        var directory = app.Services.GetRequiredService<TherapistDirectory>();
        foreach (var role in TherapistSeed.Therapists)
        {
            await directory.UpsertAsync(role, Ct);
        }
    }

    [Fact]
    public async Task A_search_by_training_finds_only_therapists_who_hold_it()
    {
        await using var scenario = new ReferralScenario(azurite, identity);
        await scenario.SeedTherapistsAsync();
        using var physician = scenario.AsPhysician();

        var found = await SearchAsync(physician, "?specialty=manual-lymph-drainage");

        Assert.Contains(found, r => r.Id == scenario.MldTherapist);
        Assert.DoesNotContain(found, r => r.Id == scenario.Therapist);
        Assert.All(found, r => Assert.Contains(TherapistDirectory.Trainings(r), c => c.Code == "manual-lymph-drainage"));
    }

    [Fact]
    public async Task Intake_coverage_and_postal_code_narrow_the_search()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        await SeedLocalTherapistsAsync(app);
        using var client = app.ClientWith(identity.Physician());

        var notAccepting = await SearchAsync(client, "?accepting-new-referrals=false");
        var workersComp = await SearchAsync(client, "?coverage-type=WCBPOL&accepting-new-referrals=true&address-postalcode=972");

        Assert.Contains(notAccepting, r => r.Id == "therapist-kai-nakamura");
        Assert.All(notAccepting, r => Assert.False(TherapistDirectory.AcceptsNewReferrals(r)));
        Assert.Contains(workersComp, r => r.Id == "therapist-sam-rivera");
        Assert.DoesNotContain(workersComp, r => r.Id == "therapist-kai-nakamura");
        Assert.All(workersComp, r => Assert.Contains(TherapistDirectory.CoverageTypesAccepted(r), c => c.Code == "WCBPOL"));
    }

    [Fact]
    public async Task Near_returns_therapists_within_the_distance_nearest_first()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        await SeedLocalTherapistsAsync(app);
        using var client = app.ClientWith(identity.Therapist());

        var near = await SearchAsync(client, "?near=45.5152|-122.6784|2|km");

        // From downtown (SW 5th and Morrison): Sam Rivera's practice on SW Broadway is nearest, Olivia Hart's in the Pearl about 1 km away.
        Assert.Equal("therapist-sam-rivera", near[0].Id);
        Assert.Contains(near, r => r.Id == "therapist-olivia-hart");
        Assert.DoesNotContain(near, r => r.Id == "therapist-kai-nakamura");
    }

    [Theory]
    [InlineData("?near=north", "near")]
    [InlineData("?near=91|0|5|km", "near")]
    [InlineData("?accepting-new-referrals=maybe", "accepting-new-referrals")]
    [InlineData("?name=Olivia", "name")]
    public async Task A_bad_directory_search_is_a_400_naming_the_parameter_under_strict_handling(string query, string parameter)
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(identity.Physician());
        using var request = new HttpRequestMessage(HttpMethod.Get, Url($"/api/fhir/PractitionerRole{query}"));
        request.Headers.TryAddWithoutValidation("Prefer", "handling=strict");

        using var response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(parameter, (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression.Single());
    }

    [Fact]
    public async Task The_directory_needs_a_token()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(Url("/api/fhir/PractitionerRole"), Ct)).StatusCode);
    }
}

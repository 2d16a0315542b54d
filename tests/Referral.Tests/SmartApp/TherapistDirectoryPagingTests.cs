using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Therapists;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.SmartApp;

/// <summary>The referral form offers every therapist of the directory, however many pages the API serves it in.</summary>
public sealed class TherapistDirectoryPagingTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_form_offers_therapists_past_the_directorys_first_page_by_following_its_next_links()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = await harness.StartAsync();
        // More therapists than one page of the directory (50 by default), named to sort after everyone else.
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var directory = harness.Functions.Services.GetRequiredService<TherapistDirectory>();
        for (var i = 0; i < 60; i++)
        {
            await directory.UpsertAsync(ReferralScenario.Role($"zz-{suffix}-{i:D2}", $"Zz Paging {suffix} {i:D2}, LMT"), Ct);
        }

        var steps = await harness.LaunchAsync(browser);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);

        Assert.Contains($"Zz Paging {suffix} 00, LMT", html, StringComparison.Ordinal);
        Assert.Contains($"Zz Paging {suffix} 59, LMT", html, StringComparison.Ordinal);
        Assert.Contains("Sam Rivera, LMT", html, StringComparison.Ordinal);
    }
}

using System.Net;
using Referral.Tests.Infrastructure;
using Referral.Tests.Reports;

namespace Referral.Tests.Inbox;

/// <summary>The therapist downloads the progress report and the payer's copy from the referral's page, signed in; nobody else's.</summary>
public sealed class ReportDownloadPageTests(InboxFixture fixture) : IClassFixture<InboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private InboxApps Apps => fixture.Stack;

    [Fact]
    public async Task The_referral_page_links_the_reports_and_the_payer_s_copy_downloads_with_the_session_s_pain_and_CPT_units()
    {
        var (browser, id) = await Apps.AcceptedReferralAsync("Rita", "Moss");
        using var session = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(Apps.Time.GetUtcNow().AddHours(-3)));
        Assert.Equal(HttpStatusCode.SeeOther, session.StatusCode);

        var page = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);
        using var payer = await browser.GetAsync(new Uri($"/inbox/referrals/{id}?handler=Report&copy=payer", UriKind.Relative), Ct);

        Assert.Contains($"href=\"/inbox/referrals/{id}?handler=Report&amp;copy=payer\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, payer.StatusCode);
        Assert.Equal("application/pdf", payer.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(id, payer.Content.Headers.ContentDisposition?.FileNameStar ?? payer.Content.Headers.ContentDisposition?.FileName ?? "", StringComparison.Ordinal);
        var text = ReportApiTests.PdfText(await payer.Content.ReadAsByteArrayAsync(Ct));
        Assert.Contains("Pain 6/10 before, 3/10 after", text, StringComparison.Ordinal);
        Assert.Contains("CPT 97124 x 3 units", text, StringComparison.Ordinal);
        browser.Dispose();
    }

    [Fact]
    public async Task Another_therapist_gets_a_404_for_the_report_of_a_referral_not_theirs()
    {
        var (owner, id) = await Apps.AcceptedReferralAsync("Sol", "Price");
        owner.Dispose();
        var other = await Apps.AddTherapistAsync("Tess", "Quinn");
        using var browser = Apps.Browser();
        await Apps.SignInAsync(browser, other);

        using var response = await browser.GetAsync(new Uri($"/inbox/referrals/{id}?handler=Report&copy=payer", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotEqual("application/pdf", response.Content.Headers.ContentType?.MediaType);
    }
}

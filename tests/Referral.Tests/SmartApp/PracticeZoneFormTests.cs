using System.Net;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Tests.Infrastructure;
using Referral.Tests.Model;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.SmartApp;

/// <summary>
/// The physician's form and the functions API on one clock, in practices at UTC-10, UTC and UTC+14, late in the
/// evening and just after midnight: the form says which day "today" is and in which zone, the referral is valid from
/// that local day (and carries the zone), and the therapist can record a session right after it was sent, but not one
/// from before it was written.
/// </summary>
public sealed class PracticeZoneFormTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, int, int> Practices() => PracticeTimeTests.PracticesAtNight();

    [Theory]
    [MemberData(nameof(Practices))]
    public async Task A_referral_sent_at_night_is_valid_from_the_practices_date_and_takes_a_session_right_after_but_none_before(string zone, int hour, int minute)
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, extra: new Dictionary<string, string?> { ["Ehrs:0:TimeZone"] = zone }, therapists: identity);
        var (sentAt, localDate) = LocalTimeAhead(zone, hour, minute);
        harness.Time.SetUtcNow(sentAt);
        using var browser = await harness.StartAsync();

        var steps = await harness.LaunchAsync(browser);
        var form = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        var (_, id) = await ProgressWiringTests.SendFromTheFormAsync(harness, browser, ehr);

        Assert.Contains($"From today, {FhirTime.Date(localDate)} ({zone} time).", form, StringComparison.Ordinal);
        harness.Time.Advance(TimeSpan.FromHours(1));
        using var therapist = harness.Functions.ClientWith(identity.Therapist("therapist-sam-rivera", at: harness.Time.GetUtcNow()));
        var request = await ReferralScenario.ReadAsync<ServiceRequest>(await therapist.GetAsync(ReferralScenario.Url($"/api/fhir/ServiceRequest/{id}"), Ct));
        var validity = (Period)((Timing)request.Occurrence!).Repeat!.Bounds!;
        Assert.Equal(FhirTime.Date(localDate), validity.Start);
        Assert.Equal(FhirTime.Date(localDate.AddDays(89)), validity.End);
        Assert.Equal(zone, PracticeTime.ZoneIdOf(validity.StartElement));
        Assert.Equal(zone, PracticeTime.ZoneIdOf(validity.EndElement));

        using (var accepted = await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{id}/$accept"), null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        using var before = await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{id}/$record-session"),
            ReferralScenario.Body(ReferralScenario.Session(sentAt.AddHours(-1), painBefore: 6, painAfter: 4)), Ct);
        using var after = await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{id}/$record-session"),
            ReferralScenario.Body(ReferralScenario.Session(sentAt.AddMinutes(1), painBefore: 6, painAfter: 4)), Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, before.StatusCode);
        var refusal = await ReferralScenario.ReadAsync<OperationOutcome>(before);
        var issue = Assert.Single(refusal.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
        Assert.Equal(ValidationRules.SessionBeforeReferral, issue.Details?.Coding.FirstOrDefault()?.Code);
        Assert.Contains("before the referral was written", issue.Details?.Text, StringComparison.Ordinal);
        Assert.True(after.IsSuccessStatusCode, await after.Content.ReadAsStringAsync(Ct));
    }

    /// <summary>
    /// The instant it is <paramref name="hour"/>:<paramref name="minute"/> in the zone on a day after the run's clock
    /// (a fake clock only moves forward), and that local date.
    /// </summary>
    internal static (DateTimeOffset Instant, DateOnly LocalDate) LocalTimeAhead(string zoneId, int hour, int minute)
    {
        Assert.True(PracticeTime.TryFindZone(zoneId, out var zone));
        var date = PracticeTime.DateIn(TestClock.Now, zone).AddDays(2);
        var local = date.ToDateTime(new TimeOnly(hour, minute));
        var instant = new DateTimeOffset(local, zone.GetUtcOffset(local));
        return (instant, date);
    }
}

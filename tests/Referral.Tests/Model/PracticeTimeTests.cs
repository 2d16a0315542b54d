using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Sessions;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using R = Referral.Model.Fhir.ValidationRules;

namespace Referral.Tests.Model;

/// <summary>
/// Dates are days where the practice is. A referral written late in the evening in Honolulu (UTC-10) is written on a
/// day that is already over in UTC; one written just after midnight in Kiritimati (UTC+14) is written on a day UTC has
/// not reached. The validity, "today" and a session's date are all counted in the prescribing practice's zone.
/// </summary>
public sealed class PracticeTimeTests
{
    /// <summary>The practices: UTC-10, UTC, UTC+14 (none of them observes daylight saving).</summary>
    public static TheoryData<string, int, int> PracticesAtNight() => new()
    {
        { "Pacific/Honolulu", 23, 30 }, { "Pacific/Honolulu", 0, 30 },
        { "UTC", 23, 30 }, { "UTC", 0, 30 },
        { "Pacific/Kiritimati", 23, 30 }, { "Pacific/Kiritimati", 0, 30 },
    };

    private static readonly DateOnly Day = new(2026, 12, 3);

    /// <summary>The instant it is <paramref name="hour"/>:<paramref name="minute"/> on <see cref="Day"/> in the zone.</summary>
    private static DateTimeOffset LocalTime(string zoneId, int hour, int minute)
    {
        var local = Day.ToDateTime(new TimeOnly(hour, minute));
        return new DateTimeOffset(local, Zone(zoneId).GetUtcOffset(local));
    }

    private static ServiceRequest WrittenAt(DateTimeOffset written, string zoneId, DateOnly validFrom, int days = 30) =>
        new ReferralBuilder(new FixedTime(written)).Build(ModelFixtures.Draft() with
        {
            ValidFrom = validFrom,
            ValidUntil = validFrom.AddDays(days - 1),
            TimeZone = zoneId,
            Sessions = 2,
        });

    private static SessionRecord SessionAt(DateTimeOffset start) => new()
    {
        Start = start,
        Minutes = 30,
        BodyAreasTreated = [new BodyArea(BodyRegion.Wrist, Laterality.Right)],
        Techniques = [MassageTechnique.MyofascialRelease],
        PainBefore = 5,
        PainAfter = 3,
    };

    [Theory]
    [MemberData(nameof(PracticesAtNight))]
    public void A_referral_valid_from_the_practices_today_is_accepted_whatever_the_UTC_date(string zone, int hour, int minute)
    {
        var written = LocalTime(zone, hour, minute);
        var validator = ModelFixtures.Validator(new FixedTime(written));

        var outcome = validator.Validate(WrittenAt(written, zone, Day), ModelFixtures.TrainingOf);

        Assert.Empty(ModelFixtures.Problems(outcome));
    }

    [Theory]
    [MemberData(nameof(PracticesAtNight))]
    public void A_validity_starting_the_practices_yesterday_is_refused_as_backdated(string zone, int hour, int minute)
    {
        var written = LocalTime(zone, hour, minute);
        var validator = ModelFixtures.Validator(new FixedTime(written));

        var outcome = validator.Validate(WrittenAt(written, zone, Day.AddDays(-1)), ModelFixtures.TrainingOf);

        Assert.Equal(ModelFixtures.Expect((R.ValidityBackdated, "ServiceRequest.occurrence.repeat.bounds.start")), ModelFixtures.Problems(outcome));
        Assert.Contains($"written on 2026-12-03 ({zone})", TextOf(outcome), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(PracticesAtNight))]
    public void A_validity_ending_the_practices_yesterday_is_expired_and_ending_today_is_not(string zone, int hour, int minute)
    {
        var now = LocalTime(zone, hour, minute);
        var validator = new ReferralValidator(new FixedTime(now), new ReferralTimeRules { ValidityBackdateDays = 60 });
        var writtenEarlier = now.AddDays(-20);

        var endsToday = validator.Validate(WrittenAt(writtenEarlier, zone, Day.AddDays(-20), days: 21), ModelFixtures.TrainingOf);
        var endedYesterday = validator.Validate(WrittenAt(writtenEarlier, zone, Day.AddDays(-20), days: 20), ModelFixtures.TrainingOf);

        Assert.Empty(ModelFixtures.Problems(endsToday));
        Assert.Equal(ModelFixtures.Expect((R.ValidityExpired, "ServiceRequest.occurrence.repeat.bounds.end")), ModelFixtures.Problems(endedYesterday));
    }

    [Theory]
    [MemberData(nameof(PracticesAtNight))]
    public void A_session_late_on_the_last_valid_day_is_recorded_and_early_on_the_next_is_not(string zone, int hour, int minute)
    {
        // Written a week before Day, valid up to and including Day, in the practice's zone.
        var request = WrittenAt(LocalTime(zone, 12, 0).AddDays(-7), zone, Day.AddDays(-7), days: 8);
        request.Id = "sr-1";
        var onDay = LocalTime(zone, hour, minute);
        var recorder = new SessionRecorder(new FixedTime(onDay.AddDays(2)));

        var sessionOnDay = recorder.Record(request, TaskStateMachineTests.TaskIn(ReferralTaskState.Accepted), SessionAt(onDay));
        var theNextNight = recorder.Record(request, TaskStateMachineTests.TaskIn(ReferralTaskState.Accepted), SessionAt(LocalTime(zone, 0, 30).AddDays(1)));

        Assert.True(sessionOnDay.Succeeded, FhirJson.Serialize(sessionOnDay.Outcome));
        Assert.Equal(ModelFixtures.Expect((R.SessionAfterValidity, "SessionRecord.start")), ModelFixtures.Problems(theNextNight.Outcome));
    }

    [Theory]
    [MemberData(nameof(PracticesAtNight))]
    public void A_session_right_after_the_referral_on_its_first_day_is_recorded(string zone, int hour, int minute)
    {
        var written = LocalTime(zone, hour, minute);
        var request = WrittenAt(written.AddMinutes(-20), zone, PracticeTime.DateIn(written.AddMinutes(-20), Zone(zone)));
        request.Id = "sr-1";
        var recorder = new SessionRecorder(new FixedTime(written.AddHours(1)));

        var result = recorder.Record(request, TaskStateMachineTests.TaskIn(ReferralTaskState.Accepted), SessionAt(written));

        Assert.True(result.Succeeded, FhirJson.Serialize(result.Outcome));
    }

    [Fact]
    public void A_referral_stamped_a_little_ahead_of_this_servers_clock_is_accepted_within_the_configured_skew()
    {
        var request = ModelFixtures.Referral();
        request.AuthoredOn = FhirTime.DateTime(ModelFixtures.Now.AddMinutes(4));

        Assert.Empty(ModelFixtures.Problems(ModelFixtures.Validator().Validate(request, ModelFixtures.TrainingOf)));
        var strict = new ReferralValidator(ModelFixtures.Time, new ReferralTimeRules { ClockSkew = TimeSpan.FromMinutes(1) });
        var outcome = strict.Validate(request, ModelFixtures.TrainingOf);

        Assert.Equal(ModelFixtures.Expect((R.AuthoredOnFuture, "ServiceRequest.authoredOn")), ModelFixtures.Problems(outcome));
        var text = TextOf(outcome);
        Assert.Contains("2025-03-01T09:04:00+00:00", text, StringComparison.Ordinal);
        Assert.Contains("2025-03-01T09:00:00+00:00", text, StringComparison.Ordinal);
        Assert.Contains("1 minute", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_referral_stamped_beyond_the_default_five_minutes_is_refused_naming_both_times()
    {
        var request = ModelFixtures.Referral();
        request.AuthoredOn = FhirTime.DateTime(ModelFixtures.Now.AddMinutes(6));

        var outcome = ModelFixtures.Validator().Validate(request, ModelFixtures.TrainingOf);

        Assert.Equal(ModelFixtures.Expect((R.AuthoredOnFuture, "ServiceRequest.authoredOn")), ModelFixtures.Problems(outcome));
        Assert.Contains("2025-03-01T09:06:00+00:00", TextOf(outcome), StringComparison.Ordinal);
        Assert.Contains("5 minutes", TextOf(outcome), StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_backdate_allowance_lets_the_validity_start_that_many_days_before_it_was_written_and_no_more()
    {
        var validator = new ReferralValidator(ModelFixtures.Time, new ReferralTimeRules { ValidityBackdateDays = 3 });
        var threeDays = new ReferralBuilder(ModelFixtures.Time).Build(ModelFixtures.Draft() with { ValidFrom = new DateOnly(2025, 2, 26) });
        var fourDays = new ReferralBuilder(ModelFixtures.Time).Build(ModelFixtures.Draft() with { ValidFrom = new DateOnly(2025, 2, 25) });

        Assert.Empty(ModelFixtures.Problems(validator.Validate(threeDays, ModelFixtures.TrainingOf)));
        var outcome = validator.Validate(fourDays, ModelFixtures.TrainingOf);
        Assert.Equal(ModelFixtures.Expect((R.ValidityBackdated, "ServiceRequest.occurrence.repeat.bounds.start")), ModelFixtures.Problems(outcome));
        Assert.Contains("at most 3 days before", TextOf(outcome), StringComparison.Ordinal);
    }

    [Fact]
    public void A_session_ending_beyond_the_skew_is_refused_naming_its_end_and_the_servers_clock()
    {
        var now = new DateTimeOffset(2025, 3, 5, 12, 0, 0, TimeSpan.Zero);
        var request = ModelFixtures.Referral();
        request.Id = "sr-1";
        var recorder = new SessionRecorder(new FixedTime(now), new ReferralTimeRules { ClockSkew = TimeSpan.FromMinutes(2) });

        var withinSkew = recorder.Record(request, TaskStateMachineTests.TaskIn(ReferralTaskState.Accepted), SessionAt(now.AddMinutes(-29)));
        var beyond = recorder.Record(request, TaskStateMachineTests.TaskIn(ReferralTaskState.Accepted), SessionAt(now.AddMinutes(-27)));

        Assert.True(withinSkew.Succeeded, FhirJson.Serialize(withinSkew.Outcome));
        Assert.Equal(ModelFixtures.Expect((R.SessionInFuture, "SessionRecord.start")), ModelFixtures.Problems(beyond.Outcome));
        Assert.Contains("ends at 2025-03-05T12:03:00+00:00", TextOf(beyond.Outcome), StringComparison.Ordinal);
        Assert.Contains("2025-03-05T12:00:00+00:00", TextOf(beyond.Outcome), StringComparison.Ordinal);
    }

    [Fact]
    public void The_time_settings_refuse_a_negative_skew_or_an_allowance_beyond_a_year()
    {
        Assert.True(new ReferralTimeRules().IsUsable);
        Assert.False(new ReferralTimeRules { ClockSkew = TimeSpan.FromMinutes(-1) }.IsUsable);
        Assert.False(new ReferralTimeRules { ClockSkew = TimeSpan.FromHours(2) }.IsUsable);
        Assert.False(new ReferralTimeRules { ValidityBackdateDays = -1 }.IsUsable);
        Assert.False(new ReferralTimeRules { ValidityBackdateDays = 400 }.IsUsable);
    }

    [Fact]
    public void Only_IANA_time_zone_ids_name_a_practices_zone()
    {
        Assert.True(PracticeTime.TryFindZone("America/Chicago", out _));
        Assert.True(PracticeTime.TryFindZone("UTC", out _));
        Assert.False(PracticeTime.TryFindZone("Mars/Olympus_Mons", out _));
        Assert.False(PracticeTime.TryFindZone("", out _));
        Assert.False(PracticeTime.TryFindZone(null, out _));
    }

    private static string TextOf(OperationOutcome outcome) => outcome.Issue[0].Details?.Text ?? "";

    private static TimeZoneInfo Zone(string id)
    {
        Assert.True(PracticeTime.TryFindZone(id, out var zone));
        return zone;
    }
}

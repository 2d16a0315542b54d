using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The one clock of a test run. It starts at <see cref="Start"/> and runs with real elapsed time (a
/// <see cref="Stopwatch"/>), so <see cref="Now"/> moves as the run does. The start is the machine's now unless
/// <c>REFERRAL_TEST_CLOCK</c> says otherwise:
/// <list type="bullet">
/// <item><c>HH:mm</c>: the next time that UTC time of day comes round after the machine's now (e.g. <c>23:50</c>),
/// so the test clock is never behind the real one: browsers and cookie jars still read the real clock, and a
/// cookie that expires "in the past" would be dropped;</item>
/// <item>an ISO-8601 instant (e.g. <c>2027-01-01T00:10:00Z</c>).</item>
/// </list>
/// Tests read time only from here or from the clock their harness gave its apps; this file is the one place that
/// reads the machine's clock (once, for the start). Shared by link with SandboxEhr.Tests.
/// </summary>
public static class TestClock
{
    public const string Variable = "REFERRAL_TEST_CLOCK";

    private static readonly Stopwatch Running;

    static TestClock()
    {
        Running = Stopwatch.StartNew();
        Start = StartAt(Environment.GetEnvironmentVariable(Variable), DateTimeOffset.UtcNow);
    }

    /// <summary>Where the run's clock started.</summary>
    public static DateTimeOffset Start { get; }

    /// <summary>The test run's now: <see cref="Start"/> plus the real time elapsed since.</summary>
    public static DateTimeOffset Now => Start + Running.Elapsed;

    /// <summary>The UTC date of <see cref="Now"/>.</summary>
    public static DateOnly Today => DateOnly.FromDateTime(Now.UtcDateTime);

    /// <summary>The run's clock as a <see cref="TimeProvider"/> for apps that need no clock of their own.</summary>
    public static TimeProvider Provider { get; } = new RunClock();

    /// <summary>A clock a test can move, standing at the run's now.</summary>
    public static FakeTimeProvider Fake() => new(Now);

    /// <summary>
    /// A token lifetime check against <paramref name="clock"/> (the clock of the app that minted the token) instead of
    /// the machine's: an expiry is required; <c>exp</c> and <c>nbf</c> are allowed the parameters' clock skew.
    /// </summary>
    public static LifetimeValidator Lifetime(TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        return (notBefore, expires, _, parameters) =>
        {
            var now = clock.GetUtcNow().UtcDateTime;
            return expires is { } exp && exp.ToUniversalTime() > now - parameters.ClockSkew
                && (notBefore is not { } nbf || nbf.ToUniversalTime() <= now + parameters.ClockSkew);
        };
    }

    /// <summary>The start instant a <c>REFERRAL_TEST_CLOCK</c> setting means, given the machine's now.</summary>
    public static DateTimeOffset StartAt(string? setting, DateTimeOffset machineNow)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return machineNow;
        }

        var text = setting.Trim();
        if (TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var timeOfDay))
        {
            var utcNow = machineNow.ToUniversalTime();
            var today = new DateTimeOffset(utcNow.UtcDateTime.Date, TimeSpan.Zero) + timeOfDay.ToTimeSpan();
            return today > utcNow ? today : today.AddDays(1);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant.ToUniversalTime();
        }

        throw new InvalidOperationException($"{Variable}='{setting}' is neither a UTC time of day (HH:mm) nor an ISO-8601 instant.");
    }

    private sealed class RunClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => Now;
    }
}

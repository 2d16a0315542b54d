using System.Text.RegularExpressions;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Conformance;

/// <summary>
/// Time (DESIGN.md §7): every component reads time through <see cref="TimeProvider"/>, each harness gives its apps one
/// clock, and no test depends on the hour it runs. So no source reads the machine's clock directly: the apps take their
/// injected clock, the tests their harness's or <see cref="TestClock"/>, which is the one place that reads the machine's
/// clock (once, for its start; REFERRAL_TEST_CLOCK moves that start to prove the suite at any hour).
/// </summary>
public sealed partial class ClockTests
{
    /// <summary>The one file allowed to read the machine's clock.</summary>
    private const string TestClockFile = "tests/Referral.Tests/Infrastructure/TestClock.cs";

    private static readonly string[] Roots = ["tests", "functions", "smart-app", "infra/local"];

    /// <summary>The load tool and the benchmarks drive a real running app on the real clock, by design.</summary>
    private static readonly string[] RealClockTools = ["tests/Referral.LoadTool/", "tests/Referral.Benchmarks/"];

    private static readonly HashSet<string> Skipped = new(StringComparer.Ordinal) { "bin", "obj", "node_modules", ".git", "artifacts" };

    private static readonly string[] Extensions = [".cs", ".cshtml", ".razor"];

    [Fact]
    public void No_source_reads_the_machine_clock_directly()
    {
        var reads = Matches(MachineClock(), file => file != TestClockFile);

        Assert.True(reads.Count == 0,
            "Read the app's injected TimeProvider (in tests: the harness's clock or TestClock), not the machine's clock; for a wait deadline use a Stopwatch:\n"
            + string.Join("\n", reads));
    }

    [Fact]
    public void Tests_take_no_real_TimeProvider()
    {
        var reads = Matches(SystemTimeProvider(), file => file.StartsWith("tests/", StringComparison.Ordinal));

        Assert.True(reads.Count == 0, "Tests use their harness's clock or TestClock.Provider, not the system TimeProvider:\n" + string.Join("\n", reads));
    }

    [Fact]
    public void The_test_clock_reads_the_machine_clock_once()
    {
        var lines = File.ReadAllLines(Repository.PathTo(TestClockFile.Split('/')));

        Assert.Single(lines, line => MachineClock().IsMatch(Code(line)));
    }

    [Fact]
    public void Unset_the_test_clock_starts_at_the_machines_now()
    {
        var now = new DateTimeOffset(2026, 12, 3, 8, 15, 30, TimeSpan.Zero);

        Assert.Equal(now, TestClock.StartAt(null, now));
        Assert.Equal(now, TestClock.StartAt("  ", now));
    }

    [Theory]
    [InlineData("23:50", "2026-12-03T23:50:00Z")]
    [InlineData("00:10", "2026-12-04T00:10:00Z")]
    [InlineData("08:15", "2026-12-04T08:15:00Z")]
    [InlineData("08:16", "2026-12-03T08:16:00Z")]
    public void A_time_of_day_is_the_next_one_after_the_machines_now_so_the_test_clock_is_never_behind_the_real_one(string setting, string expected)
    {
        var now = new DateTimeOffset(2026, 12, 3, 8, 15, 30, TimeSpan.Zero);

        var start = TestClock.StartAt(setting, now);

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), start);
        Assert.True(start > now);
        Assert.True(start - now <= TimeSpan.FromDays(1));
    }

    [Theory]
    [InlineData("2027-01-01T00:10:00Z", "2027-01-01T00:10:00Z")]
    [InlineData("2027-01-01T09:10:00+09:00", "2027-01-01T00:10:00Z")]
    [InlineData("2025-06-30T23:50:00", "2025-06-30T23:50:00Z")]
    public void An_instant_is_taken_as_it_is_in_UTC(string setting, string expected)
    {
        var start = TestClock.StartAt(setting, new DateTimeOffset(2026, 12, 3, 8, 15, 30, TimeSpan.Zero));

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), start);
        Assert.Equal(TimeSpan.Zero, start.Offset);
    }

    [Fact]
    public void A_setting_that_is_no_time_stops_the_run_saying_so()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => TestClock.StartAt("midnight", DateTimeOffset.UnixEpoch));

        Assert.Contains(TestClock.Variable, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_test_clock_runs()
    {
        var first = TestClock.Now;
        Thread.Sleep(20);

        Assert.True(TestClock.Now > first);
        Assert.True(TestClock.Provider.GetUtcNow() >= TestClock.Start);
        Assert.True(TestClock.Fake().GetUtcNow() >= first);
    }

    /// <summary>Every match in the sources (outside the real-clock tools) of the files <paramref name="include"/> accepts, as "path:line: text".</summary>
    private static List<string> Matches(Regex pattern, Func<string, bool> include)
    {
        var found = new List<string>();
        foreach (var file in Sources().Where(include))
        {
            var lines = File.ReadAllLines(Repository.PathTo(file.Split('/')));
            for (var i = 0; i < lines.Length; i++)
            {
                if (pattern.IsMatch(Code(lines[i])))
                {
                    found.Add($"{file}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        return found;
    }

    /// <summary>The source files under <see cref="Roots"/>, as paths from the repository's root with '/'.</summary>
    private static IEnumerable<string> Sources()
    {
        var pending = new Stack<string>(Roots.Select(r => Repository.PathTo(r.Split('/'))).Where(Directory.Exists));
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            foreach (var child in Directory.EnumerateDirectories(directory).Where(d => !Skipped.Contains(Path.GetFileName(d))))
            {
                pending.Push(child);
            }

            foreach (var file in Directory.EnumerateFiles(directory).Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.Ordinal)))
            {
                var relative = Path.GetRelativePath(Repository.Root, file).Replace(Path.DirectorySeparatorChar, '/');
                if (!RealClockTools.Any(t => relative.StartsWith(t, StringComparison.Ordinal)))
                {
                    yield return relative;
                }
            }
        }
    }

    /// <summary>The line, or nothing for a whole-line // comment (a comment may name what it tells not to do).</summary>
    private static string Code(string line) => line.TrimStart().StartsWith("//", StringComparison.Ordinal) ? "" : line;

    [GeneratedRegex(@"\b(DateTime|DateTimeOffset)\s*\.\s*(UtcNow|Now|Today)\b")]
    private static partial Regex MachineClock();

    [GeneratedRegex(@"\bTimeProvider\s*\.\s*System\b")]
    private static partial Regex SystemTimeProvider();
}

using Microsoft.Extensions.Logging;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The apps' own log lines of one browser journey, in one file with the test run's artifacts (<c>logs/</c>): each line
/// names its app, and the request log names each call's route, status and time. A journey that fails in a browser
/// then says which server call it waited for. The framework's categories are kept from Warning up; the apps' from
/// Information up.
/// </summary>
public sealed class ServerLog : IDisposable
{
    private readonly StreamWriter writer;
    private readonly TimeProvider time;
    private readonly Lock gate = new();
    private bool disposed;

    /// <param name="name">What the file is named after (the test), cut to 120 characters.</param>
    /// <param name="id">What tells this file from another of the same name (the run's port).</param>
    /// <param name="time">The apps' clock, for each line's time.</param>
    public ServerLog(string name, string id, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(name);
        this.time = time;
        var safe = string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
        File = Path.Combine(Repository.ArtifactsDirectory("logs"), $"{safe[..Math.Min(safe.Length, 120)]}-{id}.log");
        writer = new StreamWriter(File, append: false) { AutoFlush = true };
    }

    /// <summary>
    /// The log of the running test's apps, named after the test and <paramref name="id"/>, its file named in the test's
    /// output.
    /// </summary>
    public static ServerLog ForTest(string id, TimeProvider time)
    {
        var log = new ServerLog(TestContext.Current.Test?.TestDisplayName ?? "apps", id, time);
        TestContext.Current.TestOutputHelper?.WriteLine($"The apps' log: {log.File}");
        return log;
    }

    /// <summary>Where the lines go.</summary>
    public string File { get; }

    /// <summary>A logger provider for one app, its lines marked with <paramref name="app"/>.</summary>
    public ILoggerProvider For(string app) => new Provider(this, app);

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            writer.Dispose();
        }
    }

    private void Write(string app, LogLevel level, string category, string message, Exception? error)
    {
        lock (gate)
        {
            if (!disposed)
            {
                writer.WriteLine($"{time.GetUtcNow():HH:mm:ss.fff} {app} {level} {category}: {message}{(error is null ? "" : " " + error)}");
            }
        }
    }

    private static bool Kept(string category, LogLevel level) =>
        level >= (category.StartsWith("Microsoft.", StringComparison.Ordinal) || category.StartsWith("System.", StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Information);

    private sealed class Provider(ServerLog log, string app) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(log, app, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(ServerLog log, string app, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => Kept(category, logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Write(app, logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}

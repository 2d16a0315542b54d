using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// Keeps everything an app logs (after the app's own filters, from appsettings, decide what reaches a provider), for
/// tests that judge the log: no patient data, no warnings, no stack traces.
/// </summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Text, Exception? Error)> Entries { get; } = new();

    /// <summary>Each entry as "category: message exception".</summary>
    public IEnumerable<string> Messages => Entries.Select(e => $"{e.Text} {e.Error}");

    public ILogger CreateLogger(string categoryName) => new Recorder(Entries, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recorder(ConcurrentQueue<(LogLevel, string, Exception?)> entries, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((logLevel, $"{category}: {formatter(state, exception)}", exception));
    }
}

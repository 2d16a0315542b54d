using System.Diagnostics;
using Azure.Storage.Queues.Models;
using Referral.Functions.Telemetry;

namespace Referral.Worker.Triggers;

/// <summary>
/// A try of a function that did not succeed: thrown out of the function, so the Functions host (or, without it, the
/// <see cref="LocalTriggerRunner"/>) leaves the message on its queue for a retry after host.json's visibility timeout,
/// and after the last try (<c>maxDequeueCount</c>) moves it to <c>{queue}-poison</c>. Its text says why, never a patient's data.
/// </summary>
public sealed class FunctionFailedException : Exception
{
    public FunctionFailedException()
    {
    }

    public FunctionFailedException(string message)
        : base(message)
    {
    }

    public FunctionFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>What every function does around its work: the span in the message's trace, and one log line of the outcome.</summary>
public static partial class FunctionRun
{
    /// <summary>Runs <paramref name="work"/> for a queue message (null for a timer); a failure is logged and thrown on to the trigger.</summary>
    public static async Task ProcessAsync(string function, QueueMessage? message, ILogger logger, Func<Task<string>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var activity = QueueTrace.StartProcess(function, message);
        try
        {
            var outcome = await work();
            LogDone(logger, function, outcome);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            activity?.SetStatus(ActivityStatusCode.Error);
            LogFailed(logger, function, e.Message);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Function {Function}: {Outcome}")]
    private static partial void LogDone(ILogger logger, string function, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function {Function} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string function, string reason);
}

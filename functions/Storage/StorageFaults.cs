using Azure;

namespace Referral.Functions.Storage;

/// <summary>
/// Whether an exception means "storage could not be reached or could not answer just now" (a fault a retry may
/// cure), as opposed to an answer storage gave (a conflict, a missing row) or a bug. The Azure SDK reports a
/// connection it could not make as a <see cref="RequestFailedException"/> with status 0, a try that ran out of
/// time as a <see cref="TaskCanceledException"/> around a <see cref="TimeoutException"/>, and a failure on every
/// try as an <see cref="AggregateException"/> of those; storage's own "busy" or "timed out" answers are 5xx and 408.
/// </summary>
public static class StorageFaults
{
    /// <summary>How long a client is asked to wait before it tries again (the <c>Retry-After</c> of a 503).</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    public static bool IsUnavailable(Exception? exception) => exception switch
    {
        null => false,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnavailable),
        RequestFailedException failed => failed.Status is 0 or StatusCodes.Status408RequestTimeout or >= StatusCodes.Status500InternalServerError,
        TaskCanceledException canceled => canceled.InnerException is TimeoutException,
        _ => false,
    };
}

using Azure;
using Referral.Functions.Storage;

namespace Referral.Tests.Storage;

/// <summary>Which failures are "storage could not answer just now" (a 503 and a retry), and which are storage's answers.</summary>
public sealed class StorageFaultsTests
{
    public static TheoryData<string, Exception, bool> Failures() => new()
    {
        { "a connection the SDK could not make (status 0)", new RequestFailedException("Connection refused (127.0.0.1:10002)"), true },
        { "storage answering 503 server busy", new RequestFailedException(503, "Server busy"), true },
        { "storage answering 500 operation timed out", new RequestFailedException(500, "Operation timed out"), true },
        { "a try that ran past its network timeout", new TaskCanceledException("The operation was cancelled because it exceeded the configured timeout.", new TimeoutException()), true },
        {
            "every try failing, as the SDK's retry reports it",
            new AggregateException("Retry failed after 2 tries.", new RequestFailedException("Connection refused"), new TaskCanceledException("timeout", new TimeoutException())),
            true
        },
        { "a conflict (an answer, not an outage)", new RequestFailedException(409, "Conflict"), false },
        { "a failed precondition", new RequestFailedException(412, "Precondition failed"), false },
        { "a caller that went away", new TaskCanceledException("The request was aborted."), false },
        { "retries that ended in a conflict", new AggregateException(new RequestFailedException("Connection refused"), new RequestFailedException(409, "Conflict")), false },
        { "a bug", new InvalidOperationException("Sequence contains no elements"), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Only_failures_to_reach_storage_or_storage_saying_it_cannot_answer_now_count_as_unavailable(string what, Exception failure, bool unavailable)
    {
        Assert.True(StorageFaults.IsUnavailable(failure) == unavailable, what);
    }
}

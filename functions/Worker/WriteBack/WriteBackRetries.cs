using Microsoft.Extensions.Options;
using Referral.Worker.Triggers;

namespace Referral.Worker.WriteBack;

/// <summary>How many tries a write-back message gets before the host moves it to the poison queue (host.json's <c>maxDequeueCount</c>).</summary>
public sealed class WriteBackRetries(IOptions<TriggerRunnerOptions> options)
{
    private readonly Lazy<int> max = new(() => FunctionManifest.ReadQueueSettings(Path.Combine(options.Value.FunctionsRoot ?? AppContext.BaseDirectory, "host.json")).MaxDequeueCount);

    public int MaxDequeueCount => max.Value;
}

namespace Referral.Functions.Conformance;

/// <summary>
/// Loads the referral package and compiles Firely's validator in the background as the API starts (11-25 s on two
/// cores), so the first submit does not pay it. Readiness reports the API not ready until it is done; a request that
/// needs the validator before then waits for this same load (<see cref="Package"/>), never a second one.
/// </summary>
public sealed class PackageWarmUp : IHostedService
{
    private readonly Lazy<Task<ReferralPackage>> loading;

    /// <summary>The process's one load (<see cref="ReferralPackage.LoadAsync"/>).</summary>
    public PackageWarmUp()
        : this(ReferralPackage.LoadAsync)
    {
    }

    /// <summary>A warm-up over the given load (tests hold it back to see what a request does meanwhile).</summary>
    public PackageWarmUp(Func<Task<ReferralPackage>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        loading = new(load);
    }

    /// <summary>True once the app's start has begun the load (before any request asked for it).</summary>
    public bool StartedAtStart { get; private set; }

    /// <summary>The package, once loaded: the one load, started at app start or by the first request to need it.</summary>
    public Task<ReferralPackage> Package => loading.Value;

    /// <summary>True when the package is loaded and its validator compiled.</summary>
    public bool IsWarm => loading.IsValueCreated && loading.Value.IsCompletedSuccessfully;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Not awaited: the app starts serving (liveness, readiness saying "loading") while the load runs.
        _ = loading.Value;
        StartedAtStart = true;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

using Referral.Functions.Conformance;
using Referral.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(ValidatorLoad))]
[assembly: AssemblyFixture(typeof(AzuriteFixture))]

namespace Referral.Tests.Infrastructure;

/// <summary>
/// Starts the process's one load of the referral package and Firely's validator (<see cref="ReferralPackage.LoadAsync"/>,
/// seconds of work) as the test run starts, beside Azurite's start, as the API's warm-up starts it beside the app's.
/// Without it the first tests to need the validator, several at once, each waited out the whole load.
/// </summary>
public sealed class ValidatorLoad : IAsyncLifetime
{
    public ValueTask InitializeAsync()
    {
        _ = ReferralPackage.LoadAsync();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

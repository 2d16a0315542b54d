namespace Referral.Tests.Infrastructure;

/// <summary>
/// Tests of the queue- and timer-triggered functions run one at a time against an Azurite of their own: a queue is
/// shared by everyone who polls it, and a timer reads every therapist's partition, so no other test's data or
/// trigger runner may be in the way.
/// </summary>
[CollectionDefinition(nameof(BackgroundWork), DisableParallelization = true)]
public sealed class BackgroundWork : ICollectionFixture<BackgroundWork.OwnAzurite>
{
    public sealed class OwnAzurite : IAsyncLifetime
    {
        public AzuriteFixture Azurite { get; } = new();

        public ValueTask InitializeAsync() => Azurite.InitializeAsync();

        public ValueTask DisposeAsync() => Azurite.DisposeAsync();
    }
}

namespace Referral.Tests.Infrastructure;

/// <summary>One Azurite per test run (an assembly fixture), or per collection that needs storage of its own.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private readonly AzuriteProcess azurite;

    public AzuriteFixture()
        : this(new AzuriteProcess())
    {
    }

    /// <summary>A fixture over an emulator a test owns (a persistent one, which the test stops and restarts for an outage).</summary>
    internal AzuriteFixture(AzuriteProcess azurite) => this.azurite = azurite;

    public string ConnectionString => azurite.ConnectionString;

    public int TablePort => azurite.TablePort;

    public ValueTask InitializeAsync() => azurite.StartAsync();

    public ValueTask DisposeAsync() => azurite.DisposeAsync();
}

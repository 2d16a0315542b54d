namespace Referral.Tests.Infrastructure;

/// <summary>
/// One functions app (API and worker) and its identities for a whole test class (<c>IClassFixture</c>), for classes
/// whose tests speak to the API with their own scenario's ids and leave the app as they found it: no clock, settings or
/// services of their own, no worker mail or trigger run that another test could see. Each start of the app costs about
/// a fifth of a second on an idle machine, more on a busy one (every endpoint's request delegate is compiled per host):
/// here it is paid once per class instead of once per test. Storage is the test run's Azurite either way.
/// </summary>
public sealed class SharedFunctions : IAsyncDisposable
{
    private readonly Lazy<FunctionsApp> app;

    public SharedFunctions(AzuriteFixture azurite)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        app = new(() => new FunctionsApp(azurite.ConnectionString, Identity), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public TestIdentity Identity { get; } = new();

    /// <summary>The class's app, started by the first test that asks for it.</summary>
    public FunctionsApp App => app.Value;

    public async ValueTask DisposeAsync()
    {
        if (app.IsValueCreated)
        {
            await app.Value.DisposeAsync();
        }

        Identity.Dispose();
    }
}

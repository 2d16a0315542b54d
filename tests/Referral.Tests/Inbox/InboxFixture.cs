using Referral.Tests.Infrastructure;

namespace Referral.Tests.Inbox;

/// <summary>One inbox stack (sandbox provider, functions app, smart-app) per test class; each test brings its own therapists.</summary>
public sealed class InboxFixture(AzuriteFixture azurite) : IAsyncLifetime
{
    public InboxApps Stack { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Stack = await InboxApps.StartAsync(azurite);

    public ValueTask DisposeAsync() => Stack.DisposeAsync();
}

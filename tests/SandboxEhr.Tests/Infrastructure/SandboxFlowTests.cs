namespace SandboxEhr.Tests.Infrastructure;

/// <summary>
/// A SMART flow (its own browser and cookies) for every test, against a sandbox: a fresh one per test, or, for a class
/// whose tests leave the sandbox as they found it (no clock moved, no client key served), the class's
/// <see cref="SharedSandbox"/>, started once instead of once a test.
/// Where a test class signs client assertions, the sandbox fetches that client's public key from the JWKS URL it is
/// registered with.
/// </summary>
public abstract class SandboxFlowTests : IAsyncLifetime
{
    private readonly string? jwksUrl;
    private readonly ClientKey? key;
    private readonly bool ownsApp;

    protected SandboxFlowTests(string? jwksUrl = null, ClientKey? key = null)
    {
        this.jwksUrl = jwksUrl;
        this.key = key;
        App = new SandboxApp();
        ownsApp = true;
    }

    /// <summary>The flow against the class's shared sandbox, which the class fixture starts and disposes.</summary>
    protected SandboxFlowTests(SharedSandbox shared)
    {
        ArgumentNullException.ThrowIfNull(shared);
        App = shared.App;
    }

    protected SandboxApp App { get; }

    protected SmartFlow Flow { get; private set; } = null!;

    /// <summary>The client's signing key, served at the class's JWKS URL.</summary>
    protected ClientKey Key => key ?? throw new InvalidOperationException("This test class serves no client key.");

    public ValueTask InitializeAsync()
    {
        if (jwksUrl is not null && key is not null)
        {
            App.Jwks.Serve(jwksUrl, ClientKey.JwksJson(key));
        }

        Flow = new SmartFlow(App);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        Flow.Dispose();
        key?.Dispose();
        if (ownsApp)
        {
            await App.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

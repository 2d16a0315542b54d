namespace SandboxEhr.Tests.Infrastructure;

/// <summary>
/// A fresh sandbox and a SMART flow against it for every test; where a test class signs client assertions, the
/// sandbox fetches that client's public key from the JWKS URL it is registered with.
/// </summary>
public abstract class SandboxFlowTests(string? jwksUrl = null, ClientKey? key = null) : IAsyncLifetime
{
    protected SandboxApp App { get; } = new();

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
        await App.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

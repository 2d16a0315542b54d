namespace SandboxEhr.Tests.Infrastructure;

/// <summary>
/// One sandbox for a whole test class (<see cref="IClassFixture{TFixture}"/>), for classes whose tests leave it as they
/// found it (no clock moved, no client key served): started once instead of once a test.
/// </summary>
public sealed class SharedSandbox : IAsyncDisposable
{
    public SandboxApp App { get; } = new();

    public ValueTask DisposeAsync() => App.DisposeAsync();
}

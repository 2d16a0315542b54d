using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Security;

/// <summary>A bearer value that is no JWT at all is a plain 401 invalid_token: never a 500, never a logged stack trace.</summary>
public sealed class GarbageTokenTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    [Theory]
    [InlineData("not.a.jwt")]
    [InlineData("a.b.c")]
    [InlineData("e30.e30.")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln")]
    [InlineData("....")]
    [InlineData("a.b.c.d.e")]
    [InlineData("not-a-token")]
    [InlineData("eyJ")]
    public async Task A_garbage_bearer_token_is_a_401_invalid_token_without_a_stack_trace_in_the_log(string garbage)
    {
        var logs = new RecordingLoggerProvider();
        await using var factory = new FunctionsApp(azurite.ConnectionString, identity);
        await using var app = factory.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(logs)));
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/fhir/AuditEvent", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + garbage);

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, l => l.Level >= LogLevel.Warning);
    }
}

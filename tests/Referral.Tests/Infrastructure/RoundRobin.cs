using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// A load balancer of the test's own: each request goes to the next instance still in rotation; cookies are kept
/// by the browser in front of it, as a real browser would.
/// </summary>
public sealed class RoundRobin(params WebApplicationFactory<Referral.SmartApp.Program>[] instances) : HttpMessageHandler
{
    private readonly HttpMessageInvoker[] handlers = [.. instances.Select(i => new HttpMessageInvoker(i.Server.CreateHandler()))];
    private readonly HashSet<int> stopped = [];
    private int next;

    /// <summary>The instance (its index) that served each request, in order.</summary>
    public List<int> Served { get; } = [];

    public HttpClient Browser(string baseAddress = SmartAppHarness.AppBase) =>
        new(new CookieContainerHandler(new CookieContainer()) { InnerHandler = this }, disposeHandler: false) { BaseAddress = new Uri(baseAddress) };

    public async Task StopAsync(int instance)
    {
        stopped.Add(instance);
        await instances[instance].DisposeAsync();
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        int pick;
        lock (Served)
        {
            do
            {
                pick = next++ % handlers.Length;
            }
            while (stopped.Contains(pick));

            Served.Add(pick);
        }

        return handlers[pick].SendAsync(request, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var handler in handlers)
            {
                handler.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}

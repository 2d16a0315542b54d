using System.Collections.Concurrent;
#pragma warning disable IDE0005 // Why: this file is also compiled into the load tool, a Web SDK project whose implicit usings already hold these four (redundant there); the test project needs them.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
#pragma warning restore IDE0005

namespace Referral.Tests.Infrastructure;

/// <summary>
/// A pass-through in front of Azurite's table service that notes every request an app sends it, so a test can count the
/// storage round trips of one action (issue 17). An app pointed at <see cref="ConnectionString"/> reaches its tables
/// through it (its queues too when asked; its blobs directly); nothing is changed on the way, so Azurite answers as it always does.
/// </summary>
public sealed class StorageRequestLog : IAsyncDisposable
{
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase) { "Host", "Content-Length", "Transfer-Encoding", "Connection" };

    private readonly WebApplication proxy;
    private readonly Dictionary<int, (HttpClient Client, string Prefix)> targets;
    private readonly ConcurrentQueue<string> requests = new();

    private StorageRequestLog(WebApplication proxy, Dictionary<int, (HttpClient Client, string Prefix)> targets, string connectionString)
    {
        this.proxy = proxy;
        this.targets = targets;
        ConnectionString = connectionString;
    }

    /// <summary>The test run's Azurite, with its table endpoint through this log.</summary>
    public string ConnectionString { get; }

    /// <summary>Every table request so far, in the order they arrived, as <see cref="Describe"/> names them.</summary>
    public IReadOnlyList<string> Requests => [.. requests];

    /// <summary>
    /// A log in front of the Azurite of <paramref name="connectionString"/>: its table endpoint always, and with
    /// <paramref name="queues"/> its queue endpoint too (those requests named <c>queue METHOD name what</c>), so a count
    /// can take in the messages an action queues (the load tool's lifecycle count).
    /// </summary>
    public static async Task<StorageRequestLog> StartAsync(string connectionString, bool queues = false)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var parts = connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries);
        var tableTarget = EndpointOf(parts, "TableEndpoint=");
        var queueTarget = queues ? EndpointOf(parts, "QueueEndpoint=") : null;
        var tablePort = Loopback.FreePort();
        var queuePort = queues ? Loopback.FreePort() : 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(queues ? [$"http://127.0.0.1:{tablePort}", $"http://127.0.0.1:{queuePort}"] : [$"http://127.0.0.1:{tablePort}"]);
        builder.Logging.ClearProviders();
        var proxy = builder.Build();
        var targets = new Dictionary<int, (HttpClient Client, string Prefix)>
        {
            [tablePort] = (Client(tableTarget), ""),
        };
        if (queueTarget is not null)
        {
            targets[queuePort] = (Client(queueTarget), "queue ");
        }

        var rewritten = string.Join(';', parts.Select(part =>
            part.StartsWith("TableEndpoint=", StringComparison.Ordinal) ? $"TableEndpoint=http://127.0.0.1:{tablePort}{tableTarget.AbsolutePath}"
            : queues && part.StartsWith("QueueEndpoint=", StringComparison.Ordinal) ? $"QueueEndpoint=http://127.0.0.1:{queuePort}{queueTarget!.AbsolutePath}"
            : part)) + ";";
        var log = new StorageRequestLog(proxy, targets, rewritten);
        proxy.Run(log.ForwardAsync);
        await proxy.StartAsync();
        return log;
    }

    private static Uri EndpointOf(string[] parts, string name) =>
        new(parts.FirstOrDefault(part => part.StartsWith(name, StringComparison.Ordinal))?[name.Length..]
            ?? throw new ArgumentException($"The connection string names no {name[..^1]}.", nameof(parts)));

    private static HttpClient Client(Uri endpoint) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(endpoint.GetLeftPart(UriPartial.Authority)) };

    /// <summary>The requests from <paramref name="from"/> on (a count of <see cref="Requests"/> taken before an action).</summary>
    public IReadOnlyList<string> Since(int from) => [.. Requests.Skip(from)];

    /// <summary>
    /// A request as <c>METHOD table what</c>: <c>POST $batch</c> (a transaction), <c>GET Referrals point task|</c> (a point
    /// read, by the row key's prefix), <c>GET Referrals query inbox|</c> (a range query, by its first key's prefix), <c>POST AuditEvents insert</c>.
    /// </summary>
    public static string Describe(string method, string pathAndQuery)
    {
        ArgumentNullException.ThrowIfNull(pathAndQuery);
        var path = Uri.UnescapeDataString(pathAndQuery.Split('?')[0]);
        var resource = path.TrimStart('/');
        resource = resource[(resource.IndexOf('/', StringComparison.Ordinal) + 1)..]; // past the account name
        if (resource.StartsWith("$batch", StringComparison.Ordinal))
        {
            return $"{method} $batch";
        }

        var paren = resource.IndexOf('(', StringComparison.Ordinal);
        var table = paren < 0 ? resource : resource[..paren];
        var rowKey = resource.IndexOf("RowKey='", StringComparison.Ordinal);
        var key = rowKey >= 0 ? resource[(rowKey + "RowKey='".Length)..].Split('\'')[0] : "";
        var what = rowKey >= 0
            ? key.Contains('|', StringComparison.Ordinal) ? $"point {key.Split('|')[0]}|" : "point"
            : method == "POST" ? "insert" : "query" + RangeOf(pathAndQuery);
        return $"{method} {table} {what}";
    }

    /// <summary>A range query's first row key prefix (<c> inbox|</c>, <c> status|</c>), from its <c>RowKey gt</c> or <c>ge</c>; empty for another query.</summary>
    private static string RangeOf(string pathAndQuery)
    {
        var query = Uri.UnescapeDataString(pathAndQuery.Contains('?', StringComparison.Ordinal) ? pathAndQuery[pathAndQuery.IndexOf('?', StringComparison.Ordinal)..] : "").Replace('+', ' ');
        foreach (var bound in new[] { "RowKey gt '", "RowKey ge '" })
        {
            var at = query.IndexOf(bound, StringComparison.Ordinal);
            if (at >= 0)
            {
                var key = query[(at + bound.Length)..].Split('\'')[0];
                return " " + (key.Contains('|', StringComparison.Ordinal) ? key[..(key.IndexOf('|', StringComparison.Ordinal) + 1)] : key);
            }
        }

        return "";
    }

    private async Task ForwardAsync(HttpContext http)
    {
        var pathAndQuery = http.Request.Path + http.Request.QueryString;
        var (azurite, prefix) = targets[http.Connection.LocalPort];
        requests.Enqueue(prefix + Describe(http.Request.Method, pathAndQuery));
        using var forwarded = new HttpRequestMessage(new HttpMethod(http.Request.Method), pathAndQuery);
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, http.RequestAborted);
        if (body.Length > 0 || http.Request.ContentLength is not null)
        {
            forwarded.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var (name, values) in http.Request.Headers.Where(h => !NotForwarded.Contains(h.Key)))
        {
            if (!forwarded.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                forwarded.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        using var answer = await azurite.SendAsync(forwarded, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
        http.Response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers).Where(h => !NotForwarded.Contains(h.Key)))
        {
            http.Response.Headers[name] = values.ToArray();
        }

        await answer.Content.CopyToAsync(http.Response.Body, http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await proxy.DisposeAsync();
        foreach (var (client, _) in targets.Values)
        {
            client.Dispose();
        }
    }
}

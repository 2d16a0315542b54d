using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// A pass-through in front of Azurite's table service that notes every request an app sends it, so a test can count the
/// storage round trips of one action (issue 17). An app pointed at <see cref="ConnectionString"/> reaches its tables
/// through it (its queues and blobs directly); nothing is changed on the way, so Azurite answers as it always does.
/// </summary>
public sealed class StorageRequestLog : IAsyncDisposable
{
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase) { "Host", "Content-Length", "Transfer-Encoding", "Connection" };

    private readonly WebApplication proxy;
    private readonly HttpClient azurite;
    private readonly ConcurrentQueue<string> requests = new();

    private StorageRequestLog(WebApplication proxy, HttpClient azurite, string connectionString)
    {
        this.proxy = proxy;
        this.azurite = azurite;
        ConnectionString = connectionString;
    }

    /// <summary>The test run's Azurite, with its table endpoint through this log.</summary>
    public string ConnectionString { get; }

    /// <summary>Every table request so far, in the order they arrived, as <see cref="Describe"/> names them.</summary>
    public IReadOnlyList<string> Requests => [.. requests];

    public static async Task<StorageRequestLog> StartAsync(AzuriteFixture storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var port = Loopback.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var proxy = builder.Build();
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{storage.TablePort}"),
        };
        var connectionString = string.Join(';', storage.ConnectionString.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.StartsWith("TableEndpoint=", StringComparison.Ordinal)
                ? $"TableEndpoint=http://127.0.0.1:{port}/{part[(part.LastIndexOf('/') + 1)..]}"
                : part)) + ";";
        var log = new StorageRequestLog(proxy, client, connectionString);
        proxy.Run(log.ForwardAsync);
        await proxy.StartAsync();
        return log;
    }

    /// <summary>The requests from <paramref name="from"/> on (a count of <see cref="Requests"/> taken before an action).</summary>
    public IReadOnlyList<string> Since(int from) => [.. Requests.Skip(from)];

    /// <summary>
    /// A request as <c>METHOD table what</c>: <c>POST $batch</c> (a transaction), <c>GET Referrals point task|</c> (a point
    /// read, by the row key's prefix), <c>GET Referrals query</c> (a range query), <c>POST AuditEvents insert</c>.
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
        var what = rowKey >= 0
            ? "point " + resource[(rowKey + "RowKey='".Length)..].Split('|')[0] + "|"
            : method == "POST" ? "insert" : "query";
        return $"{method} {table} {what}";
    }

    private async Task ForwardAsync(HttpContext http)
    {
        var pathAndQuery = http.Request.Path + http.Request.QueryString;
        requests.Enqueue(Describe(http.Request.Method, pathAndQuery));
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
        azurite.Dispose();
    }
}

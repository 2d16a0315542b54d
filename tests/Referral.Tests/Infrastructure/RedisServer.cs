using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// A real Redis (Debian's <c>redis-server</c>, which the README's test command installs when missing) on a free
/// loopback port, with no persistence, stopped when disposed: the shared state of several smart-app instances.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    public const string Executable = "/usr/bin/redis-server";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly StringBuilder output = new();
    private Process? process;

    public int Port { get; private set; }

    /// <summary>The StackExchange.Redis configuration string the apps are given (<c>Redis:Configuration</c>).</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    public ValueTask InitializeAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: the README's test command installs it (apt-get install redis-server).");
        Port = Loopback.FreePort();
        return StartAsync();
    }

    /// <summary>Stops the server (its data is gone: nothing is persisted), keeping its port for <see cref="StartAsync"/>.</summary>
    public ValueTask StopAsync() => DisposeAsync();

    /// <summary>Starts the server on its port (again, after <see cref="StopAsync"/>).</summary>
    public async ValueTask StartAsync()
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["--port", $"{Port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"])
        {
            start.ArgumentList.Add(arg);
        }

        process = Process.Start(start) ?? throw new InvalidOperationException("redis-server could not be started.");
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}:\n{output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (waited.Elapsed < StartTimeout)
            {
                await Task.Delay(50);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        process?.Dispose();
        process = null;
        return ValueTask.CompletedTask;
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}

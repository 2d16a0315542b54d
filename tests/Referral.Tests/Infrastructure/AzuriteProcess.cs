using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The real Azure Storage emulator (npm package azurite, pinned in infra/local): installed with <c>npm ci</c> when
/// missing, started on free loopback ports with in-memory persistence and telemetry off, and stopped (with its whole
/// process tree) when disposed. Shared by the tests (AzuriteFixture) and the load tool. A persistent one keeps its
/// data in a folder of its own instead, so a test can stop it (by its PID) and start it again on the same ports and
/// data: a storage outage and its end.
/// </summary>
public sealed class AzuriteProcess(bool persistent = false) : IAsyncDisposable
{
    // Azurite's published development account: not a secret, it only opens the local emulator.
    private const string AccountName = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private Process? process;
    private readonly StringBuilder output = new();
    private string entry = "";
    private string workspace = "";
    private (int Blob, int Queue, int Table) ports;

    public string ConnectionString { get; private set; } = "";

    public int TablePort { get; private set; }

    /// <summary>The running emulator's process id (a persistent one gets a new one at each <see cref="RestartAsync"/>).</summary>
    public int ProcessId => process?.Id ?? throw new InvalidOperationException("Azurite is not running.");

    public async ValueTask StartAsync()
    {
        var localDir = Repository.PathTo("infra", "local");
        entry = Path.Combine(localDir, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(entry))
        {
            await RunToEndAsync("npm", ["ci", "--no-audit", "--no-fund"], localDir);
        }

        ports = (Loopback.FreePort(), Loopback.FreePort(), Loopback.FreePort());
        TablePort = ports.Table;
        workspace = Directory.CreateTempSubdirectory("azurite-").FullName;
        await LaunchAsync();

        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{ports.Blob}/{AccountName};" +
            $"QueueEndpoint=http://127.0.0.1:{ports.Queue}/{AccountName};" +
            $"TableEndpoint=http://127.0.0.1:{ports.Table}/{AccountName};";
    }

    /// <summary>
    /// Stops the emulator by its PID: SIGTERM first, so a persistent one writes its data folder as it shuts down (as a
    /// storage service that goes away keeps what it acknowledged), then a kill if it has not gone within 10 s.
    /// </summary>
    public async Task StopAsync()
    {
        var running = process ?? throw new InvalidOperationException("Azurite is not running.");
        if (!running.HasExited)
        {
            await RunToEndAsync("kill", ["-TERM", running.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], workspace);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await running.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                running.Kill(entireProcessTree: true);
                await running.WaitForExitAsync();
            }
        }

        running.Dispose();
        process = null;
    }

    /// <summary>Starts a stopped persistent emulator again on the same ports and the same data folder.</summary>
    public async Task RestartAsync()
    {
        if (!persistent)
        {
            throw new InvalidOperationException("Only a persistent Azurite keeps its data over a restart.");
        }

        if (process is not null)
        {
            throw new InvalidOperationException("Azurite is still running; stop it first.");
        }

        await LaunchAsync();
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = workspace,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[
            entry,
            "--blobHost", "127.0.0.1", "--blobPort", $"{ports.Blob}",
            "--queueHost", "127.0.0.1", "--queuePort", $"{ports.Queue}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{ports.Table}",
            "--disableTelemetry", "--skipApiVersionCheck", "--silent"])
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var arg in persistent ? ["--location", Path.Combine(workspace, "data")] : (string[])["--inMemoryPersistence"])
        {
            start.ArgumentList.Add(arg);
        }

        process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started.");
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await WaitForPortsAsync([ports.Blob, ports.Queue, ports.Table]);
    }

    public ValueTask DisposeAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        process?.Dispose();
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

    private async Task WaitForPortsAsync(int[] ports)
    {
        var waited = Stopwatch.StartNew();
        foreach (var port in ports)
        {
            while (true)
            {
                if (process!.HasExited)
                {
                    throw new InvalidOperationException($"Azurite exited with code {process.ExitCode}:\n{output}");
                }

                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (waited.Elapsed < StartTimeout)
                {
                    await Task.Delay(100);
                }
            }
        }
    }


    private static async Task RunToEndAsync(string fileName, string[] args, string workingDirectory)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var run = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} could not be started.");
        var stdout = run.StandardOutput.ReadToEndAsync();
        var stderr = run.StandardError.ReadToEndAsync();
        await run.WaitForExitAsync();
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{fileName} {string.Join(' ', args)}' in {workingDirectory} failed ({run.ExitCode}):\n{await stdout}\n{await stderr}");
        }
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// The real Azure Storage emulator (npm package azurite, pinned in infra/local): installed with <c>npm ci</c> when
/// missing, started on free loopback ports with in-memory persistence and telemetry off, and stopped (with its whole
/// process tree) when disposed. Shared by the tests (AzuriteFixture) and the load tool.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    // Azurite's published development account: not a secret, it only opens the local emulator.
    private const string AccountName = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private Process? process;
    private readonly StringBuilder output = new();

    public string ConnectionString { get; private set; } = "";

    public int TablePort { get; private set; }

    public async ValueTask StartAsync()
    {
        var localDir = Repository.PathTo("infra", "local");
        var entry = Path.Combine(localDir, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(entry))
        {
            await RunToEndAsync("npm", ["ci", "--no-audit", "--no-fund"], localDir);
        }

        var (blob, queue, table) = (Loopback.FreePort(), Loopback.FreePort(), Loopback.FreePort());
        TablePort = table;
        var workspace = Directory.CreateTempSubdirectory("azurite-").FullName;
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = workspace,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[
            entry,
            "--blobHost", "127.0.0.1", "--blobPort", $"{blob}",
            "--queueHost", "127.0.0.1", "--queuePort", $"{queue}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{table}",
            "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent"])
        {
            start.ArgumentList.Add(arg);
        }

        process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started.");
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await WaitForPortsAsync([blob, queue, table]);

        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{blob}/{AccountName};" +
            $"QueueEndpoint=http://127.0.0.1:{queue}/{AccountName};" +
            $"TableEndpoint=http://127.0.0.1:{table}/{AccountName};";
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

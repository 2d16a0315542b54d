using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Referral.Functions.Backup;
using Referral.Functions.Storage;
using Referral.Worker.Triggers;

namespace Referral.Worker.Backup;

/// <summary>Backup:* settings. On in Azure (appsettings.json); off in Development, where the local account is throwaway.</summary>
public sealed class BackupOptions
{
    public const string Section = "Backup";

    public bool Enabled { get; set; } = true;
}

/// <summary>The hourly <c>table-backup</c> timer: every table into the <c>table-backups</c> container (<see cref="TableBackup"/>).</summary>
public sealed partial class TableBackupFunction(TableBackup backup, StorageAccount storage, IOptions<BackupOptions> options, ILogger<TableBackup> logger)
{
    public const string Name = "table-backup";

    /// <summary>Hourly, at 20 minutes past (NCRONTAB, with seconds).</summary>
    public const string Schedule = "0 20 * * * *";

    [Function(Name)]
    public Task RunAsync([TimerTrigger(Schedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        FunctionRun.ProcessAsync(Name, null, logger, () => RunAsync(backup, storage, options, logger, cancellationToken));

    private static async Task<string> RunAsync(
        TableBackup backup,
        StorageAccount storage,
        IOptions<BackupOptions> options,
        ILogger<TableBackup> logger,
        CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return "Backups are off (Backup:Enabled is false).";
        }

        var container = storage.BlobService.GetBlobContainerClient(TableBackup.ContainerName);
        var run = await backup.BackupAsync(storage.TableService, container, cancellationToken);
        var entities = run.Manifest.Tables.Sum(t => t.Entities);
        LogRun(logger, run.Manifest.Full ? "full" : "incremental", run.Manifest.Tables.Count, entities, run.Prefix);
        return $"Backed up {entities} entities of {run.Manifest.Tables.Count} tables to {run.Prefix}.";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Table backup ({Kind}): {Tables} tables, {Entities} entities, to {Prefix}.")]
    private static partial void LogRun(ILogger logger, string kind, int tables, int entities, string prefix);
}

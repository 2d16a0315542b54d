using Microsoft.Extensions.Options;
using Referral.Functions.Storage;
using Referral.Functions.Triggers;

namespace Referral.Functions.Backup;

/// <summary>Backup:* settings. On in Azure (appsettings.json); off in Development, where the local account is throwaway.</summary>
public sealed class BackupOptions
{
    public const string Section = "Backup";

    public bool Enabled { get; set; } = true;
}

/// <summary>The hourly <c>table-backup</c> timer: every table into the <c>table-backups</c> container (<see cref="TableBackup"/>).</summary>
public static partial class TableBackupFunction
{
    public const string Name = "table-backup";

    public static IEndpointRouteBuilder MapTableBackup(this IEndpointRouteBuilder app)
    {
        app.MapTrigger(Name, RunAsync);
        return app;
    }

    private static async Task<IResult> RunAsync(
        HttpContext http,
        TableBackup backup,
        StorageAccount storage,
        IOptions<BackupOptions> options,
        ILogger<TableBackup> logger,
        CancellationToken cancellationToken)
    {
        if (await TriggerEndpoints.ReadInvocationAsync(http.Request, cancellationToken) is null)
        {
            return InvocationResponse.Failed("The body is not a timer invocation.", StatusCodes.Status400BadRequest);
        }

        if (!options.Value.Enabled)
        {
            return InvocationResponse.Ok("Backups are off (Backup:Enabled is false).");
        }

        var container = storage.BlobService.GetBlobContainerClient(TableBackup.ContainerName);
        var run = await backup.BackupAsync(storage.TableService, container, cancellationToken);
        var entities = run.Manifest.Tables.Sum(t => t.Entities);
        LogRun(logger, run.Manifest.Full ? "full" : "incremental", run.Manifest.Tables.Count, entities, run.Prefix);
        return InvocationResponse.Ok($"Backed up {entities} entities of {run.Manifest.Tables.Count} tables to {run.Prefix}.");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Table backup ({Kind}): {Tables} tables, {Entities} entities, to {Prefix}.")]
    private static partial void LogRun(ILogger logger, string kind, int tables, int entities, string prefix);
}

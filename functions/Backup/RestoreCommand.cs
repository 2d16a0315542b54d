using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace Referral.Functions.Backup;

/// <summary>
/// <c>dotnet Referral.Functions.dll restore-tables --from &lt;container&gt; --to &lt;tables&gt;</c>: loads the latest
/// backup (<see cref="TableBackup.RestoreAsync"/>) into a fresh account or fresh tables. Each of --from and --to is a
/// storage connection string (Azurite, a trial) or an https URI reached with the signed-in Azure identity
/// (<see cref="DefaultAzureCredential"/>: <c>az login</c> or a managed identity): --from the container's URI
/// (https://&lt;account&gt;.blob.core.windows.net/table-backups), --to the table service's
/// (https://&lt;account&gt;.table.core.windows.net).
/// </summary>
public static class RestoreCommand
{
    public const string Verb = "restore-tables";

    public static bool Matches(string[] args) => args is [Verb, ..];

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var from = Option(args, "--from");
        var to = Option(args, "--to");
        if (from is null || to is null)
        {
            await output.WriteLineAsync($"Usage: {Verb} --from <backup container: connection string or https URI> --to <tables: connection string or https URI>");
            return 2;
        }

        var credential = new DefaultAzureCredential();
        var container = Uri.TryCreate(from, UriKind.Absolute, out var containerUri) && containerUri.Scheme == Uri.UriSchemeHttps
            ? new BlobContainerClient(containerUri, credential)
            : new BlobContainerClient(from, TableBackup.ContainerName);
        var tables = Uri.TryCreate(to, UriKind.Absolute, out var tableUri) && tableUri.Scheme == Uri.UriSchemeHttps
            ? new TableServiceClient(tableUri, credential)
            : new TableServiceClient(to);
        try
        {
            var result = await TableBackup.RestoreAsync(container, tables, cancellationToken);
            await output.WriteLineAsync($"Restored {result.Entities} entities from {result.Runs.Count} run(s): {string.Join(", ", result.Runs)}");
            return 0;
        }
        catch (InvalidOperationException refused)
        {
            await output.WriteLineAsync($"Nothing restored: {refused.Message}");
            return 1;
        }
    }

    private static string? Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}

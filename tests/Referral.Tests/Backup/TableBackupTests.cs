extern alias worker;

using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Referral.Functions.Backup;
using Referral.Tests.Infrastructure;
using worker::Referral.Worker.Backup;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Backup;

/// <summary>
/// Issue 25: Table Storage has no point-in-time restore, so the hourly <c>table-backup</c> timer copies every table into
/// blobs (the day's first run in full, the rest incrementally) and <c>restore-tables</c> loads them back. Each test has
/// an Azurite of its own: it backs up, wipes and restores every table of the account.
/// </summary>
public sealed class TableBackupTests(TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static readonly Dictionary<string, string?> BackupOn = new() { ["Backup:Enabled"] = "true" };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_referral_comes_back_unchanged_after_the_tables_are_wiped_and_the_backup_restored()
    {
        await using var storage = new AzuriteFixture();
        await storage.InitializeAsync();
        var clock = TestClock.Fake();
        // Both runs on one UTC day (the day's first run is full, the next incremental), whatever the hour the test runs:
        // from 01:00 of the next day.
        clock.SetUtcNow(new DateTimeOffset(clock.GetUtcNow().UtcDateTime.Date.AddDays(1).AddHours(1), TimeSpan.Zero));
        await using var scenario = new ReferralScenario(storage, identity, settings: BackupOn, time: clock);
        await scenario.SeedTherapistsAsync();
        var first = await scenario.SubmitAndAcceptAsync();

        clock.Advance(TimeSpan.FromHours(1));
        Assert.Contains(TableBackupFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));

        // Changes after the full copy: a session on the first referral and a second referral.
        using (var session = await scenario.RecordSessionAsync(first, ReferralScenario.Session(start: clock.GetUtcNow().AddHours(-1))))
        {
            Assert.True(session.IsSuccessStatusCode, await session.Content.ReadAsStringAsync(Ct));
        }

        var second = await scenario.SubmitAndAcceptAsync();
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Contains(TableBackupFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));

        var manifests = await ManifestsAsync(storage.ConnectionString);
        Assert.Equal([true, false], manifests.Select(m => m.Full));
        // The therapist directory did not change after the full copy: the incremental run copies at most the entity
        // at its watermark (the newest Timestamp, taken inclusively so nothing written in that same tick is missed).
        var directory = Functions.Therapists.TherapistDirectory.TableName;
        var fullCopy = Assert.Single(manifests[0].Tables, t => t.Name == directory).Entities;
        Assert.True(fullCopy > 1, $"The full copy holds the directory ({fullCopy}).");
        Assert.True(Assert.Single(manifests[1].Tables, t => t.Name == directory).Entities <= 1, "The incremental run copied the unchanged directory again.");
        Assert.Contains(manifests[1].Tables, t => t.Entities > 0);

        var before = await ReadAllAsync(scenario, first, second);

        await WipeAsync(storage.ConnectionString);
        using (var gone = await scenario.AsPhysician().GetAsync(ReferralScenario.Url($"/api/fhir/ServiceRequest/{first}"), Ct))
        {
            Assert.False(gone.IsSuccessStatusCode, "The wipe took the referral.");
        }

        using var output = new StringWriter();
        var exit = await RestoreCommand.RunAsync(
            [RestoreCommand.Verb, "--from", storage.ConnectionString, "--to", storage.ConnectionString], output, Ct);

        Assert.True(exit == 0, output.ToString());
        Assert.Contains("from 2 run(s)", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, await ReadAllAsync(scenario, first, second));
    }

    [Fact]
    public async Task A_restore_into_tables_that_hold_data_is_refused_and_changes_nothing()
    {
        await using var storage = new AzuriteFixture();
        await storage.InitializeAsync();
        var clock = TestClock.Fake();
        await using var scenario = new ReferralScenario(storage, identity, settings: BackupOn, time: clock);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync();
        clock.Advance(TimeSpan.FromHours(1));
        await scenario.App.Triggers.RunDueTimersAsync(Ct);
        var before = await ReadAllAsync(scenario, id);

        using var output = new StringWriter();
        var exit = await RestoreCommand.RunAsync(
            [RestoreCommand.Verb, "--from", storage.ConnectionString, "--to", storage.ConnectionString], output, Ct);

        Assert.Equal(1, exit);
        Assert.Contains("already holds entities", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, await ReadAllAsync(scenario, id));
    }

    [Fact]
    public async Task Without_any_complete_backup_the_restore_says_so_and_exits_with_an_error()
    {
        await using var storage = new AzuriteFixture();
        await storage.InitializeAsync();

        using var output = new StringWriter();
        var exit = await RestoreCommand.RunAsync(
            [RestoreCommand.Verb, "--from", storage.ConnectionString, "--to", storage.ConnectionString], output, Ct);

        Assert.Equal(1, exit);
        Assert.Contains("no complete full backup", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_property_type_of_an_entity_survives_the_backup_line()
    {
        var stamp = new DateTimeOffset(2026, 12, 3, 9, 30, 15, 123, TimeSpan.Zero);
        var entity = new TableEntity("p|1", "r/ü")
        {
            ["Text"] = "line\nbreak \"quoted\"",
            ["Int"] = 42,
            ["Long"] = 9_007_199_254_740_993L,
            ["Double"] = 0.1,
            ["Flag"] = true,
            ["At"] = stamp,
            ["Id"] = Guid.Parse("6f1c3c0e-8f5e-4a51-9d7e-2b8f7c1d2e3f"),
            ["Bytes"] = new byte[] { 0, 1, 254, 255 },
        };

        var back = Assert.Single(TableBackup.ReadEntities(TableBackup.WriteEntity(entity)));

        Assert.Equal(entity.PartitionKey, back.PartitionKey);
        Assert.Equal(entity.RowKey, back.RowKey);
        foreach (var name in new[] { "Text", "Int", "Long", "Double", "Flag", "At", "Id", "Bytes" })
        {
            Assert.Equal(entity[name], back[name]);
        }
    }

    private static async Task<List<BackupManifest>> ManifestsAsync(string connectionString)
    {
        var container = new BlobContainerClient(connectionString, TableBackup.ContainerName);
        var manifests = new List<BackupManifest>();
        await foreach (var blob in container.GetBlobsAsync(cancellationToken: Ct))
        {
            if (blob.Name.EndsWith("/manifest.json", StringComparison.Ordinal))
            {
                var content = await container.GetBlobClient(blob.Name).DownloadContentAsync(Ct);
                manifests.Add(content.Value.Content.ToObjectFromJson<BackupManifest>(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!);
            }
        }

        return [.. manifests.OrderBy(m => m.At)];
    }

    private static async Task WipeAsync(string connectionString)
    {
        var tables = new TableServiceClient(connectionString);
        await foreach (var table in tables.QueryAsync(cancellationToken: Ct))
        {
            await tables.DeleteTableAsync(table.Name, Ct);
        }
    }

    /// <summary>Each referral's ServiceRequest and Task as the physician reads them, and its therapist's inbox.</summary>
    private static async Task<List<string>> ReadAllAsync(ReferralScenario scenario, params string[] ids)
    {
        var read = new List<string>();
        using var physician = scenario.AsPhysician();
        foreach (var id in ids)
        {
            foreach (var path in new[] { $"/api/fhir/ServiceRequest/{id}", $"/api/fhir/Task/{id}", $"/api/fhir/Procedure?based-on=ServiceRequest/{id}" })
            {
                using var response = await physician.GetAsync(ReferralScenario.Url(path), Ct);
                Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
                read.Add(Normalise(await response.Content.ReadAsStringAsync(Ct)));
            }
        }

        return read;
    }

    /// <summary>A search Bundle carries its own id and time of answer, which differ on each read; the resources must not.</summary>
    private static string Normalise(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        if (node["resourceType"]?.GetValue<string>() == "Bundle")
        {
            node.Remove("id");
            node.Remove("meta");
            node.Remove("link");
        }

        return node.ToJsonString();
    }
}

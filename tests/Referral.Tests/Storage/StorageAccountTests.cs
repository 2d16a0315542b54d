using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Referral.Functions.Storage;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Storage;

public sealed class StorageAccountTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task An_entity_written_through_the_apps_storage_reads_back_through_a_separate_table_client()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new FunctionsApp(azurite.ConnectionString);
        var storage = app.Services.GetRequiredService<StorageAccount>();
        var rowKey = Guid.NewGuid().ToString("N");

        var table = await storage.TableAsync("foundationprobe");
        await table.AddEntityAsync(new TableEntity("probe", rowKey) { ["Note"] = "written by the functions app" }, ct);

        var separate = new TableClient(azurite.ConnectionString, "foundationprobe");
        var read = await separate.GetEntityAsync<TableEntity>("probe", rowKey, cancellationToken: ct);
        Assert.Equal("written by the functions app", read.Value.GetString("Note"));
    }

    [Fact]
    public async Task Asking_for_the_same_table_twice_gives_the_one_client_created_once()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString);
        var storage = app.Services.GetRequiredService<StorageAccount>();

        var first = await storage.TableAsync("foundationonce");
        var second = await storage.TableAsync("foundationonce");

        Assert.Same(first, second);
    }

    [Theory]
    [InlineData("tableServiceUri", "https://stref.table.core.windows.net", "https://stref.table.core.windows.net/")]
    [InlineData("accountName", "stref", "https://stref.table.core.windows.net/")]
    public void In_Azure_the_identity_based_setting_the_host_reads_points_the_app_at_the_account(string key, string value, string expectedTables)
    {
        var settings = new Dictionary<string, string?> { [$"{StorageAccount.SettingName}:{key}"] = value };
        if (key == "tableServiceUri")
        {
            settings[$"{StorageAccount.SettingName}:queueServiceUri"] = "https://stref.queue.core.windows.net";
        }

        var storage = new StorageAccount(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

        Assert.Equal(expectedTables, storage.TableServiceUri.ToString());
        Assert.Equal("https://stref.queue.core.windows.net/", storage.QueueServiceUri.ToString());
    }

    [Fact]
    public void The_app_refuses_to_start_without_a_storage_setting_and_names_it()
    {
        using var app = new FunctionsApp(storageConnectionString: "");

        var error = Assert.ThrowsAny<Exception>(() => app.Services);

        Assert.Contains(StorageAccount.SettingName, error.ToString(), StringComparison.Ordinal);
    }
}

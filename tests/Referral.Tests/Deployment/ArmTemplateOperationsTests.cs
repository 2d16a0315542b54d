using System.Text.Json.Nodes;

namespace Referral.Tests.Deployment;

/// <summary>
/// Issue 25: what an operator needs to keep every referral: zone-redundant storage and instances, locks against
/// deletion, and alerts that reach a person. Checked in the compiled ARM template.
/// </summary>
public sealed partial class ArmTemplateTests
{
    private const string MetricAlert = "Microsoft.Insights/metricAlerts";

    [Fact]
    public async Task Referrals_are_kept_in_zone_redundant_storage_on_zone_redundant_instances_by_default()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var main = arm.Templates[0];

        var storageSku = main.Parameters["storageSku"]!;
        Assert.Equal("Standard_ZRS", storageSku["defaultValue"]!.GetValue<string>());
        Assert.Contains("Standard_GZRS", storageSku["allowedValues"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("[parameters('storageSku')]", PassedTo(main, "storage")["skuName"]);
        Assert.Equal("[parameters('skuName')]", arm.Only(StorageAccount).Json["sku"]?["name"]?.GetValue<string>());

        Assert.True(main.Parameters["planZoneRedundant"]!["defaultValue"]!.GetValue<bool>());
        Assert.Equal("[parameters('planZoneRedundant')]", PassedTo(main, "plan")["zoneRedundant"]);
        var zoneRedundant = arm.Only("Microsoft.Web/serverfarms").Properties["zoneRedundant"]!.GetValue<string>();
        Assert.Contains("parameters('zoneRedundant')", zoneRedundant, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_storage_account_and_the_vault_are_locked_against_deletion_unless_the_operator_says_otherwise()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var main = arm.Templates[0];

        var locks = arm.OfType("Microsoft.Authorization/locks").ToList();
        Assert.Equal([Vault, StorageAccount], locks.Select(l => l.ScopeType).Order(StringComparer.Ordinal));
        Assert.All(locks, l =>
        {
            Assert.Equal("\"CanNotDelete\"", Resource.Literal(l.Properties["level"]));
            Assert.Equal("[parameters('lockAgainstDeletion')]", l.Json["condition"]?.GetValue<string>());
        });

        Assert.True(main.Parameters["lockDataResources"]!["defaultValue"]!.GetValue<bool>());
        Assert.Equal("[parameters('lockDataResources')]", PassedTo(main, "storage")["lockAgainstDeletion"]);
        Assert.Equal("[parameters('lockDataResources')]", PassedTo(main, "keyvault")["lockAgainstDeletion"]);
    }

    [Fact]
    public async Task Operators_are_emailed_about_poison_messages_server_errors_failed_health_checks_vault_trouble_and_unreachable_endpoints()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var main = arm.Templates[0];
        Assert.Equal("[parameters('alertEmail')]", PassedTo(main, "alerts")["alertEmail"]);
        Assert.Null(main.Parameters["alertEmail"]!["defaultValue"]);

        var group = arm.Only("Microsoft.Insights/actionGroups");
        var receiver = Assert.Single(group.Properties["emailReceivers"]!.AsArray());
        Assert.Equal("[parameters('alertEmail')]", receiver!["emailAddress"]!.GetValue<string>());

        // A message in any poison queue, read from the queue service's logs.
        var poison = arm.Only("Microsoft.Insights/scheduledQueryRules");
        var query = poison.Properties["criteria"]!["allOf"]![0]!["query"]!.GetValue<string>();
        Assert.Contains("StorageQueueLogs", query, StringComparison.Ordinal);
        Assert.Contains("-poison/messages", query, StringComparison.Ordinal);
        Assert.Contains("PutMessage", query, StringComparison.Ordinal);
        Assert.Contains("operators", Assert.Single(poison.Properties["actions"]!["actionGroups"]!.AsArray())!.GetValue<string>(), StringComparison.Ordinal);

        var metricAlerts = arm.OfType(MetricAlert).ToList();
        var byMetric = metricAlerts
            .SelectMany(a => (a.Properties["criteria"]!["allOf"] as JsonArray ?? []).Select(c => (Alert: a, Criterion: c!)))
            .ToList();

        // Each app: 5xx answers and failing health checks.
        foreach (var metric in new[] { "Http5xx", "HealthCheckStatus" })
        {
            var alert = Assert.Single(byMetric, m => m.Criterion["metricName"]?.GetValue<string>() == metric).Alert;
            var apps = CopiedOver(alert).Select(a => a!["key"]!.GetValue<string>());
            Assert.Equal(["functions", "smart-app"], apps.Order(StringComparer.Ordinal));
        }

        // Key Vault: failed sign operations and throttling.
        var vaultCriteria = byMetric.Where(m => m.Criterion["metricName"]?.GetValue<string>() == "ServiceApiResult").Select(m => m.Criterion.ToJsonString()).ToList();
        Assert.Contains(vaultCriteria, c => c.Contains("\"KeySign\"", StringComparison.Ordinal) && c.Contains("\"Exclude\"", StringComparison.Ordinal));
        Assert.Contains(vaultCriteria, c => c.Contains("\"429\"", StringComparison.Ordinal));

        // From outside: both JWKS documents EHRs verify our signatures with, and both health endpoints.
        var webTest = arm.Only("Microsoft.Insights/webtests");
        var urls = CopiedOver(webTest).Select(p => p!["url"]!.GetValue<string>()).ToList();
        foreach (var path in new[] { "/.well-known/jwks.json", "/health", "/api/backend/jwks.json", "/api/health" })
        {
            Assert.Contains(urls, u => u.Contains($"'{{0}}{path}'", StringComparison.Ordinal));
        }

        var availability = Assert.Single(metricAlerts, a => a.Properties["criteria"]?["odata.type"]?.GetValue<string>() == "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria");
        Assert.Equal(CopiedOver(webTest).Count, CopiedOver(availability).Count);

        // Every alert tells the one action group.
        Assert.All(metricAlerts, a => Assert.Contains("operators", a.Properties["actions"]![0]!["actionGroupId"]!.GetValue<string>(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Storage_the_vault_and_Redis_refuse_the_internet_by_default_and_the_apps_reach_them_over_private_endpoints()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var main = arm.Templates[0];

        Assert.False(main.Parameters["allowPublicNetworkAccess"]!["defaultValue"]!.GetValue<bool>());
        Assert.Equal("[if(parameters('allowPublicNetworkAccess'), 'Enabled', 'Disabled')]", main.Json["variables"]!["dataPublicNetworkAccess"]!.GetValue<string>());
        foreach (var module in new[] { "storage", "keyvault", "redis" })
        {
            Assert.Equal("[variables('dataPublicNetworkAccess')]", PassedTo(main, module)["publicNetworkAccess"]);
        }

        foreach (var type in new[] { StorageAccount, Vault, "Microsoft.Cache/redis" })
        {
            Assert.Equal("[parameters('publicNetworkAccess')]", arm.Only(type).Properties["publicNetworkAccess"]?.GetValue<string>());
        }

        Assert.Contains("'Deny'", arm.Only(StorageAccount).Properties["networkAcls"]!["defaultAction"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("'Deny'", arm.Only(Vault).Properties["networkAcls"]!["defaultAction"]!.GetValue<string>(), StringComparison.Ordinal);

        // A private endpoint for each service the apps use, its name resolved by a linked private DNS zone.
        var endpoints = CopiedOver(arm.Only("Microsoft.Network/privateEndpoints"));
        Assert.Equal(["blob", "queue", "redisCache", "table", "vault"], endpoints.Select(e => e!["groupId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal(endpoints.Count, CopiedOver(arm.Only("Microsoft.Network/privateDnsZones")).Count);
        Assert.Equal(endpoints.Count, CopiedOver(arm.Only("Microsoft.Network/privateDnsZones/virtualNetworkLinks")).Count);
        Assert.Equal(endpoints.Count, CopiedOver(arm.Only("Microsoft.Network/privateEndpoints/privateDnsZoneGroups")).Count);

        // The apps integrated into the delegated subnet, all their outbound traffic through it.
        var subnets = arm.Only("Microsoft.Network/virtualNetworks").Properties["subnets"]!.AsArray();
        var apps = Assert.Single(subnets, s => s!["name"]!.GetValue<string>() == "apps")!;
        Assert.Equal("Microsoft.Web/serverFarms", apps["properties"]!["delegations"]![0]!["properties"]!["serviceName"]!.GetValue<string>());
        foreach (var (site, module) in new[] { (FunctionsApp(arm), "functions"), (Worker(arm), "worker"), (SmartApp(arm), "smart-app") })
        {
            Assert.Equal("[parameters('subnetId')]", site.Properties["virtualNetworkSubnetId"]?.GetValue<string>());
            Assert.Equal("true", Resource.Literal(site.Properties["siteConfig"]?["vnetRouteAllEnabled"]));
            Assert.Equal("[reference('network').outputs.appsSubnetId.value]", PassedTo(main, module)["subnetId"]);
        }
    }

    [Fact]
    public async Task Table_backups_go_to_a_write_once_container_that_expires_them_after_the_retention()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);

        Assert.Equal("true", Resource.Literal(arm.Only("Microsoft.Storage/storageAccounts/blobServices").Properties["isVersioningEnabled"]));
        var container = arm.Only("Microsoft.Storage/storageAccounts/blobServices/containers");
        Assert.Contains(Functions.Backup.TableBackup.ContainerName, container.Name, StringComparison.Ordinal);
        Assert.Equal("true", Resource.Literal(container.Properties["immutableStorageWithVersioning"]?["enabled"]));
        Assert.Equal("\"None\"", Resource.Literal(container.Properties["publicAccess"]));

        var retention = arm.Only("Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies").Properties;
        Assert.Equal("[parameters('backupRetentionDays')]", retention["immutabilityPeriodSinceCreationInDays"]?.GetValue<string>());
        Assert.Equal("false", Resource.Literal(retention["allowProtectedAppendWrites"]));
        Assert.True(arm.Templates[0].Parameters["backupRetentionDays"]!["defaultValue"]!.GetValue<int>() >= 30);

        var rule = Assert.Single(arm.Only("Microsoft.Storage/storageAccounts/managementPolicies").Properties["policy"]!["rules"]!.AsArray())!;
        Assert.Equal($"{Functions.Backup.TableBackup.ContainerName}/", rule["definition"]!["filters"]!["prefixMatch"]![0]!.GetValue<string>());
    }
}

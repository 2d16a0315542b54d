using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Referral.Tests.Deployment;

/// <summary>
/// The security settings issue 9 asks of the deployment, checked in the compiled ARM template rather than trusted to
/// review: storage reachable only by Entra identities, HTTPS-only Linux apps with managed identities, each identity
/// holding only its own roles, Key Vault with RBAC and purge protection, rotating keys, diagnostics everywhere,
/// and no secret in a parameter or an output.
/// </summary>
public sealed partial class ArmTemplateTests
{
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageQueueDataMessageSender = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string KeyVaultCryptoUser = "12338af0-0e69-4776-bea7-57ae8d297424";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";

    private const string StorageAccount = "Microsoft.Storage/storageAccounts";
    private const string Vault = "Microsoft.KeyVault/vaults";
    private const string VaultKey = "Microsoft.KeyVault/vaults/keys";
    private const string Site = "Microsoft.Web/sites";
    private const string RoleAssignment = "Microsoft.Authorization/roleAssignments";

    [Fact]
    public async Task The_storage_account_accepts_only_Entra_identities_over_HTTPS_with_TLS_1_2()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var storage = arm.Only(StorageAccount).Properties;

        Assert.Equal("false", Resource.Literal(storage["allowSharedKeyAccess"]));
        Assert.Equal("true", Resource.Literal(storage["defaultToOAuthAuthentication"]));
        Assert.Equal("false", Resource.Literal(storage["allowBlobPublicAccess"]));
        Assert.Equal("\"TLS1_2\"", Resource.Literal(storage["minimumTlsVersion"]));
        Assert.Equal("true", Resource.Literal(storage["supportsHttpsTrafficOnly"]));
        Assert.Equal("true", Resource.Literal(storage["encryption"]?["requireInfrastructureEncryption"]));
    }

    [Fact]
    public async Task Deleted_blobs_and_containers_stay_restorable()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var blobs = arm.Only("Microsoft.Storage/storageAccounts/blobServices").Properties;

        Assert.Equal("true", Resource.Literal(blobs["deleteRetentionPolicy"]?["enabled"]));
        Assert.Equal("true", Resource.Literal(blobs["containerDeleteRetentionPolicy"]?["enabled"]));
    }

    [Fact]
    public async Task The_API_the_worker_and_the_smart_app_run_on_Linux_over_HTTPS_only_with_their_own_identity_and_no_FTP_or_remote_debugging()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var plan = arm.Only("Microsoft.Web/serverfarms");
        Assert.Equal("linux", plan.Kind);
        Assert.Equal("true", Resource.Literal(plan.Properties["reserved"]));

        var sites = arm.OfType(Site).ToList();
        Assert.Equal(3, sites.Count);
        foreach (var site in sites)
        {
            var config = site.Properties["siteConfig"];
            Assert.Contains("linux", site.Kind, StringComparison.Ordinal);
            Assert.Equal("true", Resource.Literal(site.Properties["reserved"]));
            Assert.Equal("\"SystemAssigned\"", Resource.Literal(site.Json["identity"]?["type"]));
            Assert.Equal("true", Resource.Literal(site.Properties["httpsOnly"]));
            Assert.Equal("\"1.2\"", Resource.Literal(config?["minTlsVersion"]));
            Assert.Equal("\"1.2\"", Resource.Literal(config?["scmMinTlsVersion"]));
            Assert.Equal("\"Disabled\"", Resource.Literal(config?["ftpsState"]));
            Assert.Equal("false", Resource.Literal(config?["remoteDebuggingEnabled"]));
        }
    }

    [Fact]
    public async Task Neither_app_accepts_FTP_or_deployment_basic_authentication()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);

        foreach (var site in arm.OfType(Site))
        {
            var policies = site.Template.Resources
                .Where(r => r.Type == "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
                .ToList();
            Assert.Equal(2, policies.Count);
            Assert.All(policies, p => Assert.Equal("false", Resource.Literal(p.Properties["allow"])));
        }
    }

    [Fact]
    public async Task The_API_is_an_App_Service_web_app_on_dotnet_10_with_identity_based_storage_and_no_Functions_settings()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var api = FunctionsApp(arm);
        var settings = AppSettings(api);

        Assert.Equal("app,linux", api.Kind);
        Assert.Equal("\"DOTNETCORE|10.0\"", Resource.Literal(api.Properties["siteConfig"]?["linuxFxVersion"]));
        Assert.DoesNotContain(settings.Keys, k => k.StartsWith("FUNCTIONS_", StringComparison.Ordinal));
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Contains("AzureWebJobsStorage__queueServiceUri", settings.Keys);
        Assert.Contains("AzureWebJobsStorage__tableServiceUri", settings.Keys);
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys);
        Assert.Equal("true", settings["Auth__RequireHttpsMetadata"]);
        Assert.Contains("Auth__Physician__Issuer", settings.Keys);
        Assert.Contains("Auth__Physician__JwksUrl", settings.Keys);
        Assert.Contains("Auth__Therapist__Authority", settings.Keys);
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", settings.Keys);
        Assert.Contains("KeyVault__Uri", settings.Keys);
        // Telling people is the worker's: the API is given no mail or link settings.
        Assert.DoesNotContain(settings.Keys, k => k.StartsWith("Notifications__", StringComparison.Ordinal) || k.StartsWith("SmartApp__", StringComparison.Ordinal));
        Assert.Equal("true", Resource.Literal(api.Properties["siteConfig"]?["alwaysOn"]));
    }

    [Fact]
    public async Task The_worker_is_a_dotnet_isolated_Functions_app_on_dotnet_10_with_identity_based_host_storage()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var worker = Worker(arm);
        var settings = AppSettings(worker);

        Assert.Equal("functionapp,linux", worker.Kind);
        Assert.Equal("\"DOTNET-ISOLATED|10.0\"", Resource.Literal(worker.Properties["siteConfig"]?["linuxFxVersion"]));
        Assert.Equal("dotnet-isolated", settings["FUNCTIONS_WORKER_RUNTIME"]);
        Assert.Equal("~4", settings["FUNCTIONS_EXTENSION_VERSION"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Contains("AzureWebJobsStorage__accountName", settings.Keys);
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys);
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", settings.Keys);
        Assert.Contains("KeyVault__Uri", settings.Keys);
        Assert.Contains("SmartApp__BaseUrl", settings.Keys);
        Assert.Equal("Smtp", settings["Notifications__Sender"]);
        Assert.Contains("Notifications__From", settings.Keys);
        Assert.Contains("Notifications__Smtp__Host", settings.Keys);
        // It serves no requests: no token settings.
        Assert.DoesNotContain(settings.Keys, k => k.StartsWith("Auth__", StringComparison.Ordinal));
        // A Dedicated plan idles an app without Always On, and then queue and timer triggers stop firing.
        Assert.Equal("true", Resource.Literal(worker.Properties["siteConfig"]?["alwaysOn"]));
    }

    [Fact]
    public async Task The_smart_app_is_told_the_functions_url_its_vault_and_the_EHR_allow_list()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var smartApp = SmartApp(arm);
        // The EHR and frame-ancestor settings are built from the parameters by the template's variables.
        var variables = smartApp.Template.Json["variables"]?.AsObject().Select(v => v.Value is JsonValue value ? value.GetValue<string>() : "");
        var settings = smartApp.Properties["siteConfig"]?["appSettings"]?.GetValue<string>() + string.Concat(variables ?? []);

        foreach (var name in new[]
        {
            "'Functions__BaseUrl'", "'Functions__Audience'", "'KeyVault__Uri'", "'APPLICATIONINSIGHTS_CONNECTION_STRING'",
            "'Ehrs__{0}__Iss'", "'Ehrs__{0}__ClientId'", "'Ehrs__{0}__OpenIdIssuer'", "'Ehrs__{0}__TimeZone'", "'App__BaseUrl'", "'ASPNETCORE_FORWARDEDHEADERS_ENABLED'",
        })
        {
            Assert.Contains(name, settings, StringComparison.Ordinal);
        }

        // Frame-ancestors come from the allow-list's origins; the app reads no separate list any more.
        Assert.DoesNotContain("FrameAncestors", settings, StringComparison.Ordinal);
        // One EHR writer: the functions write-back; the smart-app is given no write setting (a leftover one stops it).
        Assert.DoesNotContain("AcceptsWrites", settings, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("functions")]
    [InlineData("worker")]
    public async Task The_API_and_the_worker_are_told_the_EHRs_written_back_to_only_those_with_a_backend_client_id(string app)
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var functions = app == "worker" ? Worker(arm) : FunctionsApp(arm);
        var variables = string.Concat(functions.Template.Json["variables"]?.AsObject().Select(v => v.Value is JsonValue value ? value.GetValue<string>() : "") ?? []);

        foreach (var name in new[] { "'Ehrs__{0}__Iss'", "'Ehrs__{0}__ClientId'", "'Ehrs__{0}__WriteBack'", "'Ehrs__{0}__WriteServiceRequest'", "backendClientId" })
        {
            Assert.Contains(name, variables, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_API_is_told_its_CDS_Hooks_URL_the_apps_launch_and_the_EHRs_that_may_call_it_only_those_with_a_JWKS()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var api = FunctionsApp(arm);
        var variables = string.Concat(api.Template.Json["variables"]?.AsObject().Select(v => v.Value is JsonValue value ? value.GetValue<string>() : "") ?? []);

        foreach (var name in new[]
        {
            "'CdsHooks__BaseUrl'", "'CdsHooks__AppLaunchUrl'", "'CdsHooks__Clients__{0}__Issuer'", "'CdsHooks__Clients__{0}__JwksUrl'",
            "'CdsHooks__Clients__{0}__FhirServer'", "'CdsHooks__Clients__{0}__MaxTokenLifetime'", "cdsHooksJwksUrl",
        })
        {
            Assert.Contains(name, variables, StringComparison.Ordinal);
        }

        Assert.Contains("cdsSettings", api.Properties["siteConfig"]?["appSettings"]?.GetValue<string>() ?? "", StringComparison.Ordinal);
        // Only the API answers CDS Hooks calls: the worker and the smart-app are told nothing of them.
        foreach (var other in new[] { Worker(arm), SmartApp(arm) })
        {
            Assert.DoesNotContain("CdsHooks__", other.Template.Json["variables"]?.ToJsonString() ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain("CdsHooks__", other.Properties["siteConfig"]?.ToJsonString() ?? "", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_API_identity_may_send_queue_messages_use_the_tables_and_its_own_key_only()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);

        var grants = Grants(FunctionsApp(arm));

        (string, string)[] expected =
        [
            (StorageQueueDataMessageSender, StorageAccount),
            (StorageTableDataContributor, StorageAccount),
            (KeyVaultCryptoUser, VaultKey),
        ];
        Assert.Equal(expected.Order(), grants.Select(g => (g.RoleId, g.ScopeType)).Order());
    }

    [Fact]
    public async Task The_worker_identity_holds_the_host_storage_the_queue_triggers_the_tables_and_its_own_key_only()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);

        var grants = Grants(Worker(arm));

        (string, string)[] expected =
        [
            (StorageBlobDataOwner, StorageAccount),
            (StorageQueueDataContributor, StorageAccount),
            (StorageTableDataContributor, StorageAccount),
            (KeyVaultCryptoUser, VaultKey),
        ];
        Assert.Equal(expected.Order(), grants.Select(g => (g.RoleId, g.ScopeType)).Order());
    }

    [Fact]
    public async Task The_smart_app_identity_may_only_sign_with_its_own_three_keys_and_read_the_vaults_secrets()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);

        var grants = Grants(SmartApp(arm));

        Assert.Equal(4, grants.Count);
        var signing = grants.Where(g => g.RoleId == KeyVaultCryptoUser).ToList();
        Assert.Equal(3, signing.Count);
        Assert.All(signing, g => Assert.Equal(VaultKey, g.ScopeType));
        Assert.Equal(3, signing.Select(g => g.Json["scope"]!.GetValue<string>()).Distinct().Count());

        // The inbox's client secret is created by the operator after provisioning, so the grant cannot name it: it is
        // on the vault, whose only secret the template creates is the smart-app's own Redis configuration.
        var secrets = Assert.Single(grants, g => g.RoleId == KeyVaultSecretsUser);
        Assert.Equal(Vault, secrets.ScopeType);
        Assert.Equal("[resourceId('Microsoft.KeyVault/vaults', parameters('vaultName'))]", secrets.Json["scope"]!.GetValue<string>());
        var created = Assert.Single(arm.OfType("Microsoft.KeyVault/vaults/secrets"));
        Assert.Contains("variables('redisConfigurationSecretName')", created.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_smart_app_is_told_how_therapists_sign_in_to_the_inbox()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var smartApp = SmartApp(arm);
        var settings = AppSettings(smartApp);

        Assert.Equal("parameters('inboxAuthority')", settings["Inbox__Authority"]);
        Assert.Equal("parameters('inboxClientId')", settings["Inbox__ClientId"]);
        Assert.Equal("parameters('inboxScopes')", settings["Inbox__Scopes"]);
        Assert.Equal("parameters('therapistClaim')", settings["Inbox__TherapistClaim"]);
        Assert.Equal("parameters('practiceTimeZone')", settings["Inbox__TimeZone"]);
        Assert.Equal("true", settings["Inbox__RequireHttpsMetadata"]);

        // The same issuer and claim the functions app validates therapist tokens with.
        var main = arm.Templates[0];
        var passed = PassedTo(main, "smart-app");
        Assert.Equal(PassedTo(main, "functions")["therapistAuthority"], passed["inboxAuthority"]);
        Assert.Equal(PassedTo(main, "functions")["therapistClaim"], passed["therapistClaim"]);
        Assert.Equal("[parameters('inboxClientId')]", passed["inboxClientId"]);
        Assert.Equal("[parameters('practiceTimeZone')]", passed["practiceTimeZone"]);

        // By default the inbox asks for a refresh token and for the functions API's scope under its audience.
        var scopes = main.Parameters["inboxScopes"]!["defaultValue"]!.GetValue<string>();
        Assert.Contains("openid", scopes, StringComparison.Ordinal);
        Assert.Contains("offline_access", scopes, StringComparison.Ordinal);
        Assert.Contains("parameters('apiAudience')", scopes, StringComparison.Ordinal);
        Assert.Equal("UTC", main.Parameters["practiceTimeZone"]!["defaultValue"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_inbox_client_secret_is_a_Key_Vault_reference_never_a_literal_or_a_parameter()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var smartApp = SmartApp(arm);
        var settings = AppSettings(smartApp);

        var reference = KeyVaultReference().Match(settings["Inbox__ClientSecret"]);
        Assert.True(reference.Success, $"Inbox__ClientSecret is not a Key Vault reference to the app's vault: {settings["Inbox__ClientSecret"]}");
        Assert.Equal("inbox-client-secret", smartApp.Template.Json["variables"]![reference.Groups[1].Value]!.GetValue<string>());

        // App Service resolves it with the system-assigned identity, the default when no other identity is named.
        var identity = smartApp.Properties["keyVaultReferenceIdentity"];
        Assert.True(identity is null || Resource.Literal(identity) == "\"SystemAssigned\"", $"keyVaultReferenceIdentity is {Resource.Literal(identity)}");

        foreach (var template in arm.Templates)
        {
            Assert.DoesNotContain(template.Parameters, p => p.Key.Contains("secret", StringComparison.OrdinalIgnoreCase));
        }
    }

    [Theory]
    [InlineData("smart-app", new[] { "ClientRs384", "ClientEs384", "ApiSigning" })]
    [InlineData("functions", new[] { "BackendServices" })]
    [InlineData("worker", new[] { "BackendServices" })]
    public async Task Each_app_is_told_the_vault_and_the_names_of_exactly_the_vault_keys_its_identity_may_sign_with(string app, string[] uses)
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var site = app switch { "functions" => FunctionsApp(arm), "worker" => Worker(arm), _ => SmartApp(arm) };
        var settings = AppSettings(site);

        Assert.Equal("reference('vault').vaultUri", settings["KeyVault__Uri"]);
        Assert.Equal(uses.Select(u => $"KeyVault__Keys__{u}").Order(), settings.Keys.Where(k => k.StartsWith("KeyVault__Keys__", StringComparison.Ordinal)).Order());
        var named = uses.Select(u => KeyName(arm, site.Template, settings[$"KeyVault__Keys__{u}"])).ToList();
        Assert.Equal(uses.Length, named.Distinct().Count());

        // Each named key is one the vault module creates, with the type its use signs with (RS384: RSA, ES384: EC).
        var created = arm.OfType(VaultKey).SelectMany(k => CopiedOver(k).Select(n => (Name: KeyName(arm, k.Template, n!.GetValue<string>()), Kty: k.Properties["kty"]!.GetValue<string>()))).ToList();
        foreach (var (use, name) in uses.Zip(named))
        {
            var key = Assert.Single(created, c => c.Name == name);
            Assert.Contains(use is "ClientRs384" or "BackendServices" ? "'RSA'" : "'EC'", key.Kty, StringComparison.Ordinal);
        }

        // Its Key Vault Crypto User grants are on exactly those keys.
        var granted = Grants(site).Where(g => g.RoleId == KeyVaultCryptoUser)
            .Select(g => KeyScope().Match(g.Json["scope"]!.GetValue<string>()))
            .Select(m => m.Success ? KeyName(arm, site.Template, m.Groups[1].Value) : "(not a key scope)")
            .Order();
        Assert.Equal(named.Order(), granted);
    }

    [Fact]
    public async Task No_role_is_granted_wider_than_one_storage_account_or_one_key_but_reading_the_secrets_of_the_one_vault()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var assignments = arm.OfType(RoleAssignment).ToList();

        // The API 3, the worker 4, the smart-app 4.
        Assert.Equal(11, assignments.Count);
        var onVault = Assert.Single(assignments, a => a.ScopeType == Vault);
        Assert.Equal(KeyVaultSecretsUser, onVault.RoleId);
        Assert.All(assignments.Where(a => a != onVault), a => Assert.Contains(a.ScopeType, new[] { StorageAccount, VaultKey }));
        Assert.All(assignments, a => Assert.Equal("\"ServicePrincipal\"", Resource.Literal(a.Properties["principalType"])));
    }

    [Fact]
    public async Task Key_Vault_authorizes_with_RBAC_and_keeps_deleted_keys_unpurgeable()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var vault = arm.Only("Microsoft.KeyVault/vaults").Properties;

        Assert.Equal("true", Resource.Literal(vault["enableRbacAuthorization"]));
        Assert.Equal("true", Resource.Literal(vault["enableSoftDelete"]));
        Assert.Equal("true", Resource.Literal(vault["enablePurgeProtection"]));
        Assert.Equal("90", Resource.Literal(vault["softDeleteRetentionInDays"]));
    }

    [Fact]
    public async Task Every_signing_key_expires_and_is_rotated_before_it_does()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var keys = arm.OfType(VaultKey).ToList();

        // Two resources, each copied over its list of key names: RSA keys for RS384 and EC P-384 keys for ES384.
        var rsa = Assert.Single(keys, k => k.Properties["kty"]!.GetValue<string>().Contains("'RSA'", StringComparison.Ordinal));
        Assert.True(rsa.Properties["keySize"]!.GetValue<int>() >= 2048);
        var ec = Assert.Single(keys, k => k.Properties["kty"]!.GetValue<string>().Contains("'EC'", StringComparison.Ordinal));
        Assert.Equal("\"P-384\"", Resource.Literal(ec.Properties["curveName"]));
        Assert.Equal(4, keys.Sum(k => CopiedOver(k).Count));

        foreach (var key in keys)
        {
            var attributes = key.Properties["attributes"];
            Assert.Equal("false", Resource.Literal(attributes?["exportable"]));
            Assert.NotNull(attributes?["exp"]);
            Assert.Equal("[\"sign\",\"verify\"]", Resource.Literal(key.Properties["keyOps"]));

            var policy = key.Template.Resolve(key.Properties["rotationPolicy"]);
            Assert.NotNull(policy?["attributes"]?["expiryTime"]);
            var rotate = Assert.Single(policy!["lifetimeActions"]!.AsArray(), a => a!["action"]!["type"]!.GetValue<string>() == "rotate");
            Assert.NotNull(rotate!["trigger"]!["timeBeforeExpiry"]);
        }
    }

    [Fact]
    public async Task Logs_of_the_three_apps_the_vault_and_every_storage_service_go_to_Log_Analytics()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var diagnostics = arm.OfType("Microsoft.Insights/diagnosticSettings").ToList();
        Assert.All(diagnostics, d => Assert.NotNull(d.Properties["workspaceId"]));

        Assert.Equal(3, diagnostics.Count(d => d.ScopeType == Site));
        foreach (var service in new[] { StorageAccount, $"{StorageAccount}/blobServices", $"{StorageAccount}/queueServices", $"{StorageAccount}/tableServices" })
        {
            Assert.Single(diagnostics, d => d.ScopeType == service);
        }

        var vault = Assert.Single(diagnostics, d => d.ScopeType == "Microsoft.KeyVault/vaults");
        Assert.Contains(vault.Properties["logs"]!.AsArray(), l => l!["category"]?.GetValue<string>() == "AuditEvent");

        var appInsights = arm.Only("Microsoft.Insights/components");
        Assert.NotNull(appInsights.Properties["WorkspaceResourceId"]);
    }

    [Fact]
    public async Task The_web_apps_keep_no_log_of_full_request_URLs_neither_the_web_server_log_nor_its_Log_Analytics_category()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var webApps = arm.OfType(Site).Where(s => !s.Kind.Contains("functionapp", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, webApps.Count);
        Assert.All(webApps, app => Assert.Equal("false", Resource.Literal(app.Properties["siteConfig"]?["httpLoggingEnabled"])));

        var siteLogs = arm.OfType("Microsoft.Insights/diagnosticSettings")
            .Where(d => d.ScopeType == Site && webApps.Any(w => w.Template.DeploymentName == d.Template.DeploymentName))
            .ToList();
        Assert.Equal(2, siteLogs.Count);
        foreach (var setting in siteLogs)
        {
            var logs = setting.Properties["logs"]!.AsArray();
            Assert.DoesNotContain(logs, l => l!["categoryGroup"] is not null);
            Assert.DoesNotContain(logs, l => l!["category"]?.GetValue<string>() == "AppServiceHTTPLogs");
            Assert.Contains(logs, l => l!["category"]?.GetValue<string>() == "AppServiceConsoleLogs");
        }
    }

    [Fact]
    public async Task The_smart_apps_instances_share_a_TLS_only_Redis_whose_key_reaches_the_app_only_through_Key_Vault()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var redis = arm.Only("Microsoft.Cache/redis");
        Assert.Equal("false", Resource.Literal(redis.Properties["enableNonSslPort"]));
        Assert.Equal("\"1.2\"", Resource.Literal(redis.Properties["minimumTlsVersion"]));

        // The Redis module writes the cache's own key into the vault; the smart-app reads that secret by reference.
        var secret = Assert.Single(redis.Template.Resources, r => r.Type == "Microsoft.KeyVault/vaults/secrets");
        var value = secret.Properties["value"]!.GetValue<string>();
        Assert.Contains("listKeys(resourceId('Microsoft.Cache/redis'", value, StringComparison.Ordinal);
        Assert.Contains("ssl=True", value, StringComparison.Ordinal);
        var written = redis.Template.Json["variables"]!["redisConfigurationSecretName"]!.GetValue<string>();

        var smartApp = SmartApp(arm);
        var reference = KeyVaultReference().Match(AppSettings(smartApp)["Redis__Configuration"]);
        Assert.True(reference.Success, $"Redis__Configuration is not a Key Vault reference to the app's vault: {AppSettings(smartApp)["Redis__Configuration"]}");
        Assert.Equal(written, smartApp.Template.Json["variables"]![reference.Groups[1].Value]!.GetValue<string>());
    }

    [Fact]
    public async Task Two_or_more_instances_without_affinity_each_probed_at_its_health_endpoint()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);
        var capacity = arm.Templates[0].Parameters["planCapacity"]!;
        Assert.True(capacity["minValue"]!.GetValue<int>() >= 2, "planCapacity may go below two instances.");
        Assert.True(capacity["defaultValue"]!.GetValue<int>() >= 2, "planCapacity defaults to fewer than two instances.");

        Assert.Equal("\"/health\"", Resource.Literal(SmartApp(arm).Properties["siteConfig"]?["healthCheckPath"]));
        Assert.Equal("\"/api/health\"", Resource.Literal(FunctionsApp(arm).Properties["siteConfig"]?["healthCheckPath"]));
        // Any instance serves any request: the smart-app's state is in Redis, not in an instance's memory.
        Assert.Equal("false", Resource.Literal(SmartApp(arm).Properties["clientAffinityEnabled"]));
    }

    [Fact]
    public async Task No_parameter_or_output_carries_a_secret()
    {
        var arm = await ArmTemplate.LoadAsync(TestContext.Current.CancellationToken);

        foreach (var template in arm.Templates)
        {
            foreach (var (name, declaration) in template.Parameters)
            {
                var parameter = declaration!;
                var secure = template.TypeOf(parameter).StartsWith("secure", StringComparison.OrdinalIgnoreCase);
                Assert.False(secure && parameter["defaultValue"] is not null, $"{template.DeploymentName}: secure parameter '{name}' has a default value.");
                Assert.False(LooksSecret(name) && !secure, $"{template.DeploymentName}: parameter '{name}' looks like a secret but is not secure.");
            }

            foreach (var (name, output) in template.Outputs)
            {
                var value = output!["value"]?.ToJsonString() ?? "";
                Assert.False(LooksSecret(name), $"{template.DeploymentName}: output '{name}' looks like a secret.");
                Assert.False(SecretSource().IsMatch(value), $"{template.DeploymentName}: output '{name}' reads a secret: {value}");
                Assert.False(template.TypeOf(output).StartsWith("secure", StringComparison.OrdinalIgnoreCase), $"{template.DeploymentName}: output '{name}' is secure-typed.");
            }
        }
    }

    /// <summary>The FHIR API's web app (module <c>functions</c>).</summary>
    private static Resource FunctionsApp(ArmTemplate arm) =>
        Assert.Single(arm.OfType(Site), s => s.Template.DeploymentName == "functions");

    /// <summary>The background functions' Functions app (module <c>worker</c>).</summary>
    private static Resource Worker(ArmTemplate arm) =>
        Assert.Single(arm.OfType(Site), s => s.Template.DeploymentName == "worker");

    private static Resource SmartApp(ArmTemplate arm) =>
        Assert.Single(arm.OfType(Site), s => s.Template.DeploymentName == "smart-app");

    /// <summary>The parameters the main template passes to a module, as their expression text.</summary>
    private static Dictionary<string, string> PassedTo(Template main, string deploymentName)
    {
        var deployment = Assert.Single(main.Resources, r => r.Type == "Microsoft.Resources/deployments" && r.Name == deploymentName);
        return deployment.Properties["parameters"]!.AsObject().ToDictionary(
            p => p.Key,
            p => p.Value!["value"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : Resource.Literal(p.Value!["value"]),
            StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^format\('@Microsoft\.KeyVault\(VaultName=\{0\};SecretName=\{1\}\)', parameters\('vaultName'\), variables\('([^']+)'\)\)$")]
    private static partial Regex KeyVaultReference();

    /// <summary>The role assignments made to this site's system-assigned identity (they sit in its module).</summary>
    private static List<Resource> Grants(Resource site)
    {
        var grants = site.Template.Resources.Where(r => r.Type == RoleAssignment).ToList();
        Assert.All(grants, g => Assert.EndsWith(".identity.principalId]", g.Properties["principalId"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Single(site.Template.Resources, r => r.Type == Site);
        return grants;
    }

    /// <summary>The list a resource's copy loop runs over ("count": "[length(variables('list'))]").</summary>
    private static JsonArray CopiedOver(Resource resource)
    {
        var count = resource.Json["copy"]?["count"]?.GetValue<string>() ?? "";
        var list = CopyCount().Match(count);
        Assert.True(list.Success, $"{resource.Name} is not copied over a variable: {count}");
        return resource.Template.Resolve(JsonValue.Create($"[variables('{list.Groups[1].Value}')]"))!.AsArray();
    }

    /// <summary>
    /// The site's settings by name: a literal array, or (when numbered settings are appended from a variable) the
    /// <c>concat(createArray(createObject('name', ..., 'value', ...), ...), ...)</c> expression Bicep compiles it to,
    /// where a literal value is unquoted and any other value is kept as its expression text.
    /// </summary>
    private static Dictionary<string, string> AppSettings(Resource site)
    {
        var node = site.Properties["siteConfig"]!["appSettings"]!;
        if (node is JsonArray array)
        {
            return array.ToDictionary(s => s!["name"]!.GetValue<string>(), s => s!["value"]!.GetValue<string>(), StringComparer.Ordinal);
        }

        return SettingInExpression().Matches(node.GetValue<string>()).ToDictionary(
            m => m.Groups["name"].Value,
            m => m.Groups["literal"].Success ? m.Groups["literal"].Value : m.Groups["expression"].Value,
            StringComparer.Ordinal);
    }

    [GeneratedRegex(@"createObject\('name', '(?<name>[^']+)', 'value', (?:'(?<literal>[^']*)'\)|(?<expression>.+?)\)(?=, createObject|\), variables|\)\]))")]
    private static partial Regex SettingInExpression();

    /// <summary>
    /// The key name a module's expression stands for: <c>parameters('keyNames').x</c> or <c>parameters('keyName')</c>,
    /// followed through the main template's module parameter (<c>[variables('keyNames')...]</c>) to the literal name.
    /// </summary>
    private static string KeyName(ArmTemplate arm, Template module, string expression)
    {
        var parameter = ParameterReference().Match(expression.Trim('[', ']'));
        Assert.True(parameter.Success, $"{module.DeploymentName}: '{expression}' is not a parameter reference.");
        var main = arm.Templates[0];
        var deployment = Assert.Single(main.Resources, r => r.Type == "Microsoft.Resources/deployments" && r.Name == module.DeploymentName);
        var passed = deployment.Properties["parameters"]![parameter.Groups[1].Value]!["value"]!.GetValue<string>();
        var variable = VariableMember().Match(passed);
        Assert.True(variable.Success, $"{module.DeploymentName}: parameter '{parameter.Groups[1].Value}' is given '{passed}', not a variable.");
        var member = variable.Groups[2].Success ? variable.Groups[2].Value : parameter.Groups[2].Value;
        return main.Json["variables"]![variable.Groups[1].Value]![member]!.GetValue<string>();
    }

    [GeneratedRegex(@"^parameters\('([^']+)'\)(?:\.(\w+))?$")]
    private static partial Regex ParameterReference();

    [GeneratedRegex(@"^\[variables\('([^']+)'\)(?:\.(\w+))?\]$")]
    private static partial Regex VariableMember();

    [GeneratedRegex(@"^\[resourceId\('Microsoft\.KeyVault/vaults/keys', parameters\('vaultName'\), (.+)\)\]$")]
    private static partial Regex KeyScope();

    private static bool LooksSecret(string name) => SecretName().IsMatch(name);

    [GeneratedRegex(@"^\[length\(variables\('([^']+)'\)\)\]$")]
    private static partial Regex CopyCount();

    [GeneratedRegex("secret|password|passwd|connectionstring|sastoken|accountkey|accesskey|privatekey|apikey|keys?$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"list(Keys|Secrets|ConnectionStrings|AccountSas|ServiceSas)\(|ConnectionString|InstrumentationKey", RegexOptions.IgnoreCase)]
    private static partial Regex SecretSource();
}

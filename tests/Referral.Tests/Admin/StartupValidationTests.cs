using Microsoft.Extensions.DependencyInjection;
using Referral.Tests.Infrastructure;

namespace Referral.Tests.Admin;

/// <summary>
/// Issue 9: configuration is checked at start with a message naming what is missing. The signing keys load lazily
/// (at the first launch or write-back), so without these checks a deployment without keys would start and fail later.
/// </summary>
public sealed class StartupValidationTests
{
    [Fact]
    public async Task Outside_development_the_smart_app_does_not_start_without_signing_keys_and_names_the_setting()
    {
        await using var app = new ProductionHost<Referral.SmartApp.Program>(ProductionSettings.SmartApp);

        var failure = app.StartFailure();

        Assert.Contains("SigningKeys:Keys is empty", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_development_the_smart_app_does_not_start_without_the_therapists_sign_in_settings_and_names_them()
    {
        await using var app = new ProductionHost<Referral.SmartApp.Program>(ProductionSettings.Of(ProductionSettings.SmartApp, new Dictionary<string, string?>
        {
            ["Inbox:Authority"] = "http://login.example.org/tenant/v2.0",
        }));

        var failure = app.StartFailure();

        Assert.Contains("Inbox:ClientId is missing", failure, StringComparison.Ordinal);
        Assert.Contains("Inbox:ClientSecret is missing", failure, StringComparison.Ordinal);
        Assert.Contains("Inbox:Authority must be an https URL", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_leftover_AcceptsWrites_stops_the_smart_app_at_start_naming_the_setting_and_the_one_writer_instead()
    {
        await using var app = new ProductionHost<Referral.SmartApp.Program>(ProductionSettings.Of(ProductionSettings.SmartApp, new Dictionary<string, string?>
        {
            ["Ehrs:0:AcceptsWrites"] = "true",
        }));

        var failure = app.StartFailure();

        Assert.Contains("Ehrs:0:AcceptsWrites is no longer read", failure, StringComparison.Ordinal);
        Assert.Contains("Ehrs__N__WriteServiceRequest on the functions app", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_development_the_functions_app_does_not_start_without_its_backend_services_key_and_names_the_setting()
    {
        await using var app = new ProductionHost<Referral.Functions.Program>(ProductionSettings.Functions);

        var failure = app.StartFailure();

        Assert.Contains("BackendServices:Keys:0:PrivateKeyPem is missing", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_development_the_smart_app_refuses_a_vault_uri_without_its_key_names_and_names_each_missing_setting()
    {
        await using var app = new ProductionHost<Referral.SmartApp.Program>(ProductionSettings.Of(ProductionSettings.SmartApp, new Dictionary<string, string?>
        {
            ["KeyVault:Uri"] = "https://mmr-kv-abc.vault.azure.net/",
            ["KeyVault:Keys:ClientRs384"] = "smart-app-client-rs384",
        }));

        var failure = app.StartFailure();

        Assert.Contains("KeyVault:Keys:ClientEs384", failure, StringComparison.Ordinal);
        Assert.Contains("KeyVault:Keys:ApiSigning", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("KeyVault:Keys:ClientRs384", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_development_the_smart_app_refuses_a_vault_uri_that_is_not_https()
    {
        await using var app = new ProductionHost<Referral.SmartApp.Program>(ProductionSettings.Of(ProductionSettings.SmartApp, new Dictionary<string, string?>
        {
            ["KeyVault:Uri"] = "http://mmr-kv-abc.vault.azure.net/",
            ["KeyVault:Keys:ClientRs384"] = "smart-app-client-rs384",
            ["KeyVault:Keys:ClientEs384"] = "smart-app-client-es384",
            ["KeyVault:Keys:ApiSigning"] = "smart-app-api-es384",
        }));

        var failure = app.StartFailure();

        Assert.Contains("KeyVault:Uri (the vault's https URI)", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_development_the_smart_app_starts_with_Key_Vault_settings_alone_and_no_local_key()
    {
        await using var app = new ProductionHost<Referral.SmartApp.Program>(ProductionSettings.Of(ProductionSettings.SmartApp, ProductionSettings.Inbox, new Dictionary<string, string?>
        {
            ["KeyVault:Uri"] = "https://mmr-kv-abc.vault.azure.net/",
            ["KeyVault:Keys:ClientRs384"] = "smart-app-client-rs384",
            ["KeyVault:Keys:ClientEs384"] = "smart-app-client-es384",
            ["KeyVault:Keys:ApiSigning"] = "smart-app-api-es384",
        }));

        // Nothing is read from the vault at start: the keys are read when first used.
        Assert.NotNull(app.Server);
        Assert.Contains("Key Vault 'mmr-kv-abc'", app.Services.GetRequiredService<Referral.SmartApp.Security.SigningKeys>().Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_development_the_functions_app_refuses_a_vault_uri_without_its_backend_services_key_name_and_names_it()
    {
        await using var app = new ProductionHost<Referral.Functions.Program>(ProductionSettings.Of(ProductionSettings.Functions, new Dictionary<string, string?>
        {
            ["KeyVault:Uri"] = "https://mmr-kv-abc.vault.azure.net/",
        }));

        var failure = app.StartFailure();

        Assert.Contains("KeyVault:Keys:BackendServices", failure, StringComparison.Ordinal);
    }
}

using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Referral.Model.Signing;

/// <summary>
/// Both apps compile this one file (the smart-app links it): it needs Azure.Identity and the hosting abstractions,
/// which the shared Referral.Model library does not take.
/// Signing through Key Vault (<c>KeyVault:*</c>): the settings checked at start, the HTTP client with its timeout,
/// and the app's managed identity (<see cref="DefaultAzureCredential"/>; a test swaps the <see cref="TokenCredential"/>).
/// </summary>
internal static class KeyVaultSigning
{
    public const string HttpClientName = "keyvault";

    public static IServiceCollection AddKeyVaultSigning(this IServiceCollection services, IConfiguration configuration, params string[] uses)
    {
        services.AddOptions<KeyVaultOptions>()
            .Bind(configuration.GetSection(KeyVaultOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyVaultOptions>>(new Validator(uses));
        // KeyVault:Timeout bounds each call on the app's clock (KeyVaultClient); HttpClient's own timeout, on the machine's timer, is only a backstop behind it.
        services.AddHttpClient(HttpClientName, (sp, client) => client.Timeout = sp.GetRequiredService<IOptions<KeyVaultOptions>>().Value.Timeout * 2);
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
        return services;
    }

    /// <summary>The vault client, authenticated by the app's identity. Built once per app: it keeps the access token.</summary>
    public static KeyVaultClient Client(KeyVaultOptions options, IHttpClientFactory clients, TokenCredential credential, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(credential);
        var context = new TokenRequestContext([KeyVaultClient.Scope]);
        return new KeyVaultClient(
            clients.CreateClient(HttpClientName),
            new Uri(options.Uri),
            async cancellationToken =>
            {
                var token = await credential.GetTokenAsync(context, cancellationToken);
                return new VaultAccessToken(token.Token, token.ExpiresOn);
            },
            time,
            options.Timeout);
    }

    /// <summary>With <c>KeyVault:Uri</c> set, every key name this app signs with must be set too, and named when it is not.</summary>
    private sealed class Validator(string[] uses) : IValidateOptions<KeyVaultOptions>
    {
        public ValidateOptionsResult Validate(string? name, KeyVaultOptions options)
        {
            if (!options.Configured)
            {
                return ValidateOptionsResult.Success;
            }

            var missing = options.Missing(uses);
            if (missing.Count > 0)
            {
                return ValidateOptionsResult.Fail($"KeyVault:Uri is set, so the signing keys are read from Key Vault, but these settings are missing or invalid: {string.Join(", ", missing)}.");
            }

            return options.RefreshInterval > TimeSpan.Zero && options.Timeout > TimeSpan.Zero && options.PublishBeforeSigning >= TimeSpan.Zero
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail("KeyVault:RefreshInterval and KeyVault:Timeout must be positive, KeyVault:PublishBeforeSigning not negative.");
        }
    }
}

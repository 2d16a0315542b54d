using Microsoft.Extensions.Options;

namespace SandboxEhr;

/// <summary>The sandbox's settings (section <c>Sandbox</c>); every URL can be overridden, e.g. <c>Sandbox__Clients__0__LaunchUrl</c>.</summary>
public sealed class SandboxOptions
{
    public const string Section = "Sandbox";

    /// <summary>The public base URL; empty means "the URL this request came to", which suits TestServer and a loopback port alike.</summary>
    public string? BaseUrl { get; set; }

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>SMART Backend Services recommends access tokens of no more than five minutes.</summary>
    public TimeSpan BackendAccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan LaunchLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the sign-in, patient-picker and approve page of one authorization request stays usable.</summary>
    public TimeSpan InteractionLifetime { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan OnlineAccessLifetime { get; set; } = TimeSpan.FromHours(8);

    public TimeSpan OfflineAccessLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long a client's fetched JWKS is trusted before it is fetched again (an unknown kid refetches at once).</summary>
    public TimeSpan ClientKeysCacheLifetime { get; set; } = TimeSpan.FromMinutes(5);

    public IList<SandboxClientOptions> Clients { get; } = [];

    /// <summary>
    /// The base URL of the CDS Hooks services the EHR calls (discovery at <c>{CdsServices}/cds-services</c>): a chart
    /// calls <c>patient-view</c>, the order screen <c>order-select</c>. Empty: no CDS calls, no cards.
    /// </summary>
    public string? CdsServices { get; set; }

    /// <summary>How long a chart waits for the CDS services before it shows without their cards.</summary>
    public TimeSpan CdsTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>A client registered out of the box (RFC 7591 metadata names in PascalCase).</summary>
public sealed class SandboxClientOptions
{
    public string ClientId { get; set; } = "";

    public string? ClientName { get; set; }

    /// <summary>The app's EHR launch URL; the chart shows a launch button for each client that has one.</summary>
    public string? LaunchUrl { get; set; }

    /// <summary>The text of the chart's launch button; the client name when empty.</summary>
    public string? LaunchLabel { get; set; }

    public IList<string> RedirectUris { get; } = [];

    public IList<string> PostLogoutRedirectUris { get; } = [];

    public string? JwksUrl { get; set; }

    public string TokenEndpointAuthMethod { get; set; } = AuthMethods.PrivateKeyJwt;

    /// <summary>Development only: the therapist inbox's secret for client_secret_post / client_secret_basic.</summary>
    public string? ClientSecret { get; set; }

    public IList<string> GrantTypes { get; } = [];

    /// <summary>The scopes the client may be granted, space separated.</summary>
    public string Scope { get; set; } = "";

    /// <summary>Who signs in for this client: <c>physician</c> (SMART apps) or <c>therapist</c> (the inbox).</summary>
    public string UserType { get; set; } = UserTypes.Physician;

    /// <summary>The <c>aud</c> of this client's access tokens when they are meant for an API other than the FHIR server.</summary>
    public string? AccessTokenAudience { get; set; }
}

public static class AuthMethods
{
    public const string PrivateKeyJwt = "private_key_jwt";
    public const string ClientSecretBasic = "client_secret_basic";
    public const string ClientSecretPost = "client_secret_post";
    public const string None = "none";

    public static readonly IReadOnlyList<string> All = [PrivateKeyJwt, ClientSecretBasic, ClientSecretPost, None];
}

public static class GrantTypes
{
    public const string AuthorizationCode = "authorization_code";
    public const string RefreshToken = "refresh_token";
    public const string ClientCredentials = "client_credentials";

    public static readonly IReadOnlyList<string> All = [AuthorizationCode, RefreshToken, ClientCredentials];
}

public static class UserTypes
{
    public const string Physician = "physician";
    public const string Therapist = "therapist";
}

/// <summary>Refuses to start with a client that could never work, naming it.</summary>
public sealed class SandboxOptionsValidator : IValidateOptions<SandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, SandboxOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrEmpty(options.BaseUrl) && !IsAbsoluteHttp(options.BaseUrl))
        {
            failures.Add($"Sandbox:BaseUrl '{options.BaseUrl}' is not an absolute http(s) URL.");
        }

        for (var i = 0; i < options.Clients.Count; i++)
        {
            var client = options.Clients[i];
            var where = $"Sandbox:Clients:{i} ({client.ClientId})";
            if (string.IsNullOrWhiteSpace(client.ClientId))
            {
                failures.Add($"{where}: ClientId is required.");
            }

            if (!AuthMethods.All.Contains(client.TokenEndpointAuthMethod))
            {
                failures.Add($"{where}: TokenEndpointAuthMethod '{client.TokenEndpointAuthMethod}' is not one of {string.Join(", ", AuthMethods.All)}.");
            }

            if (client.TokenEndpointAuthMethod == AuthMethods.PrivateKeyJwt && !IsAbsoluteHttp(client.JwksUrl))
            {
                failures.Add($"{where}: private_key_jwt needs an absolute JwksUrl.");
            }

            if (client.TokenEndpointAuthMethod is AuthMethods.ClientSecretBasic or AuthMethods.ClientSecretPost && string.IsNullOrEmpty(client.ClientSecret))
            {
                failures.Add($"{where}: {client.TokenEndpointAuthMethod} needs a ClientSecret.");
            }

            failures.AddRange(client.GrantTypes.Where(g => !GrantTypes.All.Contains(g)).Select(g => $"{where}: unknown grant type '{g}'."));
            failures.AddRange(client.RedirectUris.Concat(client.PostLogoutRedirectUris).Append(client.LaunchUrl)
                .Where(u => u is not null && !IsAbsoluteHttp(u)).Select(u => $"{where}: '{u}' is not an absolute http(s) URL."));

            if (client.UserType is not (UserTypes.Physician or UserTypes.Therapist))
            {
                failures.Add($"{where}: UserType must be '{UserTypes.Physician}' or '{UserTypes.Therapist}'.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static bool IsAbsoluteHttp(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && string.IsNullOrEmpty(uri.Fragment);
}

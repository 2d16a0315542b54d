using Microsoft.Extensions.Options;
using Referral.Model.Fhir;

namespace Referral.SmartApp.Launch;

/// <summary>One EHR allowed to launch the app (DESIGN.md §6): only these get a redirect, a request or a frame.</summary>
public sealed class EhrOptions
{
    /// <summary>The EHR's FHIR base URL, exactly as it sends it in <c>iss</c> (a trailing slash is ignored).</summary>
    public string Iss { get; set; } = "";

    /// <summary>The client id this app was registered under at that EHR.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>The scopes to ask for, in SMART v2 form; the v1 form is derived when the EHR supports only v1. Empty: <see cref="SmartScopes.Default"/>.</summary>
    public string? Scopes { get; set; }

    /// <summary>The EHR's name, as the physician knows it (error pages).</summary>
    public string Name { get; set; } = "";

    /// <summary>The OpenID Connect issuer of its id_tokens, when its SMART configuration does not name one.</summary>
    public string? OpenIdIssuer { get; set; }

    /// <summary>
    /// The prescribing practices' IANA time zone (such as <c>America/Chicago</c>): a referral written from this EHR is
    /// valid from "today" there, and its validity dates are days there, carried on the referral.
    /// </summary>
    public string TimeZone { get; set; } = "UTC";

    public string NormalizedIss => Normalize(Iss);

    public string Origin => new Uri(NormalizedIss).GetLeftPart(UriPartial.Authority);

    public static string Normalize(string iss) => iss.Trim().TrimEnd('/');
}

/// <summary>The app's own settings that the protocol depends on.</summary>
public sealed class AppOptions
{
    public const string Section = "App";

    /// <summary>
    /// The app's public base URL: the redirect URI is <c>{BaseUrl}/callback</c>, and it is the <c>iss</c> of the tokens
    /// the app signs for the functions API. From configuration, never from a request's Host header.
    /// </summary>
    public string BaseUrl { get; set; } = "";

    public string RedirectUri => BaseUrl.TrimEnd('/') + "/callback";
}

/// <summary>The allow-list, by <c>iss</c>.</summary>
public sealed class EhrRegistry(IOptions<EhrRegistry.Settings> settings)
{
    public const string Section = "Ehrs";

    public IReadOnlyList<EhrOptions> All { get; } = [.. settings.Value.Ehrs];

    /// <summary>The allow-listed EHR for this <c>iss</c>, or null: an unknown EHR gets no request from the app.</summary>
    public EhrOptions? Find(string? iss) =>
        string.IsNullOrWhiteSpace(iss) ? null
        : All.FirstOrDefault(e => string.Equals(e.NormalizedIss, EhrOptions.Normalize(iss), StringComparison.Ordinal));

    /// <summary>The configuration binding: <c>Ehrs</c> is a list at the root.</summary>
    public sealed class Settings
    {
        public IList<EhrOptions> Ehrs { get; } = [];
    }
}

public static class EhrRegistryRegistration
{
    public static IServiceCollection AddEhrAllowList(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AppOptions>()
            .Bind(configuration.GetSection(AppOptions.Section))
            .Validate(o => IsHttpUrl(o.BaseUrl), "App:BaseUrl must be the app's absolute public URL, such as https://referral.example.org.")
            .ValidateOnStart();
        services.AddOptions<EhrRegistry.Settings>()
            .Configure(s => configuration.Bind(s))
            .Validate(s => s.Ehrs.Count > 0, "Ehrs is empty: list at least one EHR (Iss, ClientId, Name) that may launch the app.")
            .Validate(s => s.Ehrs.All(e => IsHttpUrl(e.Iss)), "Every Ehrs:N:Iss must be an absolute http(s) FHIR base URL.")
            .Validate(s => s.Ehrs.All(e => EhrTransport.IsProtected(e.Iss)), "Every Ehrs:N:Iss must be https (plain http only on loopback, for the local sandbox).")
            .Validate(s => s.Ehrs.All(e => !string.IsNullOrWhiteSpace(e.ClientId)), "Every Ehrs:N needs the ClientId the app is registered under.")
            .Validate(s => s.Ehrs.Select(e => e.NormalizedIss).Distinct(StringComparer.Ordinal).Count() == s.Ehrs.Count, "Ehrs lists the same Iss twice.")
            .Validate(s => s.Ehrs.All(e => PracticeTime.TryFindZone(e.TimeZone, out _)),
                "Every Ehrs:N:TimeZone must be an IANA time zone id (such as America/Chicago): the prescribing practice's, in which validity dates are days.")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EhrRegistry.Settings>>(new RetiredEhrSettings(configuration));
        services.AddSingleton<EhrRegistry>();
        return services;
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
}

/// <summary>
/// Settings this app no longer reads, which would mean something else than they now do if silently ignored:
/// <c>Ehrs:N:AcceptsWrites</c> made the app create the referral in the EHR beside the functions write-back, two
/// writers that make a duplicate wherever the EHR does not honour <c>If-None-Exist</c> (Epic and Oracle Health do not
/// promise it). The functions app's <c>Ehrs:N:WriteServiceRequest</c> is the one writer; a leftover value stops the start.
/// </summary>
public sealed class RetiredEhrSettings(IConfiguration configuration) : IValidateOptions<EhrRegistry.Settings>
{
    public const string AcceptsWrites = "AcceptsWrites";

    public ValidateOptionsResult Validate(string? name, EhrRegistry.Settings options)
    {
        var leftovers = configuration.GetSection(EhrRegistry.Section).GetChildren()
            .Where(ehr => !string.IsNullOrEmpty(ehr[AcceptsWrites]))
            .Select(ehr => $"{EhrRegistry.Section}:{ehr.Key}:{AcceptsWrites}")
            .ToList();
        return leftovers.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{string.Join(", ", leftovers)} is no longer read: the smart-app never writes the referral into the EHR. The functions app writes it, "
                + "once, where its Ehrs:N:WriteServiceRequest is true (one writer, so an EHR that ignores If-None-Exist never gets two copies). "
                + "Remove the setting here (app setting Ehrs__N__AcceptsWrites) and set Ehrs__N__WriteServiceRequest on the functions app instead.");
    }
}

/// <summary>
/// Codes and tokens travel only over TLS (SMART App Launch 2.2 app protection); plain http is accepted only on the
/// loopback interface, where the local sandbox EHR runs and nothing leaves the machine.
/// </summary>
public static class EhrTransport
{
    public static bool IsProtected(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));
}

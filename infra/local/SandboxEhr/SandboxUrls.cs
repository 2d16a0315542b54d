using Microsoft.Extensions.Options;

namespace SandboxEhr;

/// <summary>The sandbox's public addresses as one request sees them.</summary>
public sealed record SandboxEndpoints(string Base)
{
    /// <summary>The OpenID Connect issuer.</summary>
    public string Issuer => Base;

    /// <summary>The FHIR base URL: the <c>iss</c> of an EHR launch and the <c>aud</c> of SMART requests.</summary>
    public string Fhir => $"{Base}/fhir";

    public string SmartConfiguration => $"{Fhir}/.well-known/smart-configuration";

    public string OpenIdConfiguration => $"{Base}/.well-known/openid-configuration";

    public string Jwks => $"{Base}/.well-known/jwks.json";

    public string Authorize => $"{Base}/auth/authorize";

    public string Token => $"{Base}/auth/token";

    public string Register => $"{Base}/auth/register";

    public string EndSession => $"{Base}/auth/end-session";

    public string SmartStyle => $"{Base}/smart-style.json";

    public string FhirUser(string resourceType, string id) => $"{Fhir}/{resourceType}/{id}";
}

public sealed class SandboxUrls(IOptions<SandboxOptions> options)
{
    public SandboxEndpoints For(HttpRequest request)
    {
        var configured = options.Value.BaseUrl;
        return new SandboxEndpoints(string.IsNullOrEmpty(configured)
            ? $"{request.Scheme}://{request.Host}{request.PathBase}"
            : configured.TrimEnd('/'));
    }
}

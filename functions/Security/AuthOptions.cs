namespace Referral.Functions.Security;

/// <summary>Who may call the API: physicians through the smart-app, therapists through their identity provider.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>The <c>aud</c> every token for this API must carry.</summary>
    public string Audience { get; set; } = "";

    /// <summary>Issuer keys and discovery only over HTTPS; turned off for the loopback issuers of the local run and tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public PhysicianTokenOptions Physician { get; set; } = new();

    public TherapistTokenOptions Therapist { get; set; } = new();
}

/// <summary>Tokens the smart-app signs per call for a physician it launched, checked against the smart-app's JWKS.</summary>
public sealed class PhysicianTokenOptions
{
    /// <summary>The smart-app's base URL, which it puts in <c>iss</c>.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>Where the smart-app publishes the key of its API tokens (<c>{smart-app}/.well-known/api-jwks.json</c>), apart from its client assertion keys.</summary>
    public string JwksUrl { get; set; } = "";
}

/// <summary>Access tokens from the therapists' OpenID Connect provider (Entra ID in Azure, the sandbox EHR locally).</summary>
public sealed class TherapistTokenOptions
{
    /// <summary>The provider's issuer; its discovery document is at <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string Authority { get; set; } = "";

    /// <summary>The claim naming the therapist's PractitionerRole (<c>PractitionerRole/{id}</c> or its id).</summary>
    public string TherapistClaim { get; set; } = "fhirUser";

    /// <summary>The role (in <c>roles</c>) that makes a signed-in user an administrator, who may read the audit trail.</summary>
    public string AdminRole { get; set; } = "referral-admin";
}

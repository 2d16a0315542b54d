using Hl7.Fhir.Model;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SandboxEhr.Auth;

namespace SandboxEhr.Fhir;

/// <summary>A caller of the FHIR endpoint, from a checked access token.</summary>
public sealed record FhirCaller(IReadOnlyList<ResourceScope> Scopes, string? PatientId)
{
    /// <summary>May this caller do <paramref name="needed"/> on this record (or, with no record, on the type at all)?</summary>
    public bool May(string resourceType, FhirPermissions needed, Resource? resource)
    {
        foreach (var scope in Scopes.Where(s => s.Allows(resourceType, needed)))
        {
            if (scope.Level != ResourceScope.PatientLevel || !PatientCompartment.Contains(resourceType))
            {
                return true;
            }

            // Patient-level scopes reach only the launch's patient.
            if (PatientId is not null && (resource is null || PatientCompartment.PatientOf(resource) == PatientId))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when only patient-level scopes allow this search, so it must stay inside the patient's compartment.</summary>
    public bool SearchLimitedToPatient(string resourceType) =>
        PatientCompartment.Contains(resourceType)
        && !Scopes.Any(s => s.Allows(resourceType, FhirPermissions.Search) && s.Level != ResourceScope.PatientLevel);
}

/// <summary>Checks bearer tokens for the FHIR endpoint: the sandbox's own signature, issuer, audience = FHIR base, lifetime, not revoked.</summary>
public sealed class FhirAccess(SigningKeys keys, TimeProvider time, AuthorizationStore store)
{
    private static readonly JsonWebTokenHandler Handler = new();

    public async Task<(FhirCaller? Caller, IResult? Refusal)> AuthenticateAsync(HttpContext context, SandboxEndpoints urls)
    {
        var realm = $"Bearer realm=\"{urls.Fhir}\"";
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= "Bearer ".Length)
        {
            // RFC 6750 §3.1: no error code when the request carried no token at all.
            context.Response.Headers.WWWAuthenticate = realm;
            return (null, FhirJson.Outcome(StatusCodes.Status401Unauthorized, OperationOutcome.IssueType.Login, "A bearer access token is required."));
        }

        var result = await Handler.ValidateTokenAsync(header["Bearer ".Length..].Trim(), new TokenValidationParameters
        {
            ValidIssuer = urls.Issuer,
            ValidAudience = urls.Fhir,
            IssuerSigningKey = keys.ValidationKey,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ValidTypes = ["at+jwt"],
            LifetimeValidator = TokenLifetime.ValidatorAt(time, TimeSpan.Zero),
        });
        var token = result.SecurityToken as JsonWebToken;
        if (!result.IsValid || token is null || store.IsRevoked(token.Id))
        {
            context.Response.Headers.WWWAuthenticate = $"{realm}, error=\"invalid_token\", error_description=\"The access token is invalid, expired or revoked.\"";
            return (null, FhirJson.Outcome(StatusCodes.Status401Unauthorized, OperationOutcome.IssueType.Login, "The access token is invalid, expired or revoked."));
        }

        var scopes = Scopes.ResourceScopes(Scopes.Split(token.TryGetPayloadValue<string>("scope", out var scope) ? scope : ""));
        string? patient = token.TryGetPayloadValue<string>("patient", out var p) ? p : null;
        return (new FhirCaller(scopes, patient), null);
    }

    public static IResult Forbidden(HttpContext context, SandboxEndpoints urls, string diagnostics)
    {
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{urls.Fhir}\", error=\"insufficient_scope\"";
        return FhirJson.Outcome(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden, diagnostics);
    }
}

using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace Referral.Functions.Security;

public enum CallerKind
{
    Physician,
    Therapist,
    Admin,

    /// <summary>The app itself, doing queued work (EHR write-back): never a caller of the API.</summary>
    System,

    /// <summary>An EHR calling the CDS Hooks service (its JWT names the EHR, not a user).</summary>
    Ehr,
}

/// <summary>The verified identity behind a request, as the authorization rules need it.</summary>
public sealed record Caller
{
    public const string RoleClaim = "referral_role";
    public const string PhysicianRole = "physician";
    public const string TherapistRole = "therapist";
    public const string AdminRole = "admin";

    public const string FhirUserClaim = "fhirUser";
    public const string EhrClaim = "ehr";
    public const string PatientClaim = "patient";

    public required CallerKind Kind { get; init; }

    /// <summary>A physician's <c>Practitioner/{id}</c> (from fhirUser); a therapist's PractitionerRole id; an admin's subject.</summary>
    public required string Id { get; init; }

    /// <summary>The physician's EHR (its FHIR base, the launch's <c>iss</c>); null for therapists.</summary>
    public string? Ehr { get; init; }

    /// <summary>The patient of the physician's launch, as <c>Patient/{id}</c>; null when none.</summary>
    public string? Patient { get; init; }

    /// <summary>The identity as an audit record names it (the absolute fhirUser where there is one).</summary>
    public required string Display { get; init; }

    /// <summary>The app acting on its own, as audit records name it.</summary>
    public static Caller System { get; } = new() { Kind = CallerKind.System, Id = "system", Display = "Medical-massage referral functions (backend services)" };

    /// <summary>
    /// The caller as a handler's parameter (minimal APIs bind a type with this method from the request): the endpoints
    /// require an authenticated user, so there is always one.
    /// </summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ValueTask.FromResult<Caller?>(From(context.User, context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value));
    }

    public static Caller From(ClaimsPrincipal user, AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(options);
        if (user.IsInRole(PhysicianRole))
        {
            var fhirUser = user.FindFirstValue(FhirUserClaim)!;
            var patient = user.FindFirstValue(PatientClaim);
            return new Caller
            {
                Kind = CallerKind.Physician,
                Id = FhirReference.Key(fhirUser),
                Ehr = user.FindFirstValue(EhrClaim)!.TrimEnd('/'),
                Patient = string.IsNullOrEmpty(patient) ? null : FhirReference.Key(patient.Contains('/', StringComparison.Ordinal) ? patient : $"Patient/{patient}"),
                Display = fhirUser,
            };
        }

        if (user.IsInRole(TherapistRole))
        {
            var therapist = user.FindFirstValue(options.Therapist.TherapistClaim)!;
            return new Caller
            {
                Kind = CallerKind.Therapist,
                Id = FhirReference.IdOf(therapist),
                Display = FhirReference.Key(therapist.Contains('/', StringComparison.Ordinal) ? therapist : $"PractitionerRole/{therapist}"),
            };
        }

        var subject = user.FindFirstValue("sub") ?? "unknown";
        return new Caller { Kind = CallerKind.Admin, Id = subject, Display = subject };
    }
}

/// <summary>FHIR references compared as <c>Type/id</c>, whether written relative or absolute.</summary>
public static class FhirReference
{
    public static string Key(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var parts = reference.TrimEnd('/').Split('/');
        var history = Array.IndexOf(parts, "_history");
        if (history > 0)
        {
            parts = parts[..history];
        }

        return parts.Length >= 2 ? $"{parts[^2]}/{parts[^1]}" : reference;
    }

    public static string IdOf(string reference) => Key(reference).Split('/')[^1];
}

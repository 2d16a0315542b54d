using System.Text.RegularExpressions;

namespace Referral.SmartApp.Launch;

/// <summary>
/// The scopes the app asks for and the reading of what was granted (SMART App Launch 2.2 scopes). The app asks for
/// what the form needs and no more: the patient's record read-only and the user's own resource; <c>online_access</c>
/// for a refresh token while the physician works. It never writes to the EHR: the referral's copy there is the
/// functions write-back's (SMART Backend Services, <c>system/ServiceRequest.c</c>), so no <c>ServiceRequest.c</c> here.
/// </summary>
public static partial class SmartScopes
{
    /// <summary>The reads of the launch (v2): Patient, problem list, coverage (and its payer), medications, the visit (its reason), the user (fhirUser).</summary>
    public const string Default =
        "openid fhirUser online_access patient/Patient.rs patient/Condition.rs patient/Coverage.rs patient/MedicationRequest.rs patient/Encounter.r user/Practitioner.rs user/PractitionerRole.rs user/Organization.r";

    /// <summary>The scopes of one authorization request, v2 or (for a v1-only server) the same access in v1 form.</summary>
    public static string ForRequest(EhrOptions ehr, bool standalone, bool v2)
    {
        ArgumentNullException.ThrowIfNull(ehr);
        var scopes = Split(string.IsNullOrWhiteSpace(ehr.Scopes) ? Default : ehr.Scopes).ToList();
        // EHR launch: "launch" binds the request to the EHR's context; standalone: ask the EHR for a patient.
        scopes.RemoveAll(s => s is "launch" or "launch/patient");
        scopes.Insert(0, standalone ? "launch/patient" : "launch");
        return string.Join(' ', (v2 ? scopes : scopes.Select(ToV1)).Distinct(StringComparer.Ordinal));
    }

    public static IEnumerable<string> Split(string? scope) =>
        (scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static bool IsResourceScope(string scope) => ResourceScope().IsMatch(scope);

    public static bool IsV1(string scope) => ResourceScope().Match(scope) is { Success: true } m && m.Groups["perm"].Value is "read" or "write" or "*";

    /// <summary>v2 to v1: <c>.rs</c> is <c>.read</c>; any of c, u, d is <c>.write</c>; both is <c>.*</c>.</summary>
    public static string ToV1(string scope)
    {
        var match = ResourceScope().Match(scope);
        if (!match.Success || IsV1(scope))
        {
            return scope;
        }

        var perm = match.Groups["perm"].Value;
        var reads = perm.Contains('r', StringComparison.Ordinal) || perm.Contains('s', StringComparison.Ordinal);
        var writes = perm.IndexOfAny(['c', 'u', 'd']) >= 0;
        var v1 = reads && writes ? "*" : writes ? "write" : "read";
        return $"{match.Groups["level"].Value}/{match.Groups["type"].Value}.{v1}";
    }

    /// <summary>
    /// Whether the granted scope string allows an interaction on a resource type: the server may grant less than was
    /// asked (RFC 6749 §3.3), so the app reads what came back rather than assume. v2 letters and v1 words both count.
    /// </summary>
    public static bool Allows(string? granted, string resourceType, char permission)
    {
        foreach (var scope in Split(granted))
        {
            var match = ResourceScope().Match(scope);
            if (!match.Success || match.Groups["level"].Value == "system")
            {
                continue;
            }

            var type = match.Groups["type"].Value;
            if (type != "*" && type != resourceType)
            {
                continue;
            }

            var perm = match.Groups["perm"].Value;
            var allowed = perm switch
            {
                "*" => true,
                "read" => permission is 'r' or 's',
                "write" => permission is 'c' or 'u' or 'd',
                _ => perm.Contains(permission, StringComparison.Ordinal),
            };
            if (allowed)
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"^(?<level>patient|user|system)/(?<type>[A-Za-z]+|\*)\.(?<perm>read|write|\*|c?r?u?d?s?)(\?.*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ResourceScope();
}

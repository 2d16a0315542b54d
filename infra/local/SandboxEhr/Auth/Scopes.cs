using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace SandboxEhr.Auth;

[Flags]
public enum FhirPermissions
{
    None = 0,
    Create = 1,
    Read = 2,
    Update = 4,
    Delete = 8,
    Search = 16,
}

/// <summary>
/// A SMART resource scope, v2 (<c>patient/Condition.rs</c>) or v1 (<c>patient/Condition.read</c>).
/// Scopes with a search-parameter suffix (<c>?category=...</c>) are not supported, so they never parse and are never granted.
/// </summary>
public sealed partial record ResourceScope(string Level, string ResourceType, FhirPermissions Permissions, bool IsV1 = false)
{
    public const string PatientLevel = "patient";
    public const string UserLevel = "user";
    public const string SystemLevel = "system";

    public static bool TryParse(string scope, [NotNullWhen(true)] out ResourceScope? result)
    {
        result = null;
        var match = Pattern().Match(scope);
        if (!match.Success)
        {
            return false;
        }

        var type = match.Groups["type"].Value;
        if (type != "*" && !ModelInfo.IsKnownResource(type))
        {
            return false;
        }

        var perm = match.Groups["perm"].Value;
        var permissions = perm switch
        {
            "read" => FhirPermissions.Read | FhirPermissions.Search,
            "write" => FhirPermissions.Create | FhirPermissions.Update | FhirPermissions.Delete,
            "*" => FhirPermissions.Create | FhirPermissions.Read | FhirPermissions.Update | FhirPermissions.Delete | FhirPermissions.Search,
            var letters => V2Permissions(letters),
        };
        if (permissions == FhirPermissions.None)
        {
            return false;
        }

        result = new ResourceScope(match.Groups["level"].Value, type, permissions, IsV1: perm is "read" or "write" or "*");
        return true;
    }

    /// <summary>Whether this scope reaches the records <paramref name="other"/> is about (same level, same type or a wildcard).</summary>
    public bool Reaches(ResourceScope other) => Level == other.Level && (ResourceType == "*" || ResourceType == other.ResourceType);

    /// <summary>The v2 form (<c>patient/ServiceRequest.crs</c>) of this scope with only the given permissions.</summary>
    public string ToV2String(FhirPermissions permissions) =>
        $"{Level}/{ResourceType}.{string.Concat("cruds".Where((_, i) => permissions.HasFlag((FhirPermissions)(1 << i))))}";

    public bool Allows(string resourceType, FhirPermissions needed) =>
        (ResourceType == "*" || ResourceType == resourceType) && (Permissions & needed) == needed;

    /// <summary>v2 letters must appear in the order c, r, u, d, s, each at most once.</summary>
    private static FhirPermissions V2Permissions(string letters)
    {
        var result = FhirPermissions.None;
        var position = 0;
        foreach (var letter in letters)
        {
            var index = "cruds".IndexOf(letter, position);
            if (index < 0)
            {
                return FhirPermissions.None;
            }

            result |= (FhirPermissions)(1 << index);
            position = index + 1;
        }

        return result;
    }

    [GeneratedRegex(@"^(?<level>patient|user|system)/(?<type>[A-Za-z]+|\*)\.(?<perm>read|write|\*|[cruds]{1,5})$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>Scope strings with a meaning of their own (OpenID Connect, SMART launch context and refresh tokens).</summary>
public static class Scopes
{
    public const string OpenId = "openid";
    public const string FhirUser = "fhirUser";
    public const string Profile = "profile";
    public const string Launch = "launch";
    public const string LaunchPatient = "launch/patient";
    public const string LaunchEncounter = "launch/encounter";
    public const string OnlineAccess = "online_access";
    public const string OfflineAccess = "offline_access";

    public static IReadOnlyList<string> Split(string? scope) =>
        string.IsNullOrWhiteSpace(scope) ? [] : scope.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();

    public static string Join(IEnumerable<string> scopes) => string.Join(' ', scopes);

    public static bool LooksLikeResourceScope(string scope) =>
        scope.StartsWith("patient/", StringComparison.Ordinal) || scope.StartsWith("user/", StringComparison.Ordinal) || scope.StartsWith("system/", StringComparison.Ordinal);

    /// <summary>
    /// What the client may have of what it asked for. RFC 6749 §3.3 lets the server grant less than was asked
    /// (and say so in the response's <c>scope</c>); SMART clients read the granted scope. So a scope the client is
    /// not registered for is dropped, a v2 resource scope is narrowed to the permissions the client's registered
    /// scopes give it together (<c>patient/ServiceRequest.cruds</c> becomes <c>patient/ServiceRequest.crs</c>), and
    /// the request fails with invalid_scope only when nothing is left.
    /// </summary>
    public static IReadOnlyList<string> Grantable(IEnumerable<string> requested, IReadOnlyList<string> allowed)
    {
        var allowedResourceScopes = ResourceScopes(allowed);
        var granted = new List<string>();
        foreach (var scope in requested)
        {
            string? grant;
            if (!LooksLikeResourceScope(scope))
            {
                grant = allowed.Contains(scope, StringComparer.Ordinal) ? scope : null;
            }
            else if (!ResourceScope.TryParse(scope, out var parsed))
            {
                grant = null;
            }
            else
            {
                var reachable = allowedResourceScopes.Where(a => a.Reaches(parsed)).Aggregate(FhirPermissions.None, (all, a) => all | a.Permissions);
                var permitted = parsed.Permissions & reachable;
                grant = permitted == parsed.Permissions ? scope
                    : permitted != FhirPermissions.None && !parsed.IsV1 ? parsed.ToV2String(permitted)
                    : null;
            }

            if (grant is not null && !granted.Contains(grant, StringComparer.Ordinal))
            {
                granted.Add(grant);
            }
        }

        return granted;
    }

    public static IReadOnlyList<ResourceScope> ResourceScopes(IEnumerable<string> scopes) =>
        scopes.Select(s => ResourceScope.TryParse(s, out var parsed) ? parsed : null).OfType<ResourceScope>().ToList();
}

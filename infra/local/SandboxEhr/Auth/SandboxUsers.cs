using Hl7.Fhir.Model;
using SandboxEhr.Data;
using SandboxEhr.Fhir;

namespace SandboxEhr.Auth;

/// <summary>
/// The people who can sign in, taken from the chart: physicians (their Practitioner is their fhirUser) and
/// therapists (their PractitionerRole is, since the inbox routes by role).
/// </summary>
public sealed class SandboxUsers(FhirStore store)
{
    private const string MassageTherapist = "1172950003";

    public IReadOnlyList<SandboxUser> Physicians => [.. Roles(c => c.Code == "doctor").Select(r => User(r, "Practitioner", r.Practitioner ?? new ResourceReference()))];

    public IReadOnlyList<SandboxUser> Therapists => [.. Roles(c => c.Code == MassageTherapist).Select(r => User(r, "PractitionerRole", new ResourceReference($"PractitionerRole/{r.Id}")))];

    public IReadOnlyList<SandboxUser> For(string userType) => userType == UserTypes.Therapist ? Therapists : Physicians;

    public SandboxUser? Find(string userType, string? id) => For(userType).FirstOrDefault(u => u.Id == id);

    private IEnumerable<PractitionerRole> Roles(Func<Coding, bool> code) =>
        store.All<PractitionerRole>().Where(r => r.Active != false && r.Code.SelectMany(c => c.Coding).Any(code)).OrderBy(r => r.Id, StringComparer.Ordinal);

    private SandboxUser User(PractitionerRole role, string resourceType, ResourceReference reference)
    {
        var practitioner = store.Read<Practitioner>(PatientCompartment.IdIn(role.Practitioner?.Reference, "Practitioner") ?? "");
        var name = practitioner?.Name.FirstOrDefault();
        var given = name?.Given.FirstOrDefault();
        var display = string.Join(' ', new[] { name?.Prefix.FirstOrDefault(), given, name?.Family }.Where(p => !string.IsNullOrEmpty(p)));
        if (name?.Suffix.FirstOrDefault() is { } suffix)
        {
            display += $", {suffix}";
        }

        var description = string.Join("; ", role.Specialty.Select(s => s.Coding.FirstOrDefault()?.Display ?? s.Text).Where(s => !string.IsNullOrEmpty(s)));
        var appRoles = role.Code.SelectMany(c => c.Coding).Where(c => c.System == CodeSystems.SandboxAppRole).Select(c => c.Code).OfType<string>().Where(c => c.Length > 0).ToList();
        return new SandboxUser(resourceType, PatientCompartment.IdIn(reference.Reference, resourceType)!, display, given, name?.Family, description, appRoles);
    }
}

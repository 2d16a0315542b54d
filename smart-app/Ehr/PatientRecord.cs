using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Ehr;

/// <summary>What the app read of the launched patient's record, once, at launch: kept with the session, not re-read per page.</summary>
public sealed class PatientRecord
{
    public required Patient Patient { get; init; }

    /// <summary>Active problem-list Conditions.</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];

    public IReadOnlyList<Coverage> Coverages { get; init; } = [];

    /// <summary>The payer Organizations of the auto and workers' compensation coverages (their phone and the claim's adjuster), where the EHR let the app read them.</summary>
    public IReadOnlyList<Organization> Payors { get; init; } = [];

    /// <summary>Active MedicationRequests; empty when the EHR did not grant them (<see cref="MedicationsRead"/> false).</summary>
    public IReadOnlyList<MedicationRequest> Medications { get; init; } = [];

    public bool MedicationsRead { get; init; }

    /// <summary>The launch's encounter (the visit), when the EHR gave one and shared it: its reason names the diagnoses the referral is for.</summary>
    public Encounter? Encounter { get; init; }

    /// <summary>False when the EHR refused or failed the problem-list search: <see cref="Conditions"/> is then not the problem list.</summary>
    public bool ConditionsRead { get; init; } = true;

    /// <summary>False when the EHR refused or failed the Coverage search.</summary>
    public bool CoveragesRead { get; init; } = true;

    /// <summary>The physician's own resource (Practitioner or PractitionerRole), read from fhirUser.</summary>
    public Resource? User { get; init; }

    /// <summary>The EHR's style as CSS, when it sent a smart_style_url that could be read.</summary>
    public string? StyleCss { get; init; }

    public string PatientName => Names.Of(Patient.Name) ?? "Patient";

    public string? UserName => User switch
    {
        Practitioner p => Names.Of(p.Name),
        PractitionerRole r => r.Practitioner?.Display,
        _ => null,
    };

    public static string Key(string contextId) => "record:" + contextId;

    /// <summary>The Organization a coverage's payor references, when the app read it.</summary>
    public Organization? PayorOf(Coverage coverage)
    {
        ArgumentNullException.ThrowIfNull(coverage);
        var reference = coverage.Payor.FirstOrDefault()?.Reference;
        return ResourceRef.TypeOf(reference) != "Organization" ? null
            : Payors.FirstOrDefault(o => o.Id is not null && reference!.Split('/', StringSplitOptions.RemoveEmptyEntries) is var parts
                && parts.Length >= 2 && parts[^2] == "Organization" && parts[^1] == o.Id);
    }

    /// <summary>The session form: the resources in a collection Bundle (Firely's JSON), and the style.</summary>
    public Stored ToStored()
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Collection };
        IEnumerable<Resource> all = [Patient, .. Conditions, .. Coverages, .. Medications, .. Payors];
        if (Encounter is not null)
        {
            all = all.Append(Encounter);
        }

        if (User is not null)
        {
            all = all.Append(User);
        }

        bundle.Entry.AddRange(all.Select(r => new Bundle.EntryComponent { Resource = r }));
        return new Stored(FhirJson.Serialize(bundle), MedicationsRead, User is not null, StyleCss, ConditionsRead, CoveragesRead);
    }

    public static PatientRecord FromStored(Stored stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (!FhirJson.TryParse<Bundle>(stored.BundleJson, out var bundle, out _))
        {
            throw new InvalidOperationException("The stored patient record could not be read back.");
        }

        var resources = bundle!.Entry.Select(e => e.Resource).ToList();
        return new PatientRecord
        {
            Patient = resources.OfType<Patient>().First(),
            Conditions = [.. resources.OfType<Condition>()],
            Coverages = [.. resources.OfType<Coverage>()],
            Payors = [.. resources.OfType<Organization>()],
            Medications = [.. resources.OfType<MedicationRequest>()],
            Encounter = resources.OfType<Encounter>().FirstOrDefault(),
            MedicationsRead = stored.MedicationsRead,
            User = stored.HasUser ? resources.LastOrDefault(r => r is Practitioner or PractitionerRole) : null,
            StyleCss = stored.StyleCss,
            ConditionsRead = stored.ConditionsRead,
            CoveragesRead = stored.CoveragesRead,
        };
    }

    public sealed record Stored(string BundleJson, bool MedicationsRead, bool HasUser, string? StyleCss, bool ConditionsRead = true, bool CoveragesRead = true);
}

/// <summary>
/// Reads the launched patient's record in one round of parallel requests (DESIGN.md: launch to form in about four
/// EHR round trips): Patient, active problem list, Coverage, the user from fhirUser, active MedicationRequests where
/// granted, the launch's encounter where granted (its reason), and the EHR's style. A read the granted scopes do not allow is not attempted.
/// </summary>
public sealed class PatientRecordReader(EhrClient ehr, EhrStyle style, AppSession session)
{
    public async Task<PatientRecord> ReadAsync(LaunchContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var patientId = context.PatientId;
        var byPatient = new Dictionary<string, string?> { ["patient"] = patientId };
        var granted = context.GrantedScope;

        var patient = ehr.ReadAsync<Patient>(context, "Patient/" + Uri.EscapeDataString(patientId), cancellationToken);
        var conditions = SmartScopes.Allows(granted, "Condition", 's')
            ? ehr.SearchAsync<Condition>(context, "Condition", new Dictionary<string, string?>(byPatient)
            {
                ["clinical-status"] = "active",
                ["category"] = "problem-list-item",
            }, cancellationToken)
            : Task.FromResult(new EhrSearch<Condition>([], Read: true));
        var coverages = SmartScopes.Allows(granted, "Coverage", 's')
            ? ehr.SearchAsync<Coverage>(context, "Coverage", new Dictionary<string, string?>(byPatient) { ["status"] = "active" }, cancellationToken)
            : Task.FromResult(new EhrSearch<Coverage>([], Read: true));
        var readMedications = SmartScopes.Allows(granted, "MedicationRequest", 's');
        var medications = readMedications
            ? ehr.SearchAsync<MedicationRequest>(context, "MedicationRequest", new Dictionary<string, string?>(byPatient) { ["status"] = "active" }, cancellationToken)
            : Task.FromResult(new EhrSearch<MedicationRequest>([], Read: true));
        var userType = ResourceRef.TypeOf(context.FhirUser);
        var user = userType is not null && SmartScopes.Allows(granted, userType, 'r')
            ? ehr.ReadAsync<Resource>(context, context.FhirUser, cancellationToken)
            : Task.FromResult<Resource?>(null);
        var encounter = context.EncounterId is { Length: > 0 } encounterId && SmartScopes.Allows(granted, "Encounter", 'r')
            ? ehr.ReadAsync<Encounter>(context, "Encounter/" + Uri.EscapeDataString(encounterId), cancellationToken)
            : Task.FromResult<Encounter?>(null);
        var css = context.SmartStyleUrl is { } url ? style.CssAsync(url, cancellationToken) : Task.FromResult<string?>(null);
        var payors = PayorsAsync(context, coverages, cancellationToken);

        await Task.WhenAll(patient, conditions, coverages, medications, user, encounter, css, payors);
        return new PatientRecord
        {
            Patient = await patient ?? throw new EhrRequestException("The EHR did not return the launched patient."),
            Conditions = (await conditions).Resources,
            ConditionsRead = (await conditions).Read,
            Coverages = (await coverages).Resources,
            Payors = await payors,
            CoveragesRead = (await coverages).Read,
            Medications = (await medications).Resources,
            // Not granted or refused: either way the form says to check medications by hand.
            MedicationsRead = readMedications && (await medications).Read,
            // Only the launched patient's visit: a reason on another patient's encounter names nothing here.
            Encounter = await encounter is { } visit && visit.Subject?.Reference is { } subject && subject.EndsWith("Patient/" + patientId, StringComparison.Ordinal) ? visit : null,
            User = await user is { } u and (Practitioner or PractitionerRole) ? u : null,
            StyleCss = await css,
        };
    }

    /// <summary>
    /// The payers of the auto and workers' compensation coverages (the referral carries their phone and the claim's
    /// adjuster), read as soon as the coverages are in; none when the grant does not allow Organization reads or the EHR
    /// refuses them (the referral then says the EHR gave none).
    /// </summary>
    private async Task<IReadOnlyList<Organization>> PayorsAsync(LaunchContext context, Task<EhrSearch<Coverage>> coverages, CancellationToken cancellationToken)
    {
        if (!SmartScopes.Allows(context.GrantedScope, "Organization", 'r'))
        {
            return [];
        }

        var references = (await coverages).Resources
            .Where(c => CoverageTypes.Codes.TryFind(c.Type, out var type) && CoverageTypes.NeedsClaimNumber(type))
            .Select(c => c.Payor.FirstOrDefault()?.Reference)
            .Where(r => ResourceRef.TypeOf(r) == "Organization")
            .Distinct(StringComparer.Ordinal)
            .ToList();
        try
        {
            var read = await Task.WhenAll(references.Select(r => ehr.ReadAsync<Organization>(context, r!, cancellationToken)));
            return [.. read.OfType<Organization>()];
        }
        catch (EhrRequestException e) when (!e.SessionEnded)
        {
            // A payer on another server (its token is not sent there), slow or failing: the referral goes without its contact.
            return [];
        }
    }

    public Task SaveAsync(string sessionId, string contextId, PatientRecord record, CancellationToken cancellationToken) =>
        session.SetAsync(sessionId, PatientRecord.Key(contextId), record.ToStored(), AppSession.IdleTimeout, cancellationToken, sliding: true);

    public async Task<PatientRecord?> LoadAsync(string sessionId, string contextId, CancellationToken cancellationToken) =>
        await session.GetAsync<PatientRecord.Stored>(sessionId, PatientRecord.Key(contextId), cancellationToken) is { } stored
            ? PatientRecord.FromStored(stored)
            : null;
}

public static class Names
{
    public static string? Of(IEnumerable<HumanName> names)
    {
        var name = names.FirstOrDefault(n => n.Use == HumanName.NameUse.Official) ?? names.FirstOrDefault();
        if (name is null)
        {
            return null;
        }

        return !string.IsNullOrWhiteSpace(name.Text)
            ? name.Text
            : string.Join(' ', name.Prefix.Concat(name.Given).Append(name.Family).Concat(name.Suffix).Where(p => !string.IsNullOrWhiteSpace(p)));
    }
}

using Hl7.Fhir.Model;
using Referral.Model.Terminology;

namespace Referral.Model.Referrals;

/// <summary>A phone, fax or email as the EHR holds it: system, value and use (home, work, mobile), nothing else.</summary>
public sealed record Telecom(ContactPoint.ContactPointSystem System, string Value, ContactPoint.ContactPointUse? Use = null)
{
    public ContactPoint ToContactPoint() => new(System, Use, Value);
}

/// <summary>How the therapist reaches the patient: phone, home address, date of birth (FHIR date, maybe partial), preferred language.</summary>
public sealed record PatientContact
{
    public string? BirthDate { get; init; }

    public IReadOnlyList<Telecom> Phones { get; init; } = [];

    public Address? Address { get; init; }

    /// <summary>The preferred language, a BCP-47 code (urn:ietf:bcp:47) with the EHR's display where it gave one.</summary>
    public Coding? Language { get; init; }

    public bool IsEmpty => BirthDate is null && Phones.Count == 0 && Address is null && Language is null;
}

/// <summary>How the therapist reaches the prescribing physician: NPI, phone and fax.</summary>
public sealed record PrescriberContact
{
    public string? Npi { get; init; }

    public IReadOnlyList<Telecom> Telecoms { get; init; } = [];

    public bool IsEmpty => Npi is null && Telecoms.Count == 0;
}

/// <summary>Who to call at the payer of an auto or workers' compensation claim: its phone (and fax, email) and the claim's adjuster.</summary>
public sealed record PayorContact
{
    public IReadOnlyList<Telecom> Telecoms { get; init; } = [];

    public string? AdjusterName { get; init; }

    public IReadOnlyList<Telecom> AdjusterTelecoms { get; init; } = [];

    public bool IsEmpty => Telecoms.Count == 0 && AdjusterName is null && AdjusterTelecoms.Count == 0;
}

/// <summary>
/// The contact details a referral carries (issue 23, minimum necessary): taken from the EHR's own resources, copied into
/// the referral as contained resources holding only these fields, and read back from it.
/// <list type="bullet">
/// <item><c>contained Patient #patient</c> (birthDate, telecom phones, one address, one communication marked preferred),
/// referenced from <c>supportingInfo</c>; <c>subject</c> stays the EHR's Patient;</item>
/// <item><c>contained Practitioner #requester</c> (identifier: the NPI only; telecom: phone and fax), referenced from
/// <c>supportingInfo</c>; <c>requester</c> stays the launch's fhirUser;</item>
/// <item><c>contained Organization #payor</c> (name, telecom, one contact: the adjuster), referenced by the contained
/// Coverage's <c>payor</c>, only for auto and workers' compensation.</item>
/// </list>
/// </summary>
public static class ReferralContacts
{
    public const string NpiSystem = Canonicals.Npi;

    public const string PatientId = "patient";
    public const string RequesterId = "requester";
    public const string PayorId = "payor";

    public const string AdjusterPurpose = "Claims adjuster";

    /// <summary>The patient's phones, home address, date of birth and preferred language, as the EHR's Patient holds them; null when it holds none.</summary>
    public static PatientContact? FromPatient(Patient? patient)
    {
        if (patient is null)
        {
            return null;
        }

        var current = patient.Telecom.Where(t => t.Use != ContactPoint.ContactPointUse.Old && t.Period?.End is null).ToList();
        var address = patient.Address.Where(a => a.Use != Address.AddressUse.Old && a.Type != Address.AddressType.Postal)
            .OrderBy(a => a.Use == Address.AddressUse.Home ? 0 : 1).FirstOrDefault();
        var language = patient.Communication.FirstOrDefault(c => c.Preferred == true) ?? (patient.Communication.Count == 1 ? patient.Communication[0] : null);
        var contact = new PatientContact
        {
            BirthDate = string.IsNullOrWhiteSpace(patient.BirthDate) ? null : patient.BirthDate,
            Phones = Telecoms(current, ContactPoint.ContactPointSystem.Phone),
            Address = address is null ? null : CopyAddress(address),
            Language = language?.Language?.Coding.FirstOrDefault(c => c.System == Languages.System && ContactRules.IsLanguageCode(c.Code)) is { } coding
                ? new Coding(Languages.System, coding.Code, coding.Display)
                : null,
        };
        return contact.IsEmpty ? null : contact;
    }

    /// <summary>
    /// The physician's NPI (from their Practitioner) and phone and fax (their role's first: the practice's lines, then
    /// their own), as the EHR holds them; null when it holds none.
    /// </summary>
    public static PrescriberContact? FromPrescriber(Practitioner? practitioner, PractitionerRole? role)
    {
        var telecoms = (role?.Telecom ?? []).Concat(practitioner?.Telecom ?? [])
            .Where(t => t.Use != ContactPoint.ContactPointUse.Old && t.Period?.End is null).ToList();
        var contact = new PrescriberContact
        {
            // On the Practitioner (US Core); a fhirUser that is a PractitionerRole may carry it on the role.
            Npi = ContactRules.NpiOf((practitioner?.Identifier ?? []).Concat(role?.Identifier ?? [])),
            Telecoms = [.. Telecoms(telecoms, ContactPoint.ContactPointSystem.Phone).Take(1), .. Telecoms(telecoms, ContactPoint.ContactPointSystem.Fax).Take(1)],
        };
        return contact.IsEmpty ? null : contact;
    }

    /// <summary>The payer's phone, fax and email and its claims adjuster (the contact whose purpose names one), as the EHR's Organization holds them.</summary>
    public static PayorContact? FromPayor(Organization? payor)
    {
        if (payor is null)
        {
            return null;
        }

        var adjuster = payor.Contact.FirstOrDefault(c => IsAdjuster(c.Purpose));
        var contact = new PayorContact
        {
            Telecoms = PayorTelecoms(payor.Telecom),
            AdjusterName = adjuster?.Name is { } name ? NameOf(name) : null,
            AdjusterTelecoms = adjuster is null ? [] : PayorTelecoms(adjuster.Telecom),
        };
        return contact.IsEmpty ? null : contact;
    }

    /// <summary>Whether an Organization contact's purpose names a claims adjuster (by text, display or code).</summary>
    public static bool IsAdjuster(CodeableConcept? purpose) =>
        purpose is not null && new[] { purpose.Text }.Concat(purpose.Coding.SelectMany(c => new[] { c.Display, c.Code }))
            .Any(t => t?.Contains("adjuster", StringComparison.OrdinalIgnoreCase) == true);

    public static Patient ToPatient(PatientContact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var patient = new Patient
        {
            Id = PatientId,
            BirthDate = contact.BirthDate,
            Telecom = [.. contact.Phones.Select(p => p.ToContactPoint())],
        };
        if (contact.Address is not null)
        {
            patient.Address.Add((Address)contact.Address.DeepCopy());
        }

        if (contact.Language is not null)
        {
            patient.Communication.Add(new Patient.CommunicationComponent
            {
                Language = new CodeableConcept { Coding = [(Coding)contact.Language.DeepCopy()] },
                Preferred = true,
            });
        }

        return patient;
    }

    public static Practitioner ToPractitioner(PrescriberContact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var practitioner = new Practitioner { Id = RequesterId, Telecom = [.. contact.Telecoms.Select(t => t.ToContactPoint())] };
        if (contact.Npi is not null)
        {
            practitioner.Identifier.Add(new Identifier(NpiSystem, contact.Npi));
        }

        return practitioner;
    }

    public static Organization ToOrganization(PayorContact contact, string payorName)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var organization = new Organization { Id = PayorId, Name = payorName, Telecom = [.. contact.Telecoms.Select(t => t.ToContactPoint())] };
        if (contact.AdjusterName is not null || contact.AdjusterTelecoms.Count > 0)
        {
            organization.Contact.Add(new Organization.ContactComponent
            {
                Purpose = new CodeableConcept { Text = AdjusterPurpose },
                Name = contact.AdjusterName is null ? null : new HumanName { Text = contact.AdjusterName },
                Telecom = [.. contact.AdjusterTelecoms.Select(t => t.ToContactPoint())],
            });
        }

        return organization;
    }

    /// <summary>The contained Patient the referral carries (its supportingInfo points to it), or null.</summary>
    public static Patient? PatientOf(ServiceRequest request) => Contained<Patient>(request, PatientId);

    public static Practitioner? RequesterOf(ServiceRequest request) => Contained<Practitioner>(request, RequesterId);

    public static Organization? PayorOf(ServiceRequest request) => Contained<Organization>(request, PayorId);

    /// <summary>The contact details a stored referral carries, read back (the same minimum the builder wrote).</summary>
    public static (PatientContact? Patient, PrescriberContact? Prescriber, PayorContact? Payor) Of(ServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var prescriber = RequesterOf(request);
        return (FromPatient(PatientOf(request)), FromPrescriber(prescriber, null), FromPayor(PayorOf(request)));
    }

    private static T? Contained<T>(ServiceRequest request, string id)
        where T : Resource
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Contained.OfType<T>().FirstOrDefault(r => r.Id == id);
    }

    /// <summary>
    /// The contact points of one system whose values the API's rules take (<see cref="ContactRules"/>): a number the EHR
    /// holds in a shape no one can dial is left out rather than stopping the referral.
    /// </summary>
    private static List<Telecom> Telecoms(IEnumerable<ContactPoint> points, ContactPoint.ContactPointSystem system) =>
        [.. points.Where(t => t.System == system && (system == ContactPoint.ContactPointSystem.Email ? ContactRules.IsEmail(t.Value) : ContactRules.IsPhoneNumber(t.Value)))
            .Select(t => new Telecom(system, t.Value!.Trim(), t.Use))];

    private static List<Telecom> PayorTelecoms(IEnumerable<ContactPoint> points)
    {
        var list = points.Where(t => t.Use != ContactPoint.ContactPointUse.Old && t.Period?.End is null).ToList();
        return
        [
            .. Telecoms(list, ContactPoint.ContactPointSystem.Phone).Take(1),
            .. Telecoms(list, ContactPoint.ContactPointSystem.Fax).Take(1),
            .. Telecoms(list, ContactPoint.ContactPointSystem.Email).Take(1),
        ];
    }

    /// <summary>The postal parts of an address only: no period, no extensions (an EHR's geolocation stays in the EHR).</summary>
    private static Address CopyAddress(Address address) => new()
    {
        Use = address.Use,
        Line = [.. address.Line.Where(l => !string.IsNullOrWhiteSpace(l))],
        City = address.City,
        District = address.District,
        State = address.State,
        PostalCode = address.PostalCode,
        Country = address.Country,
    };

    private static string? NameOf(HumanName name) =>
        !string.IsNullOrWhiteSpace(name.Text) ? name.Text
        : string.Join(' ', name.Prefix.Concat(name.Given).Append(name.Family).Concat(name.Suffix).Where(p => !string.IsNullOrWhiteSpace(p))) is { Length: > 0 } joined ? joined : null;
}

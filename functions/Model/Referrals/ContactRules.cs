using System.Globalization;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Terminology;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Referral.Model.Referrals;

/// <summary>
/// The rules of the contact details a referral carries (<see cref="ReferralContacts"/>): each contained contact
/// resource holds only its few fields (minimum necessary), its ContactPoints keep FHIR's cpt-2 and are a phone, fax or
/// email that can be dialled or written to, the NPI is ten digits with its check digit, the date of birth is a date not
/// in the future, the language a BCP-47 code.
/// </summary>
public static partial class ContactRules
{
    private static readonly HashSet<string> PatientElements = ["id", "birthDate", "telecom", "address", "communication"];
    private static readonly HashSet<string> PractitionerElements = ["id", "identifier", "telecom"];
    private static readonly HashSet<string> OrganizationElements = ["id", "name", "telecom", "contact"];
    private static readonly HashSet<string> AdjusterElements = ["purpose", "name", "telecom"];

    private static readonly ContactPoint.ContactPointSystem[] PhoneOnly = [ContactPoint.ContactPointSystem.Phone];
    private static readonly ContactPoint.ContactPointSystem[] PhoneOrFax = [ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointSystem.Fax];
    private static readonly ContactPoint.ContactPointSystem[] PhoneFaxOrEmail =
        [ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointSystem.Fax, ContactPoint.ContactPointSystem.Email];

    /// <summary>7 to 15 digits (E.164's most), written with the usual separators, an optional leading + and an extension.</summary>
    [GeneratedRegex(@"^\+?[0-9 ().\-/]+((x|ext\.?)\s?[0-9]{1,6})?$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex PhoneShape();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$", RegexOptions.CultureInvariant)]
    private static partial Regex EmailShape();

    /// <summary>BCP-47: a 2-3 letter language with optional subtags ("es", "es-MX", "zh-Hant").</summary>
    [GeneratedRegex(@"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", RegexOptions.CultureInvariant)]
    private static partial Regex LanguageShape();

    /// <summary>A phone or fax number: the number part has 7 to 15 digits.</summary>
    public static bool IsPhoneNumber(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || !PhoneShape().IsMatch(value))
        {
            return false;
        }

        var extension = value.IndexOfAny(['x', 'X', 'e', 'E']);
        var number = extension < 0 ? value : value[..extension];
        var digits = number.Count(char.IsAsciiDigit);
        return digits is >= 7 and <= 15;
    }

    public static bool IsLanguageCode(string? value) => value is not null && LanguageShape().IsMatch(value);

    public static bool IsEmail(string? value) => !string.IsNullOrWhiteSpace(value) && value.Length <= 254 && EmailShape().IsMatch(value);

    /// <summary>
    /// An NPI: ten digits whose last is the Luhn check digit of the first nine prefixed with 80840 (the NPI's issuer
    /// prefix), as CMS specifies it.
    /// </summary>
    public static bool IsNpi(string? value)
    {
        if (value is not { Length: 10 } || !value.All(char.IsAsciiDigit))
        {
            return false;
        }

        var payload = "80840" + value[..9];
        var sum = 0;
        for (var i = 0; i < payload.Length; i++)
        {
            // From the right, the digit next to the (missing) check digit is doubled, then every other one.
            var digit = payload[payload.Length - 1 - i] - '0';
            if (i % 2 == 0)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
        }

        return (10 - (sum % 10)) % 10 == value[9] - '0';
    }

    /// <summary>
    /// The NPI among <paramref name="identifiers"/> (system <see cref="Canonicals.Npi"/>) that passes the check digit;
    /// null when there is none, or only ones that fail it (a mistyped NPI is not shown as if it were one).
    /// </summary>
    public static string? NpiOf(IEnumerable<Identifier>? identifiers) =>
        identifiers?.FirstOrDefault(i => i.System == Canonicals.Npi && IsNpi(i.Value))?.Value;

    /// <summary>The first day a FHIR date ("1981", "1981-04", "1981-04-12") can mean; false when it is not a calendar date.</summary>
    public static bool TryEarliestDay(string? value, out DateOnly day)
    {
        day = default;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var full = value.Length switch
        {
            4 => value + "-01-01",
            7 => value + "-01",
            10 => value,
            _ => null,
        };
        return full is not null && DateOnly.TryParseExact(full, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }

    public static void CheckPatient(Patient patient, string path, DateTimeOffset now, List<OperationOutcome.IssueComponent> issues)
    {
        ArgumentNullException.ThrowIfNull(patient);
        ArgumentNullException.ThrowIfNull(issues);
        OnlyElements(patient, PatientElements, path, "The patient's contact details are the phone, address, date of birth and preferred language only", issues);
        CheckTelecoms(patient.Telecom, path + ".telecom", PhoneOnly, "the patient's phone", issues);
        if (patient.Address.Count > 1)
        {
            issues.Add(Outcomes.Error(ValidationRules.ContactNotMinimal, IssueType.BusinessRule, path + ".address[1]",
                "The referral carries one address of the patient (their home)."));
        }

        if (patient.Communication.Count > 1)
        {
            issues.Add(Outcomes.Error(ValidationRules.ContactNotMinimal, IssueType.BusinessRule, path + ".communication[1]",
                "The referral carries the patient's one preferred language."));
        }

        for (var i = 0; i < patient.Communication.Count; i++)
        {
            var languagePath = $"{path}.communication[{i}].language";
            var coding = patient.Communication[i].Language?.Coding.FirstOrDefault(c => c.System == Languages.System);
            if (coding?.Code is not { } code || !LanguageShape().IsMatch(code))
            {
                issues.Add(Outcomes.Error(ValidationRules.LanguageInvalid, IssueType.CodeInvalid, languagePath,
                    $"The preferred language is a BCP-47 code (system {Languages.System}), such as 'es' or 'es-MX'."));
            }
        }

        if (patient.BirthDate is { } birthDate)
        {
            // "Today" somewhere on Earth: a birth date today in any time zone is not in the future.
            var latestToday = DateOnly.FromDateTime(now.UtcDateTime.AddHours(14));
            if (!TryEarliestDay(birthDate, out var born))
            {
                issues.Add(Outcomes.Error(ValidationRules.BirthDateInvalid, IssueType.Value, path + ".birthDate",
                    $"'{birthDate}' is not a calendar date."));
            }
            else if (born > latestToday)
            {
                issues.Add(Outcomes.Error(ValidationRules.BirthDateInvalid, IssueType.Value, path + ".birthDate",
                    $"The date of birth {birthDate} is in the future (this server's clock reads {FhirTime.DateTime(now)})."));
            }
        }
    }

    public static void CheckPrescriber(Practitioner practitioner, string path, List<OperationOutcome.IssueComponent> issues)
    {
        ArgumentNullException.ThrowIfNull(practitioner);
        ArgumentNullException.ThrowIfNull(issues);
        OnlyElements(practitioner, PractitionerElements, path, "The prescriber's contact details are the NPI, phone and fax only", issues);
        for (var i = 0; i < practitioner.Identifier.Count; i++)
        {
            var identifier = practitioner.Identifier[i];
            var identifierPath = $"{path}.identifier[{i}]";
            if (identifier.System != ReferralContacts.NpiSystem || i > 0)
            {
                issues.Add(Outcomes.Error(ValidationRules.ContactNotMinimal, IssueType.BusinessRule, identifierPath,
                    $"The prescriber's one identifier on the referral is the NPI (system {ReferralContacts.NpiSystem})."));
            }
            else if (!IsNpi(identifier.Value))
            {
                issues.Add(Outcomes.Error(ValidationRules.NpiInvalid, IssueType.Value, identifierPath + ".value",
                    $"'{identifier.Value}' is not an NPI: ten digits, the last the check digit of the first nine."));
            }
        }

        CheckTelecoms(practitioner.Telecom, path + ".telecom", PhoneOrFax, "the prescriber's phone or fax", issues);
    }

    public static void CheckPayor(Organization payor, string path, List<OperationOutcome.IssueComponent> issues)
    {
        ArgumentNullException.ThrowIfNull(payor);
        ArgumentNullException.ThrowIfNull(issues);
        OnlyElements(payor, OrganizationElements, path, "The payer's contact details are its name, phone, fax, email and the claim's adjuster only", issues);
        CheckTelecoms(payor.Telecom, path + ".telecom", PhoneFaxOrEmail, "the payer's phone, fax or email", issues);
        if (payor.Contact.Count > 1)
        {
            issues.Add(Outcomes.Error(ValidationRules.ContactNotMinimal, IssueType.BusinessRule, path + ".contact[1]",
                "The referral carries one contact at the payer: the claim's adjuster."));
        }

        for (var i = 0; i < payor.Contact.Count; i++)
        {
            var contactPath = $"{path}.contact[{i}]";
            OnlyElements(payor.Contact[i], AdjusterElements, contactPath, "The adjuster's contact is a name, phone, fax and email only", issues);
            CheckTelecoms(payor.Contact[i].Telecom, contactPath + ".telecom", PhoneFaxOrEmail, "the adjuster's phone, fax or email", issues);
        }
    }

    private static void CheckTelecoms(
        List<ContactPoint> points, string path, ContactPoint.ContactPointSystem[] allowed, string what, List<OperationOutcome.IssueComponent> issues)
    {
        for (var i = 0; i < points.Count; i++)
        {
            var point = points[i];
            var pointPath = $"{path}[{i}]";
            if (point.System is null)
            {
                // cpt-2 is ContactPoint's own invariant: the contact point is named, as FHIR's validators name it.
                issues.Add(Outcomes.Error(ValidationRules.ContactPointInvalid, IssueType.Invariant, pointPath,
                    "cpt-2: a contact point with a value names its system (phone, fax, email)."));
                continue;
            }

            if (!allowed.Contains(point.System.Value))
            {
                issues.Add(Outcomes.Error(ValidationRules.ContactNotMinimal, IssueType.BusinessRule, pointPath + ".system",
                    $"The referral carries {what} only, not a contact point of system '{point.System.Value.ToString().ToLowerInvariant()}'."));
                continue;
            }

            var valid = point.System == ContactPoint.ContactPointSystem.Email ? IsEmail(point.Value) : IsPhoneNumber(point.Value);
            if (!valid)
            {
                issues.Add(Outcomes.Error(ValidationRules.ContactPointInvalid, IssueType.Value, pointPath + ".value",
                    point.System == ContactPoint.ContactPointSystem.Email
                        ? $"'{point.Value}' is not an email address."
                        : $"'{point.Value}' is not a {point.System.Value.ToString().ToLowerInvariant()} number: 7 to 15 digits, optionally with +, spaces, dashes, dots, brackets and an extension."));
            }
        }
    }

    private static void OnlyElements(Base element, HashSet<string> allowed, string path, string rule, List<OperationOutcome.IssueComponent> issues)
    {
        foreach (var (name, _) in element.EnumerateElements())
        {
            if (!allowed.Contains(name))
            {
                issues.Add(Outcomes.Error(ValidationRules.ContactNotMinimal, IssueType.BusinessRule, $"{path}.{name}",
                    $"{rule} (minimum necessary): '{name}' is not carried."));
            }
        }
    }
}

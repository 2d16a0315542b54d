using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Model;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.SmartApp.Inbox;

/// <summary>
/// What the therapist needs to reach people, read from the referral (<see cref="ReferralContacts"/>): the patient's phone,
/// address, date of birth and preferred language; the physician's phone, fax and NPI; for auto and workers'
/// compensation the payer's phone, the adjuster and the claim number. What the EHR did not give is said so, not left blank.
/// </summary>
public sealed record ContactsView
{
    public const string NotGiven = "Not given by the EHR";

    public PatientContact Patient { get; init; } = new();

    public PrescriberContact Prescriber { get; init; } = new();

    public PayorContact Payor { get; init; } = new();

    /// <summary>Auto or workers' compensation: the payer pays against a claim, and its contacts are shown.</summary>
    public bool ClaimCoverage { get; init; }

    public string? PayorName { get; init; }

    public string? ClaimNumber { get; init; }

    /// <summary>The day the page is read in the practice's zone, for the patient's age.</summary>
    public required DateOnly Today { get; init; }

    public static ContactsView Of(ServiceRequest request, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (patient, prescriber, payor) = ReferralContacts.Of(request);
        var coverage = request.Contained.OfType<Coverage>().FirstOrDefault();
        return new ContactsView
        {
            Patient = patient ?? new PatientContact(),
            Prescriber = prescriber ?? new PrescriberContact(),
            Payor = payor ?? new PayorContact(),
            Today = today,
            ClaimCoverage = coverage is not null && CoverageTypes.Codes.TryFind(coverage.Type, out var type) && CoverageTypes.NeedsClaimNumber(type),
            PayorName = coverage?.Payor.FirstOrDefault()?.Display,
            ClaimNumber = coverage?.Identifier.FirstOrDefault(i => i.System == Canonicals.ClaimNumberSystem)?.Value,
        };
    }

    public IEnumerable<Telecom> PrescriberPhones => Prescriber.Telecoms.Where(t => t.System == ContactPoint.ContactPointSystem.Phone);

    public IEnumerable<Telecom> PrescriberFaxes => Prescriber.Telecoms.Where(t => t.System == ContactPoint.ContactPointSystem.Fax);

    /// <summary>The preferred language by its English name ("Spanish"), from the code, else the EHR's display, else the code.</summary>
    public static string LanguageName(Coding language)
    {
        ArgumentNullException.ThrowIfNull(language);
        return Languages.NameOf(new CodeableConcept { Coding = [language] });
    }

    /// <summary>The address as its lines: street lines, then "City, State PostalCode", then the country.</summary>
    public static IReadOnlyList<string> AddressLines(Address address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var place = string.Join(' ', new[] { string.Join(", ", new[] { address.City, address.State }.Where(p => !string.IsNullOrWhiteSpace(p))), address.PostalCode }
            .Where(p => !string.IsNullOrWhiteSpace(p)));
        return [.. address.Line.Append(address.District).Append(place).Append(address.Country).Where(l => !string.IsNullOrWhiteSpace(l))!];
    }

    /// <summary>A dialable <c>tel:</c> URI (RFC 3966, which also carries fax numbers): the digits, a leading + and an extension.</summary>
    public static string TelHref(string number)
    {
        ArgumentNullException.ThrowIfNull(number);
        var cut = number.IndexOfAny(['x', 'X', 'e', 'E']);
        var main = cut < 0 ? number : number[..cut];
        var extension = cut < 0 ? "" : new string([.. number[cut..].Where(char.IsAsciiDigit)]);
        var digits = new string([.. main.Where(c => char.IsAsciiDigit(c) || c == '+')]);
        return "tel:" + digits + (extension.Length > 0 ? ";ext=" + extension : "");
    }

    public static string UseOf(Telecom telecom)
    {
        ArgumentNullException.ThrowIfNull(telecom);
        return telecom.Use switch
        {
            ContactPoint.ContactPointUse.Home => "home",
            ContactPoint.ContactPointUse.Work => "work",
            ContactPoint.ContactPointUse.Mobile => "mobile",
            ContactPoint.ContactPointUse.Temp => "temporary",
            _ => "",
        };
    }

    /// <summary>"1981-04-12 (45 years)" on <see cref="Today"/>; a partial date as given.</summary>
    public string BirthDate(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var today = Today;
        if (value.Length != 10 || !ContactRules.TryEarliestDay(value, out var born))
        {
            return value;
        }

        var age = today.Year - born.Year - (today < born.AddYears(today.Year - born.Year) ? 1 : 0);
        return string.Create(CultureInfo.InvariantCulture, $"{value} ({age} {(age == 1 ? "year" : "years")})");
    }
}

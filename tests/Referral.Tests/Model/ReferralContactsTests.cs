using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using R = Referral.Model.Fhir.ValidationRules;

namespace Referral.Tests.Model;

/// <summary>
/// The contact details a referral carries (issue 23): copied from the EHR's resources with nothing more than the
/// therapist needs, built into contained resources, read back, and checked by the validator by FHIR's rules.
/// </summary>
public sealed class ReferralContactsTests
{
    private const string PayorPath = "ServiceRequest.contained[1]";
    private const string PatientPath = "ServiceRequest.contained[2]";
    private const string RequesterPath = "ServiceRequest.contained[3]";

    private static readonly PatientContact Patient = new()
    {
        BirthDate = "1981-04-12",
        Phones = [new Telecom(ContactPoint.ContactPointSystem.Phone, "503-555-0161", ContactPoint.ContactPointUse.Mobile)],
        Address = new Address { Use = Address.AddressUse.Home, Line = ["2415 NE Alberta St"], City = "Portland", State = "OR", PostalCode = "97211", Country = "US" },
        Language = new Coding(Languages.System, "es", "Spanish"),
    };

    private static readonly PrescriberContact Prescriber = new()
    {
        Npi = "1234567893",
        Telecoms = [new Telecom(ContactPoint.ContactPointSystem.Phone, "503-555-0110"), new Telecom(ContactPoint.ContactPointSystem.Fax, "503-555-0111")],
    };

    private static readonly PayorContact Payor = new()
    {
        Telecoms = [new Telecom(ContactPoint.ContactPointSystem.Phone, "800-555-0140")],
        AdjusterName = "Priya Natarajan",
        AdjusterTelecoms = [new Telecom(ContactPoint.ContactPointSystem.Phone, "503-555-0141"), new Telecom(ContactPoint.ContactPointSystem.Email, "priya@comp.example")],
    };

    private static ReferralDraft Draft(CoverageType coverage = CoverageType.WorkersCompensation)
    {
        var draft = ModelFixtures.Draft();
        return draft with
        {
            PatientContact = Patient,
            PrescriberContact = Prescriber,
            Coverage = draft.Coverage! with { Type = coverage, PayorContact = Payor },
        };
    }

    private static ServiceRequest Referral() => new ReferralBuilder(ModelFixtures.Time).Build(Draft());

    [Fact]
    public void A_referral_with_contact_details_serializes_parses_back_strictly_and_validates_with_no_issues()
    {
        var built = Referral();

        var result = ModelFixtures.Validator().Validate(FhirJson.Serialize(built), ModelFixtures.TrainingOf);

        Assert.True(result.Parsed, FhirJson.Serialize(result.Outcome));
        Assert.Empty(result.Outcome.Problems());
        Assert.Empty(InputRules.Check(built));
        Assert.True(PocoEqualityComparisons.IsExactly(built, result.Request!));
    }

    [Fact]
    public void The_contacts_are_contained_resources_referenced_where_they_belong_and_the_subject_and_requester_stay_the_ehrs()
    {
        var request = Referral();

        Assert.Equal(["coverage", "payor", "patient", "requester"], request.Contained.Select(c => c.Id));
        Assert.Equal(["DiagnosticReport/emg1", "#patient", "#requester"], request.SupportingInfo.Select(s => s.Reference));
        Assert.Equal("#payor", ((Coverage)request.Contained[0]).Payor.Single().Reference);
        Assert.Equal("State Fund", ((Coverage)request.Contained[0]).Payor.Single().Display);
        Assert.Equal("Patient/p1", request.Subject.Reference);
        Assert.Equal("Practitioner/dr1", request.Requester?.Reference);
        var patient = Assert.IsType<Patient>(request.Contained[2]);
        Assert.Equal("1981-04-12", patient.BirthDate);
        Assert.True(Assert.Single(patient.Communication).Preferred);
        var practitioner = Assert.IsType<Practitioner>(request.Contained[3]);
        Assert.Equal((ReferralContacts.NpiSystem, "1234567893"), (practitioner.Identifier.Single().System, practitioner.Identifier.Single().Value));
        var payor = Assert.IsType<Organization>(request.Contained[1]);
        Assert.Equal(ReferralContacts.AdjusterPurpose, payor.Contact.Single().Purpose?.Text);
    }

    [Fact]
    public void What_is_built_reads_back_the_same()
    {
        var (patient, prescriber, payor) = ReferralContacts.Of(Referral());

        Assert.Equal(Patient.BirthDate, patient!.BirthDate);
        Assert.Equal(Patient.Phones, patient.Phones);
        Assert.True(PocoEqualityComparisons.IsExactly(Patient.Address!, patient.Address!));
        Assert.Equal(("es", "Spanish"), (patient.Language!.Code, patient.Language.Display));
        Assert.Equal(Prescriber.Npi, prescriber!.Npi);
        Assert.Equal(Prescriber.Telecoms, prescriber.Telecoms);
        Assert.Equal(Payor.AdjusterName, payor!.AdjusterName);
        Assert.Equal(Payor.AdjusterTelecoms, payor.AdjusterTelecoms);
        Assert.Equal(Payor.Telecoms, payor.Telecoms);
    }

    [Fact]
    public void A_health_plan_carries_no_payer_contact_and_a_referral_without_contacts_contains_only_its_coverage()
    {
        var healthPlan = new ReferralBuilder(ModelFixtures.Time).Build(Draft(CoverageType.HealthPlan));
        var bare = ModelFixtures.Referral();

        Assert.DoesNotContain(healthPlan.Contained, c => c is Organization);
        Assert.Null(((Coverage)healthPlan.Contained[0]).Payor.Single().Reference);
        Assert.Equal(["coverage"], bare.Contained.Select(c => c.Id));
        var (patient, prescriber, payor) = ReferralContacts.Of(bare);
        Assert.Null(patient);
        Assert.Null(prescriber);
        Assert.Null(payor);
    }

    [Fact]
    public void From_the_ehrs_patient_only_the_phones_the_home_address_the_birth_date_and_the_preferred_language_are_taken()
    {
        var home = new Address { Use = Address.AddressUse.Home, Line = ["1 Main St"], City = "Portland", State = "OR", PostalCode = "97201" };
        home.Extension.Add(new Extension("http://hl7.org/fhir/StructureDefinition/geolocation", new FhirDecimal(45.5m)));
        var ehrPatient = new Patient
        {
            Id = "dana",
            Identifier = [new Identifier("urn:mrn", "MRN-1"), new Identifier("http://hl7.org/fhir/sid/us-ssn", "123-45-6789")],
            Name = [new HumanName { Text = "Dana Whitfield" }],
            BirthDate = "1981-04-12",
            Telecom =
            [
                new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Home, "dana@example.org"),
                new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Old, "503-555-0100"),
                new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Mobile, "503-555-0161"),
                new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Home, "CALL-ME-NOW"),
            ],
            Address = [new Address { Use = Address.AddressUse.Work, Line = ["9 Work Rd"], City = "Salem" }, home],
            Communication =
            [
                new Patient.CommunicationComponent { Language = new CodeableConcept(Languages.System, "en") },
                new Patient.CommunicationComponent { Language = new CodeableConcept(Languages.System, "es"), Preferred = true },
            ],
            Gender = AdministrativeGender.Female,
        };

        var contact = ReferralContacts.FromPatient(ehrPatient)!;
        var contained = ReferralContacts.ToPatient(contact);

        Assert.Equal([new Telecom(ContactPoint.ContactPointSystem.Phone, "503-555-0161", ContactPoint.ContactPointUse.Mobile)], contact.Phones);
        Assert.Equal(["1 Main St"], contact.Address!.Line);
        Assert.Empty(contact.Address.Extension);
        Assert.Equal("es", contact.Language!.Code);
        Assert.Equal(["address", "birthDate", "communication", "id", "telecom"], contained.EnumerateElements().Select(e => e.Key).Order(StringComparer.Ordinal).ToList());
        Assert.Null(ReferralContacts.FromPatient(new Patient { Name = [new HumanName { Text = "No contact" }] }));
    }

    [Fact]
    public void From_the_ehrs_practitioner_only_a_valid_NPI_and_one_phone_and_one_fax_are_taken()
    {
        var practitioner = new Practitioner
        {
            Identifier = [new Identifier("urn:dea", "AB1234563"), new Identifier(ReferralContacts.NpiSystem, "1234567893")],
            Telecom =
            [
                new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Work, "dr@clinic.example"),
                new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Work, "503-555-0110"),
                new ContactPoint(ContactPoint.ContactPointSystem.Fax, ContactPoint.ContactPointUse.Work, "503-555-0111"),
            ],
        };
        var role = new PractitionerRole { Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Work, "503-555-0199")] };

        var contact = ReferralContacts.FromPrescriber(practitioner, role)!;
        var badNpi = ReferralContacts.FromPrescriber(new Practitioner { Identifier = [new Identifier(ReferralContacts.NpiSystem, "1234567890")] }, null);

        Assert.Equal("1234567893", contact.Npi);
        Assert.Equal(["503-555-0199", "503-555-0111"], contact.Telecoms.Select(t => t.Value));
        Assert.Null(badNpi);
    }

    [Fact]
    public void From_the_payer_its_lines_and_the_contact_whose_purpose_is_the_claims_adjuster_are_taken()
    {
        var organization = new Organization
        {
            Name = "Evergreen",
            Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Work, "800-555-0140")],
            Contact =
            [
                new Organization.ContactComponent { Purpose = new CodeableConcept { Text = "Billing" }, Name = new HumanName { Text = "Bill Ing" } },
                new Organization.ContactComponent
                {
                    Purpose = new CodeableConcept { Text = "Claims adjuster" },
                    Name = new HumanName { Given = ["Priya"], Family = "Natarajan" },
                    Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Phone, null, "503-555-0141")],
                },
            ],
        };

        var contact = ReferralContacts.FromPayor(organization)!;

        Assert.Equal("Priya Natarajan", contact.AdjusterName);
        Assert.Equal(["503-555-0141"], contact.AdjusterTelecoms.Select(t => t.Value));
        Assert.Equal(["800-555-0140"], contact.Telecoms.Select(t => t.Value));
    }

    [Theory]
    [InlineData("1234567893", true)]
    [InlineData("1987654328", true)]
    [InlineData("1234567890", false)]
    [InlineData("123456789", false)]
    [InlineData("12345678931", false)]
    [InlineData("12345a7893", false)]
    public void An_NPI_is_ten_digits_with_the_Luhn_check_digit_of_its_issuer_prefix(string npi, bool valid) =>
        Assert.Equal(valid, ContactRules.IsNpi(npi));

    [Theory]
    [InlineData("503-555-0161", true)]
    [InlineData("+1 (503) 555.0161 ext. 12", true)]
    [InlineData("5550161", true)]
    [InlineData("555-01", false)]
    [InlineData("CALL-ME-NOW", false)]
    [InlineData("+1 503 555 0161 0161 0161", false)]
    public void A_phone_number_has_7_to_15_digits_in_the_usual_separators(string number, bool valid) =>
        Assert.Equal(valid, ContactRules.IsPhoneNumber(number));

    /// <summary>Each case breaks the referral's contact details in one way and names exactly the (rule, FHIRPath) problems expected.</summary>
    private static readonly Dictionary<string, (Action<ServiceRequest> Break, (string Rule, string Expression)[] Expected)> Cases = new()
    {
        ["the patient's name"] = (r => PatientOf(r).Name.Add(new HumanName { Text = "Dana" }), [(R.ContactNotMinimal, PatientPath + ".name")]),
        ["the patient's identifier"] = (r => PatientOf(r).Identifier.Add(new Identifier("urn:mrn", "1")), [(R.ContactNotMinimal, PatientPath + ".identifier")]),
        ["the patient's email"] = (r => PatientOf(r).Telecom[0].System = ContactPoint.ContactPointSystem.Email,
            [(R.ContactNotMinimal, PatientPath + ".telecom[0].system")]),
        ["a phone without a system (cpt-2)"] = (r => PatientOf(r).Telecom[0].System = null, [(R.ContactPointInvalid, PatientPath + ".telecom[0]")]),
        ["a phone that is words"] = (r => PatientOf(r).Telecom[0].Value = "call me", [(R.ContactPointInvalid, PatientPath + ".telecom[0].value")]),
        ["two addresses"] = (r => PatientOf(r).Address.Add(new Address { City = "Salem" }), [(R.ContactNotMinimal, PatientPath + ".address[1]")]),
        ["a birth date tomorrow"] = (r => PatientOf(r).BirthDate = "2025-03-02", [(R.BirthDateInvalid, PatientPath + ".birthDate")]),
        ["a birth date next year"] = (r => PatientOf(r).BirthDate = "2026", [(R.BirthDateInvalid, PatientPath + ".birthDate")]),
        ["a birth date of February 30"] = (r => PatientOf(r).BirthDate = "1981-02-30", [(R.BirthDateInvalid, PatientPath + ".birthDate")]),
        ["a birth year only"] = (r => PatientOf(r).BirthDate = "1981", []),
        ["a language that is not BCP-47"] = (r => PatientOf(r).Communication[0].Language = new CodeableConcept(Languages.System, "Spanish please"),
            [(R.LanguageInvalid, PatientPath + ".communication[0].language")]),
        ["a language of another code system"] = (r => PatientOf(r).Communication[0].Language = new CodeableConcept("urn:iso:std:iso:639-2", "spa"),
            [(R.LanguageInvalid, PatientPath + ".communication[0].language")]),
        ["an NPI with a wrong check digit"] = (r => RequesterOf(r).Identifier[0].Value = "1234567890", [(R.NpiInvalid, RequesterPath + ".identifier[0].value")]),
        ["an identifier other than the NPI"] = (r => RequesterOf(r).Identifier[0].System = "urn:dea", [(R.ContactNotMinimal, RequesterPath + ".identifier[0]")]),
        ["the prescriber's email"] = (r => RequesterOf(r).Telecom.Add(new ContactPoint(ContactPoint.ContactPointSystem.Email, null, "dr@clinic.example")),
            [(R.ContactNotMinimal, RequesterPath + ".telecom[2].system")]),
        ["the prescriber's qualification"] = (r => RequesterOf(r).Qualification.Add(new Practitioner.QualificationComponent { Code = new CodeableConcept { Text = "MD" } }),
            [(R.ContactNotMinimal, RequesterPath + ".qualification")]),
        ["a fax number too short"] = (r => RequesterOf(r).Telecom[1].Value = "555-01", [(R.ContactPointInvalid, RequesterPath + ".telecom[1].value")]),
        ["an adjuster's email that is not one"] = (r => PayorOf(r).Contact[0].Telecom[1].Value = "priya at comp",
            [(R.ContactPointInvalid, PayorPath + ".contact[0].telecom[1].value")]),
        ["a second contact at the payer"] = (r => PayorOf(r).Contact.Add(new Organization.ContactComponent { Name = new HumanName { Text = "Other" } }),
            [(R.ContactNotMinimal, PayorPath + ".contact[1]")]),
        ["the payer's address"] = (r => PayorOf(r).Address.Add(new Address { City = "Salem" }), [(R.ContactNotMinimal, PayorPath + ".address")]),
        ["a payer contact on a health plan"] = (r => ((Coverage)r.Contained[0]).Type = CoverageTypes.Codes.For(CoverageType.HealthPlan).ToCodeableConcept(),
            [(R.ContainedNotAllowed, PayorPath)]),
        ["the contact details not referenced by supportingInfo"] = (r => r.SupportingInfo.RemoveAll(s => s.Reference is "#patient"),
            [(R.ContainedNotAllowed, PatientPath)]),
        ["a second contained Patient"] = (r => r.Contained.Add(new Patient { Id = "patient" }), [(R.ContainedNotAllowed, "ServiceRequest.contained[4]")]),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Broken_contact_details_fail_with_the_exact_rules_and_expressions_that_name_elements_present(string name)
    {
        var (breakIt, expected) = Cases[name];
        var request = Referral();
        breakIt(request);

        var outcome = ModelFixtures.Validator().Validate(request, ModelFixtures.TrainingOf);

        Assert.Equal(ModelFixtures.Expect(expected), ModelFixtures.Problems(outcome));
        Assert.Equal(expected.Length == 0, outcome.IsValid());
        foreach (var expression in outcome.Problems().SelectMany(i => i.Expression))
        {
            Assert.NotEmpty(request.Select(expression!));
        }
    }

    private static Patient PatientOf(ServiceRequest r) => (Patient)r.Contained[2];

    private static Practitioner RequesterOf(ServiceRequest r) => (Practitioner)r.Contained[3];

    private static Organization PayorOf(ServiceRequest r) => (Organization)r.Contained[1];
}

using System.Globalization;
using Hl7.Fhir.Model;

namespace SandboxEhr.Data;

/// <summary>Stable, human-readable ids that tests and the other apps refer to.</summary>
public static class SyntheticIds
{
    public const string WorkersCompWristPatient = "dana-whitfield";
    public const string AutoWhiplashPatient = "marcus-bennett";
    public const string LymphedemaPatient = "helen-park";
    public const string PregnantPatient = "sofia-reyes";
    public const string AnticoagulatedSciaticaPatient = "robert-chen";
    public const string FibromyalgiaPatient = "grace-okafor";
    public const string FrozenShoulderPatient = "walter-hughes";
    public const string RunnerPatient = "jamal-carter";

    public const string FamilyPhysician = "dr-amelia-stone";
    public const string RehabilitationPhysician = "dr-rajesh-iyer";
    public const string Obstetrician = "dr-ellen-brooks";

    public const string OncologyLymphTherapist = "therapist-olivia-hart";
    public const string PrenatalTherapist = "therapist-nadia-kowalski";
    public const string SportsTherapist = "therapist-sam-rivera";
    public const string GeriatricTherapist = "therapist-margaret-lee";
    public const string PediatricTherapist = "therapist-kai-nakamura";

    public const string Clinic = "org-sandbox-family-clinic";
    public const string MassagePractice = "org-harbor-medical-massage";
}

/// <summary>
/// The sandbox EHR's synthetic chart: patients whose problem lists cover the medical-massage conditions of
/// DESIGN.md §4, with their encounters, coverage and medications, the physicians who refer, and the
/// therapists (with their training) who receive referrals. Built as Firely POCOs so every record is typed.
/// </summary>
public static class SyntheticRecords
{
    private const string SnomedMassageTherapist = "1172950003";

    /// <summary>The whole chart; dates are relative to <paramref name="today"/> so it looks current on any day.</summary>
    public static IReadOnlyList<Resource> Create(DateOnly today)
    {
        var records = new List<Resource>();
        records.AddRange(Organizations());
        // NPIs (physicians' and therapists') are made up but keep the NPI's check digit (ModelNpiTests checks them); numbers are in the 555-01xx range kept for fiction.
        records.AddRange(Physician(SyntheticIds.FamilyPhysician, "Amelia", "Stone", AdministrativeGender.Female, "Family medicine", "1987654328", "503-555-0110", "503-555-0111"));
        records.AddRange(Physician(SyntheticIds.RehabilitationPhysician, "Rajesh", "Iyer", AdministrativeGender.Male, "Physical medicine and rehabilitation", "1456789019", "503-555-0120", "503-555-0121"));
        records.AddRange(Physician(SyntheticIds.Obstetrician, "Ellen", "Brooks", AdministrativeGender.Female, "Obstetrics and gynecology", "1673452193", "503-555-0130", null));
        records.AddRange(Therapist(SyntheticIds.OncologyLymphTherapist, "LMT-020417", "1245789031", "Olivia", "Hart", AdministrativeGender.Female,
            "Certified lymphedema therapist (CLT); oncology massage certificate",
            TherapistTraining.OncologyMassage, TherapistTraining.LymphDrainage));
        records.AddRange(Therapist(SyntheticIds.PrenatalTherapist, "LMT-031288", "1245789049", "Nadia", "Kowalski", AdministrativeGender.Female,
            "Certified prenatal massage therapist; trauma-informed care training",
            TherapistTraining.Prenatal, TherapistTraining.TraumaInformed));
        records.AddRange(Therapist(SyntheticIds.SportsTherapist, "LMT-044156", "1245789056", "Sam", "Rivera", AdministrativeGender.Male,
            "Sports and orthopedic massage certificate",
            TherapistTraining.Sports));
        records.AddRange(Therapist(SyntheticIds.GeriatricTherapist, "LMT-057903", "1245789064", "Margaret", "Lee", AdministrativeGender.Female,
            "Geriatric massage certificate; trauma-informed care training",
            TherapistTraining.Geriatric, TherapistTraining.TraumaInformed));
        records.AddRange(Therapist(SyntheticIds.PediatricTherapist, "LMT-062741", "1245789072", "Kai", "Nakamura", AdministrativeGender.Male,
            "Pediatric massage certificate; sports massage certificate",
            TherapistTraining.Pediatric, TherapistTraining.Sports));

        var chart = new ChartBuilder(today, records);
        // Phones and preferred languages, as a registration desk records them; Walter Hughes has none on file, so the
        // journey shows what the referral says when the EHR holds nothing.
        var contacts = new Dictionary<string, (string? Phone, string? Language, string? LanguageName)>(StringComparer.Ordinal)
        {
            [SyntheticIds.WorkersCompWristPatient] = ("503-555-0161", "en", "English"),
            [SyntheticIds.AutoWhiplashPatient] = ("503-555-0162", "en", "English"),
            [SyntheticIds.LymphedemaPatient] = ("503-555-0163", "ko", "Korean"),
            [SyntheticIds.PregnantPatient] = ("503-555-0164", "es", "Spanish"),
            [SyntheticIds.AnticoagulatedSciaticaPatient] = ("503-555-0165", "zh", "Chinese"),
            [SyntheticIds.FibromyalgiaPatient] = ("503-555-0166", "en", "English"),
            [SyntheticIds.RunnerPatient] = ("503-555-0168", null, null),
        };
        chart.Contacts = contacts;

        chart.Patient(SyntheticIds.WorkersCompWristPatient, "Dana", "Whitfield", AdministrativeGender.Female, "1981-04-12",
            SyntheticIds.FamilyPhysician, "Wrist pain after repetitive work on the assembly line");
        chart.Condition(Diagnoses.CarpalTunnelRight, BodySites.Wrist, "Right wrist", onsetDaysAgo: 45,
            note: "Wrist injury at work: numbness and pain after months of repetitive assembly work; reported to the employer. Workers' compensation claim open.");
        chart.Coverage("WCBPOL", "worker's compensation", "org-evergreen-workers-comp", policyHolder: "org-riverside-assembly",
            claimNumber: "WC-2026-004817", memberId: null, startDaysAgo: 45);

        chart.Patient(SyntheticIds.AutoWhiplashPatient, "Marcus", "Bennett", AdministrativeGender.Male, "1975-09-03",
            SyntheticIds.RehabilitationPhysician, "Neck pain and headaches after a rear-end car accident");
        chart.Condition(Diagnoses.Whiplash, BodySites.Neck, "Neck", onsetDaysAgo: 21,
            note: "Rear-end collision as a driver; no fracture on imaging.");
        chart.Condition(Diagnoses.NeckPain, BodySites.Neck, "Neck", onsetDaysAgo: 21, note: null);
        chart.Condition(Diagnoses.TensionHeadache, BodySites.Head, "Head", onsetDaysAgo: 18, note: null);
        chart.Coverage("AUTOPOL", "automobile", "org-lakeside-auto", policyHolder: null,
            claimNumber: "AUTO-2026-113902", memberId: "LAI-55810442", startDaysAgo: 400);

        chart.Patient(SyntheticIds.LymphedemaPatient, "Helen", "Park", AdministrativeGender.Female, "1963-02-27",
            SyntheticIds.FamilyPhysician, "Swelling of the left arm after breast cancer treatment");
        chart.Condition(Diagnoses.Lymphedema, BodySites.UpperArm, "Left arm", onsetDaysAgo: 120,
            note: "After left mastectomy with axillary node dissection and radiotherapy. No blood pressure cuff or venipuncture on the left arm.");
        chart.Condition(Diagnoses.BreastCancerLeft, null, null, onsetDaysAgo: 900, note: "In remission; oncology follow-up every 6 months.",
            clinicalStatus: ("remission", "Remission"));
        chart.Coverage("HIP", "health insurance plan policy", "org-blue-meadow-health", policyHolder: null,
            claimNumber: null, memberId: "BMH-30021977", startDaysAgo: 1200);

        chart.Patient(SyntheticIds.PregnantPatient, "Sofia", "Reyes", AdministrativeGender.Female, "1994-07-19",
            SyntheticIds.Obstetrician, "Low back pain in the second trimester of pregnancy");
        chart.Condition(Diagnoses.Pregnancy, null, null, onsetDaysAgo: 150, note: "Singleton pregnancy, 22 weeks; uncomplicated.");
        chart.Condition(Diagnoses.LowBackPain, BodySites.LumbarRegion, "Lower back", onsetDaysAgo: 30, note: null);
        chart.Coverage("HIP", "health insurance plan policy", "org-blue-meadow-health", policyHolder: null,
            claimNumber: null, memberId: "BMH-41877302", startDaysAgo: 700);

        chart.Patient(SyntheticIds.AnticoagulatedSciaticaPatient, "Robert", "Chen", AdministrativeGender.Male, "1958-11-05",
            SyntheticIds.RehabilitationPhysician, "Right-sided sciatica and low back pain");
        chart.Condition(Diagnoses.SciaticaRight, BodySites.Buttock, "Right buttock and leg", onsetDaysAgo: 60, note: null);
        chart.Condition(Diagnoses.LowBackPain, BodySites.LumbarRegion, "Lower back", onsetDaysAgo: 60, note: null);
        chart.Anticoagulant();
        chart.Coverage("HIP", "health insurance plan policy", "org-silver-years-health", policyHolder: null,
            claimNumber: null, memberId: "SYH-70044518", startDaysAgo: 2000);

        chart.Patient(SyntheticIds.FibromyalgiaPatient, "Grace", "Okafor", AdministrativeGender.Female, "1987-01-30",
            SyntheticIds.FamilyPhysician, "Widespread pain, headaches and anxiety");
        chart.Condition(Diagnoses.Fibromyalgia, null, null, onsetDaysAgo: 730, note: null);
        chart.Condition(Diagnoses.TensionHeadache, BodySites.Head, "Head", onsetDaysAgo: 300, note: null);
        chart.Condition(Diagnoses.Anxiety, null, null, onsetDaysAgo: 500, note: null);
        chart.Condition(Diagnoses.Stress, null, null, onsetDaysAgo: 90, note: null);
        chart.Coverage("HIP", "health insurance plan policy", "org-blue-meadow-health", policyHolder: null,
            claimNumber: null, memberId: "BMH-52200981", startDaysAgo: 900);

        chart.Patient(SyntheticIds.FrozenShoulderPatient, "Walter", "Hughes", AdministrativeGender.Male, "1946-06-14",
            SyntheticIds.FamilyPhysician, "Stiff, painful left shoulder");
        chart.Condition(Diagnoses.FrozenShoulderLeft, BodySites.Shoulder, "Left shoulder", onsetDaysAgo: 100, note: null);
        chart.Condition(Diagnoses.Osteoarthritis, null, null, onsetDaysAgo: 3000, note: "Hands and knees.");
        chart.Coverage("HIP", "health insurance plan policy", "org-silver-years-health", policyHolder: null,
            claimNumber: null, memberId: "SYH-10395527", startDaysAgo: 4000);

        chart.Patient(SyntheticIds.RunnerPatient, "Jamal", "Carter", AdministrativeGender.Male, "1999-03-08",
            SyntheticIds.RehabilitationPhysician, "Heel pain and buttock pain while training for a marathon");
        chart.Condition(Diagnoses.PlantarFasciitis, BodySites.Foot, "Right foot", onsetDaysAgo: 40, note: null);
        chart.Condition(Diagnoses.PiriformisRight, BodySites.Buttock, "Right buttock", onsetDaysAgo: 25, note: null);
        chart.Coverage("HIP", "health insurance plan policy", "org-blue-meadow-health", policyHolder: null,
            claimNumber: null, memberId: "BMH-88120463", startDaysAgo: 300);

        return records;
    }

    private static IEnumerable<Resource> Organizations()
    {
        yield return Organization(SyntheticIds.Clinic, "Sandbox Family Clinic", "prov", "Healthcare Provider");
        yield return Organization(SyntheticIds.MassagePractice, "Harbor Medical Massage", "prov", "Healthcare Provider");
        yield return Organization("org-evergreen-workers-comp", "Evergreen Workers' Compensation Insurance", "ins", "Insurance Company",
            "800-555-0140", ("Priya Natarajan", "503-555-0141", "priya.natarajan@evergreen-comp.example"));
        yield return Organization("org-riverside-assembly", "Riverside Assembly Co.", "bus", "Non-Healthcare Business or Corporation");
        yield return Organization("org-lakeside-auto", "Lakeside Auto Insurance", "ins", "Insurance Company",
            "800-555-0150", ("Tom O'Neill", "503-555-0151", null));
        yield return Organization("org-blue-meadow-health", "Blue Meadow Health Plan", "ins", "Insurance Company");
        yield return Organization("org-silver-years-health", "Silver Years Health Plan", "ins", "Insurance Company");
    }

    /// <summary>A coded concept with its display (Firely's three-argument CodeableConcept constructor sets text, not display).</summary>
    private static CodeableConcept Concept(string system, string code, string display) => new() { Coding = [new Coding(system, code, display)] };

    /// <summary>An organization; an insurer with its claims line and, for auto and workers' compensation, the adjuster of the sandbox's claims.</summary>
    private static Organization Organization(string id, string name, string typeCode, string typeDisplay,
        string? phone = null, (string Name, string Phone, string? Email)? adjuster = null)
    {
        var organization = new Organization
        {
            Id = id,
            Active = true,
            Name = name,
            Type = [Concept(CodeSystems.OrganizationType, typeCode, typeDisplay)],
        };
        if (phone is not null)
        {
            organization.Telecom.Add(new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Work, phone));
        }

        if (adjuster is { } person)
        {
            organization.Contact.Add(new Organization.ContactComponent
            {
                Purpose = new CodeableConcept { Text = "Claims adjuster" },
                Name = new HumanName { Text = person.Name },
                Telecom =
                [
                    new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Work, person.Phone),
                    .. person.Email is null ? [] : new[] { new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Work, person.Email) },
                ],
            });
        }

        return organization;
    }

    private static IEnumerable<Resource> Physician(string id, string given, string family, AdministrativeGender gender, string specialty,
        string npi, string phone, string? fax)
    {
        yield return new Practitioner
        {
            Id = id,
            Active = true,
            Identifier =
            [
                new Identifier($"{CodeSystems.SandboxIdentifiers}/practitioner", id),
                new Identifier(CodeSystems.Npi, npi),
            ],
            Name = [new HumanName { Prefix = ["Dr."], Given = [given], Family = family, Suffix = ["MD"] }],
            Gender = gender,
            Telecom =
            [
                new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Work, $"{given.ToLowerInvariant()}.{family.ToLowerInvariant()}@clinic.example"),
                new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Work, phone),
                .. fax is null ? [] : new[] { new ContactPoint(ContactPoint.ContactPointSystem.Fax, ContactPoint.ContactPointUse.Work, fax) },
            ],
            Qualification = [new Practitioner.QualificationComponent { Code = new CodeableConcept { Text = "Doctor of Medicine (MD)" } }],
        };
        yield return new PractitionerRole
        {
            Id = id,
            Active = true,
            Practitioner = new ResourceReference($"Practitioner/{id}", $"Dr. {given} {family}"),
            Organization = new ResourceReference($"Organization/{SyntheticIds.Clinic}", "Sandbox Family Clinic"),
            Code = [Concept(CodeSystems.PractitionerRole, "doctor", "Doctor")],
            Specialty = [new CodeableConcept { Text = specialty }],
        };
    }

    private static IEnumerable<Resource> Therapist(string id, string license, string npi, string given, string family, AdministrativeGender gender, string certificates,
        params (string Code, string Display)[] training)
    {
        yield return new Practitioner
        {
            Id = id,
            Active = true,
            Identifier = [new Identifier($"{CodeSystems.SandboxIdentifiers}/practitioner", id), new Identifier(CodeSystems.Npi, npi)],
            Name = [new HumanName { Given = [given], Family = family, Suffix = ["LMT"] }],
            Gender = gender,
            Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Work, $"{given.ToLowerInvariant()}.{family.ToLowerInvariant()}@therapists.example")],
            Qualification =
            [
                new Practitioner.QualificationComponent
                {
                    Identifier = [new Identifier($"{CodeSystems.SandboxIdentifiers}/massage-license", license)],
                    Code = new CodeableConcept { Text = "Licensed massage therapist (LMT)" },
                },
                new Practitioner.QualificationComponent { Code = new CodeableConcept { Text = certificates } },
            ],
        };
        yield return new PractitionerRole
        {
            Id = id,
            Active = true,
            Practitioner = new ResourceReference($"Practitioner/{id}", $"{given} {family}, LMT"),
            Organization = new ResourceReference($"Organization/{SyntheticIds.MassagePractice}", "Harbor Medical Massage"),
            Code = [Concept(CodeSystems.Snomed, SnomedMassageTherapist, "Massage therapist")],
            Specialty = [.. training.Select(t => Concept(CodeSystems.TherapistTraining, t.Code, t.Display))],
            Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Work, $"{given.ToLowerInvariant()}.{family.ToLowerInvariant()}@therapists.example")],
        };
    }

    /// <summary>Adds one patient's chart at a time, so each condition, coverage and medication points at its patient and encounter.</summary>
    private sealed class ChartBuilder(DateOnly today, List<Resource> records)
    {
        private Patient? patient;
        private Encounter? encounter;
        private string physician = "";

        public IReadOnlyDictionary<string, (string? Phone, string? Language, string? LanguageName)> Contacts { get; set; } =
            new Dictionary<string, (string?, string?, string?)>();

        private ResourceReference PatientReference => new($"Patient/{patient!.Id}", patient.Name[0].Text);

        public void Patient(string id, string given, string family, AdministrativeGender gender, string birthDate, string physicianId, string visitReason)
        {
            physician = physicianId;
            patient = new Patient
            {
                Id = id,
                Active = true,
                Identifier =
                [
                    new Identifier($"{CodeSystems.SandboxIdentifiers}/mrn", $"MRN-{records.OfType<Patient>().Count() + 100001}")
                    {
                        Type = Concept(CodeSystems.IdentifierType, "MR", "Medical record number"),
                    },
                ],
                Name = [new HumanName { Use = HumanName.NameUse.Official, Given = [given], Family = family, Text = $"{given} {family}" }],
                Gender = gender,
                BirthDate = birthDate,
                Address = [SyntheticHomes.Of(id)],
                GeneralPractitioner = [new ResourceReference($"Practitioner/{physicianId}")],
                Telecom = Contacts.TryGetValue(id, out var contact) && contact.Phone is { } phone
                    ? [new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Mobile, phone)]
                    : [],
                Communication = contact.Language is { } language
                    ? [new Patient.CommunicationComponent { Language = Concept(CodeSystems.Bcp47, language, contact.LanguageName!), Preferred = true }]
                    : [],
                ManagingOrganization = new ResourceReference($"Organization/{SyntheticIds.Clinic}", "Sandbox Family Clinic"),
            };
            encounter = new Encounter
            {
                Id = $"{id}-visit",
                Status = Encounter.EncounterStatus.InProgress,
                Class = new Coding(CodeSystems.ActCode, "AMB", "ambulatory"),
                Type = [new CodeableConcept { Text = "Office visit" }],
                Subject = PatientReference,
                Participant = [new Encounter.ParticipantComponent { Individual = new ResourceReference($"Practitioner/{physicianId}") }],
                Period = new Period { StartElement = new FhirDateTime(new DateTimeOffset(today.ToDateTime(new TimeOnly(9, 0)), TimeSpan.Zero)) },
                ReasonCode = [new CodeableConcept { Text = visitReason }],
                ServiceProvider = new ResourceReference($"Organization/{SyntheticIds.Clinic}"),
            };
            records.Add(patient);
            records.Add(encounter);
        }

        public void Condition(Diagnosis diagnosis, (string Code, string Display)? bodySite, string? bodySiteText, int onsetDaysAgo, string? note,
            (string Code, string Display)? clinicalStatus = null)
        {
            var coding = new List<Coding> { new(CodeSystems.Icd10Cm, diagnosis.Icd10Code, diagnosis.Icd10Display) };
            if (diagnosis.SnomedCode is not null)
            {
                coding.Add(new Coding(CodeSystems.Snomed, diagnosis.SnomedCode, diagnosis.SnomedDisplay));
            }

            var status = clinicalStatus ?? ("active", "Active");
            var condition = new Condition
            {
                Id = $"{patient!.Id}-{diagnosis.Icd10Code.ToLowerInvariant().Replace('.', '-')}",
                ClinicalStatus = Concept(CodeSystems.ConditionClinical, status.Code, status.Display),
                VerificationStatus = Concept(CodeSystems.ConditionVerification, "confirmed", "Confirmed"),
                Category = [Concept(CodeSystems.ConditionCategory, "problem-list-item", "Problem List Item")],
                Code = new CodeableConcept { Coding = coding, Text = diagnosis.Text },
                Subject = PatientReference,
                Encounter = new ResourceReference($"Encounter/{encounter!.Id}"),
                Onset = new FhirDateTime(Date(onsetDaysAgo)),
                RecordedDate = Date(0),
                Recorder = new ResourceReference($"Practitioner/{physician}"),
            };
            if (bodySite is { } site)
            {
                condition.BodySite = [new CodeableConcept(CodeSystems.Snomed, site.Code, site.Display, bodySiteText)];
            }

            if (note is not null)
            {
                condition.Note = [new Annotation { Text = new Markdown(note) }];
            }

            records.Add(condition);
            encounter.ReasonReference.Add(new ResourceReference($"Condition/{condition.Id}", diagnosis.Text));
        }

        public void Coverage(string typeCode, string typeDisplay, string payorId, string? policyHolder, string? claimNumber, string? memberId, int startDaysAgo)
        {
            var coverage = new Coverage
            {
                Id = $"{patient!.Id}-coverage",
                Status = FinancialResourceStatusCodes.Active,
                Type = Concept(CodeSystems.ActCode, typeCode, typeDisplay),
                PolicyHolder = policyHolder is null ? PatientReference : new ResourceReference($"Organization/{policyHolder}"),
                Subscriber = PatientReference,
                Beneficiary = PatientReference,
                Relationship = Concept(CodeSystems.SubscriberRelationship, "self", "Self"),
                Period = new Period { Start = Date(startDaysAgo) },
                // With its display, as EHRs send it: an app shows the payor without a second read of the Organization.
                Payor = [new ResourceReference($"Organization/{payorId}", records.OfType<Organization>().FirstOrDefault(o => o.Id == payorId)?.Name)],
            };
            if (memberId is not null)
            {
                coverage.Identifier.Add(new Identifier($"{CodeSystems.SandboxIdentifiers}/member-id", memberId)
                {
                    Type = Concept(CodeSystems.IdentifierType, "MB", "Member Number"),
                });
            }

            if (claimNumber is not null)
            {
                coverage.Identifier.Add(new Identifier($"{CodeSystems.SandboxIdentifiers}/claim-number", claimNumber)
                {
                    Type = new CodeableConcept { Text = "Claim number" },
                });
            }

            records.Add(coverage);
        }

        /// <summary>A direct oral anticoagulant: a precaution a massage referral must carry (bruising, no deep pressure).</summary>
        public void Anticoagulant() => records.Add(new MedicationRequest
        {
            Id = $"{patient!.Id}-apixaban",
            Status = MedicationRequest.MedicationrequestStatus.Active,
            Intent = MedicationRequest.MedicationRequestIntent.Order,
            // Not checked here: RxNorm 1364430 is apixaban 5 MG Oral Tablet; ICD-10-CM I48.91 and SNOMED 49436004 atrial fibrillation.
            Medication = new CodeableConcept(CodeSystems.RxNorm, "1364430", "apixaban 5 MG Oral Tablet", "Apixaban 5 mg tablet"),
            Subject = PatientReference,
            Encounter = new ResourceReference($"Encounter/{encounter!.Id}"),
            AuthoredOn = Date(200),
            Requester = new ResourceReference($"Practitioner/{SyntheticIds.FamilyPhysician}"),
            ReasonCode =
            [
                new CodeableConcept
                {
                    Coding = [new Coding(CodeSystems.Icd10Cm, "I48.91", "Unspecified atrial fibrillation"), new Coding(CodeSystems.Snomed, "49436004", "Atrial fibrillation")],
                    Text = "Atrial fibrillation",
                },
            ],
            DosageInstruction = [new Dosage { Text = "5 mg by mouth twice daily" }],
        });

        private string Date(int daysAgo) => today.AddDays(-daysAgo).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }
}

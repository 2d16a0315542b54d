using System.Text.Json;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using SandboxEhr.Data;

namespace SandboxEhr.Tests.Data;

public sealed partial class SyntheticRecordTests
{
    /// <summary>
    /// The seed conditions of DESIGN.md §4. §4 names pregnancy and cancer without codes; the sandbox's codes
    /// for them (Z33.1 / 77386006, C50.912 / 254837009) are listed separately so they stay visible.
    /// </summary>
    private static readonly Regex[] DesignIcd10 =
    [
        .. new[]
        {
            @"G56\.0\d", @"M54\.3\d", @"G57\.0\d", @"I89\.0", @"S13\.4XXA", @"M75\.1\d\d", @"M26\.60\d", @"M71\.9", @"M40\.2\d\d", @"M40\.5\d",
            @"M41\.9", @"M19\.90", @"G43\.909", @"G44\.209", @"M79\.7", @"M75\.0\d", @"M77\.[01]\d", @"M54\.5\d", @"M54\.2", @"M72\.2", @"F41\.9", @"Z73\.3",
        }.Select(p => new Regex($"^{p}$", RegexOptions.None, TimeSpan.FromSeconds(1))),
    ];

    private static readonly string[] DesignSnomed =
    [
        "57406009", "23056005", "234097001", "39848009", "414033006", "41888000", "84017003", "298382003", "396275006", "37796009",
        "398057008", "203082005", "399114005", "279039007", "81680005", "202882003",
    ];

    private static readonly Dictionary<string, string> AddedForPregnancyAndCancer = new()
    {
        ["Z33.1"] = "77386006",
        ["C50.912"] = "254837009",
    };

    private static readonly IReadOnlyList<Resource> Records = SyntheticRecords.Create(new DateOnly(2026, 11, 23));

    [Fact]
    public void Every_synthetic_record_serializes_and_parses_back_strictly_to_the_same_json()
    {
        var serializer = new FhirJsonSerializer();
        var strict = new FhirJsonDeserializer(new DeserializerSettings().UsingMode(DeserializationMode.Strict));

        foreach (var record in Records)
        {
            var json = serializer.SerializeToString(record);
            Assert.True(strict.TryDeserializeResource(json, out var parsed, out var issues), $"{record.TypeName}/{record.Id}: {string.Join("; ", issues.Select(i => i.Message))}");
            Assert.Equal(json, serializer.SerializeToString(parsed!));
        }
    }

    [Fact]
    public void Every_coding_carries_its_display()
    {
        var serializer = new FhirJsonSerializer();
        foreach (var record in Records)
        {
            foreach (var coding in Codings(JsonDocument.Parse(serializer.SerializeToString(record)).RootElement))
            {
                Assert.True(coding.TryGetProperty("display", out var display) && display.GetString()!.Length > 0, $"{record.TypeName}/{record.Id}: {coding}");
            }
        }
    }

    [Fact]
    public void Ids_are_unique_per_type_and_every_reference_points_at_a_record()
    {
        Assert.Equal(Records.Count, Records.Select(r => $"{r.TypeName}/{r.Id}").Distinct().Count());
        var known = Records.Select(r => $"{r.TypeName}/{r.Id}").ToHashSet();
        var serializer = new FhirJsonSerializer();
        foreach (var record in Records)
        {
            foreach (Match reference in ReferenceElement().Matches(serializer.SerializeToString(record)))
            {
                Assert.Contains(reference.Groups[1].Value, known);
            }
        }
    }

    [Fact]
    public void There_are_at_least_six_patients_each_with_active_problems_a_current_encounter_and_coverage()
    {
        var patients = Records.OfType<Patient>().ToList();
        Assert.True(patients.Count >= 6);
        foreach (var patient in patients)
        {
            var reference = $"Patient/{patient.Id}";
            Assert.Contains(Records.OfType<Condition>(), c => c.Subject!.Reference == reference && c.ClinicalStatus!.Coding[0].Code == "active");
            Assert.Contains(Records.OfType<Encounter>(), e => e.Subject!.Reference == reference && e.Status == Encounter.EncounterStatus.InProgress);
            Assert.Contains(Records.OfType<Coverage>(), c => c.Beneficiary!.Reference == reference && c.Status == FinancialResourceStatusCodes.Active);
        }
    }

    [Fact]
    public void Every_condition_is_coded_with_the_codes_of_design_section_4()
    {
        foreach (var condition in Records.OfType<Condition>())
        {
            var icd = Assert.Single(condition.Code!.Coding, c => c.System == "http://hl7.org/fhir/sid/icd-10-cm").Code!;
            var snomed = condition.Code!.Coding.SingleOrDefault(c => c.System == "http://snomed.info/sct")?.Code;
            if (AddedForPregnancyAndCancer.TryGetValue(icd, out var addedSnomed))
            {
                Assert.Equal(addedSnomed, snomed);
                continue;
            }

            Assert.True(DesignIcd10.Any(p => p.IsMatch(icd)), $"{condition.Id}: ICD-10-CM {icd} is not a §4 code.");
            if (snomed is not null)
            {
                Assert.Contains(snomed, DesignSnomed);
            }

            Assert.Equal("problem-list-item", condition.Category[0].Coding[0].Code);
        }
    }

    [Fact]
    public void The_four_named_scenarios_exist()
    {
        AssertCondition(SyntheticIds.LymphedemaPatient, "I89.0");
        AssertCondition(SyntheticIds.LymphedemaPatient, "C50.912");
        AssertCondition(SyntheticIds.PregnantPatient, "Z33.1");

        AssertCondition(SyntheticIds.WorkersCompWristPatient, "G56.01");
        var workersComp = CoverageOf(SyntheticIds.WorkersCompWristPatient);
        Assert.Equal("WCBPOL", workersComp.Type!.Coding[0].Code);
        Assert.Contains(workersComp.Identifier, i => i.Type?.Text == "Claim number" && !string.IsNullOrEmpty(i.Value));
        Assert.Contains(Records.OfType<Condition>(), c => c.Subject!.Reference == $"Patient/{SyntheticIds.WorkersCompWristPatient}" && c.BodySite[0].Coding[0].Code == "74670003");

        AssertCondition(SyntheticIds.AutoWhiplashPatient, "S13.4XXA");
        var auto = CoverageOf(SyntheticIds.AutoWhiplashPatient);
        Assert.Equal("AUTOPOL", auto.Type!.Coding[0].Code);
        Assert.Contains(auto.Identifier, i => i.Type?.Text == "Claim number" && !string.IsNullOrEmpty(i.Value));
    }

    [Fact]
    public void A_patient_with_sciatica_is_on_an_anticoagulant_coded_in_rxnorm()
    {
        AssertCondition(SyntheticIds.AnticoagulatedSciaticaPatient, "M54.31");
        var medication = Assert.Single(Records.OfType<MedicationRequest>(), m => m.Subject!.Reference == $"Patient/{SyntheticIds.AnticoagulatedSciaticaPatient}");
        var code = ((CodeableConcept)medication.Medication!).Coding[0];
        Assert.Equal("http://www.nlm.nih.gov/research/umls/rxnorm", code.System);
        Assert.Equal(MedicationRequest.MedicationrequestStatus.Active, medication.Status);
    }

    [Fact]
    public void Physicians_and_therapists_have_a_practitioner_and_a_role_and_therapists_carry_their_training()
    {
        var roles = Records.OfType<PractitionerRole>().ToList();
        var therapists = roles.Where(r => r.Code[0].Coding[0].Code == "1172950003").ToList();
        Assert.True(therapists.Count >= 4);
        Assert.All(therapists, t => Assert.StartsWith("therapist-", t.Id, StringComparison.Ordinal));
        Assert.All(roles, r => Assert.Contains(Records.OfType<Practitioner>(), p => $"Practitioner/{p.Id}" == r.Practitioner!.Reference));
        var training = therapists.SelectMany(t => t.Specialty).SelectMany(s => s.Coding).ToList();
        Assert.All(training, c => Assert.Equal(CodeSystems.TherapistTraining, c.System));
        foreach (var needed in new[] { "oncology-massage", "manual-lymph-drainage", "prenatal", "sports", "geriatric", "trauma-informed", "pediatric" })
        {
            Assert.Contains(training, c => c.Code == needed);
        }

        Assert.True(roles.Count(r => r.Code[0].Coding[0].Code == "doctor") >= 2);
    }

    private static void AssertCondition(string patientId, string icd10) =>
        Assert.Contains(Records.OfType<Condition>(), c => c.Subject!.Reference == $"Patient/{patientId}" && c.Code!.Coding.Any(x => x.Code == icd10));

    /// <summary>Every JSON object shaped like a Coding (system and code).</summary>
    private static IEnumerable<JsonElement> Codings(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (element.TryGetProperty("system", out _) && element.TryGetProperty("code", out _))
            {
                yield return element;
            }

            foreach (var child in element.EnumerateObject().SelectMany(p => Codings(p.Value)))
            {
                yield return child;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var child in element.EnumerateArray().SelectMany(Codings))
            {
                yield return child;
            }
        }
    }

    [GeneratedRegex("\"reference\":\"([^\"]+)\"")]
    private static partial Regex ReferenceElement();

    private static Coverage CoverageOf(string patientId) => Records.OfType<Coverage>().Single(c => c.Beneficiary!.Reference == $"Patient/{patientId}");
}

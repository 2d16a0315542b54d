using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Tasks;
using Referral.Model.Terminology;

namespace Referral.Model.Conformance;

/// <summary>
/// What the functions app serves about itself: the product's ValueSets, its local CodeSystems and a
/// CapabilityStatement fragment. All are generated from the same catalogs the validator checks against.
/// </summary>
public static class ConformanceArtifacts
{
    private static readonly (string Name, string Title, string Description)[] LocalSystems =
    [
        ("TherapistTraining", "Therapist training", "Training a massage therapist may hold that some conditions require."),
        ("MassageTechnique", "Massage technique", "Techniques a therapist reports per session."),
        ("MassagePrecaution", "Massage precaution", "What the therapist must know before treating the patient."),
        ("OutcomeMeasure", "Outcome measure", "Session measures with no confirmed LOINC code: NDI, Oswestry, QuickDASH and PSFS totals, and range of motion per movement."),
        ("TaskOutputType", "Task output type", "What a referral Task's output holds: each session's Procedure and Observations, the discharge summary and renewal requests."),
        ("ValidationRule", "Validation rule", "The rules the referral model checks; each issue of an OperationOutcome names its rule."),
    ];

    private static readonly string[] LocalSystemUrls =
    [
        Canonicals.TherapistTrainingSystem,
        Canonicals.MassageTechniqueSystem,
        Canonicals.PrecautionSystem,
        Canonicals.OutcomeMeasureSystem,
        Canonicals.TaskOutputTypeSystem,
        Canonicals.ValidationRuleSystem,
    ];

    public static IReadOnlyList<ValueSet> ValueSets() => [.. ReferralValueSets.All.Select(ReferralValueSets.ToValueSet)];

    /// <summary>Every concept of every local code system, gathered from the catalogs.</summary>
    public static IReadOnlyList<Concept> LocalConcepts() =>
    [
        .. ReferralValueSets.All.SelectMany(v => v.Concepts),
        .. ReferralTasks.OutputTypes.Concepts,
        .. ReferralTasks.CourseOutputTypes.Concepts,
        .. ValidationRules.All,
    ];

    public static IReadOnlyList<CodeSystem> CodeSystems()
    {
        var concepts = LocalConcepts();
        return
        [
            .. LocalSystems.Select((system, i) =>
            {
                var url = LocalSystemUrls[i];
                var members = concepts.Where(c => c.System == url).DistinctBy(c => c.Code).ToList();
                return new CodeSystem
                {
                    Id = url[(url.LastIndexOf('/') + 1)..],
                    Url = url,
                    Version = ReferralValueSets.Version,
                    Name = system.Name,
                    Title = system.Title,
                    Status = PublicationStatus.Active,
                    Experimental = false,
                    Publisher = "Medical-massage referral",
                    Description = system.Description,
                    CaseSensitive = true,
                    Content = CodeSystemContentMode.Complete,
                    Count = members.Count,
                    Concept = [.. members.Select(c => new CodeSystem.ConceptDefinitionComponent { Code = c.Code, Display = c.Display })],
                };
            }),
        ];
    }

    /// <summary>
    /// The part of the functions app's CapabilityStatement this model defines: the profiled ServiceRequest, the
    /// Task, Procedure and Observation it produces, and terminology with $expand.
    /// </summary>
    public static CapabilityStatement CreateCapabilityStatement(DateTimeOffset date, string? baseAddress = null)
    {
        return new CapabilityStatement
        {
            Url = Canonicals.CapabilityStatement,
            Version = ReferralValueSets.Version,
            Name = "MedicalMassageReferralFunctions",
            Title = "Medical-massage referral: functions FHIR API",
            Status = PublicationStatus.Active,
            Experimental = false,
            Date = FhirTime.DateTime(date),
            Publisher = "Medical-massage referral",
            Description = "Receives medical-massage referrals, tracks their fulfilment as Tasks and returns session results as Procedures and Observations.",
            Kind = CapabilityStatementKind.Instance,
            Software = new CapabilityStatement.SoftwareComponent { Name = "Referral.Functions", Version = ReferralValueSets.Version },
            Implementation = new CapabilityStatement.ImplementationComponent
            {
                Description = "Medical-massage referral functions app",
                Url = baseAddress,
            },
            FhirVersion = FHIRVersion.N4_0_1,
            Format = ["json"],
            Rest =
            [
                new CapabilityStatement.RestComponent
                {
                    Mode = CapabilityStatement.RestfulCapabilityMode.Server,
                    Resource =
                    [
                        ConditionallyCreated(Resource("ServiceRequest", [MedicalMassageProfile], CapabilityStatement.TypeRestfulInteraction.Create, CapabilityStatement.TypeRestfulInteraction.Read)),
                        Resource("Task", [], CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType),
                        Resource("Procedure", [], CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType),
                        Resource("Observation", [], CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType),
                        ValueSetResource(),
                        Resource("CodeSystem", [], CapabilityStatement.TypeRestfulInteraction.Read),
                    ],
                },
            ],
        };
    }

    private const string MedicalMassageProfile = Canonicals.MedicalMassageServiceRequestProfile;

    private static CapabilityStatement.ResourceComponent Resource(
        string type, string[] profiles, params CapabilityStatement.TypeRestfulInteraction[] interactions) => new()
        {
            Type = type,
            SupportedProfile = profiles,
            Interaction = [.. interactions.Select(i => new CapabilityStatement.ResourceInteractionComponent { Code = i })],
        };

    /// <summary>A resource whose create also takes If-None-Exist (FHIR's conditional create).</summary>
    private static CapabilityStatement.ResourceComponent ConditionallyCreated(CapabilityStatement.ResourceComponent resource)
    {
        resource.ConditionalCreate = true;
        return resource;
    }

    private static CapabilityStatement.ResourceComponent ValueSetResource()
    {
        var resource = Resource("ValueSet", [], CapabilityStatement.TypeRestfulInteraction.Read);
        resource.Operation.Add(new CapabilityStatement.OperationComponent
        {
            Name = "expand",
            Definition = "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
            Documentation = "Supports url, filter (each word starts a word of the display, synonyms or code) and count.",
        });
        return resource;
    }
}

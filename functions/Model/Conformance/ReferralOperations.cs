using Hl7.Fhir.Model;
using Referral.Model.Terminology;
using ParameterUse = Hl7.Fhir.Model.OperationParameterUse;

namespace Referral.Model.Conformance;

/// <summary>One parameter of an operation: its name, cardinality, FHIR type (null for a part-only parameter) and parts.</summary>
public sealed record OperationParam(string Name, int Min, string Max, string? Type, string Documentation, IReadOnlyList<OperationParam>? Parts = null)
{
    public ParameterUse Use { get; init; } = ParameterUse.In;

    /// <summary>Types taken besides <see cref="Type"/> (an R4 OperationDefinition names one): in the input profile only.</summary>
    public IReadOnlyList<string> AlsoAccepts { get; init; } = [];
}

/// <summary>An operation the API serves on a resource type: its code, what it does and its parameters.</summary>
public sealed record OperationSpec(string Resource, string Code, string Title, string Description, IReadOnlyList<OperationParam> Parameters, bool Instance = true, bool AffectsState = true)
{
    public string Id => $"{Resource}-{Code}";

    public string Url => $"{Canonicals.Base}/OperationDefinition/{Id}";

    /// <summary>The Parameters profile of the operation's in parameters (its OperationDefinition's <c>inputProfile</c>).</summary>
    public string InputProfileUrl => $"{Canonicals.Base}/StructureDefinition/{InputProfileId}";

    public string InputProfileId => $"{Id}-in";

    public IEnumerable<OperationParam> Inputs => Parameters.Where(p => p.Use == ParameterUse.In);
}

/// <summary>
/// The operations the functions API serves, with their parameters, as OperationDefinitions. The CapabilityStatement
/// points each operation at <see cref="OperationSpec.Url"/>; a test keeps this list and the API's routes equal.
/// </summary>
public static class ReferralOperations
{
    /// <summary>The input profiles' invariant on a primitive parameter: it has a value (not only extensions).</summary>
    public const string ValueInvariant = "mmp-1";

    private static OperationParam Reason(int min) => new("reason", min, "1", "string", "Why, in plain text (valueString; a valueCodeableConcept's text is read too).")
    {
        AlsoAccepts = ["CodeableConcept"],
    };

    private static readonly OperationParam Note = new("note", 0, "1", "string", "Accepted and not stored, as the first versions of the API took it.");

    private static readonly OperationParam ReturnedTask = new("return", 1, "1", "Task", "The Task as changed.") { Use = ParameterUse.Out };

    public static IReadOnlyList<OperationSpec> All { get; } =
    [
        new("Task", "accept", "Accept a referral", "The therapist the referral is sent to accepts it.", [Reason(0), Note, ReturnedTask]),
        new("Task", "decline", "Decline a referral", "The therapist the referral is sent to declines it; the physician is notified with the reason.", [Reason(1), Note, ReturnedTask]),
        new("Task", "cancel", "Cancel a referral", "The physician who wrote the referral cancels it.", [Reason(0), Note, ReturnedTask]),
        new("Task", "hold", "Put a referral on hold", "The therapist puts a new referral on hold while waiting for an answer.", [Reason(1), ReturnedTask]),
        new("Task", "resume", "Resume a referral", "The therapist takes a referral off hold.", [ReturnedTask]),
        new("Task", "complete", "Complete the course", "The therapist closes the course with the discharge summary.",
        [
            Reason(0), Note,
            new("outcome", 0, "1", "string", "How the course went, plain text; required once a session has been recorded."),
            new("recommendations", 0, "1", "string", "What should happen next, plain text; only with an outcome."),
            ReturnedTask,
        ]),
        new("Task", "record-session", "Record a session", "The therapist records one session; the server makes its Procedure and Observations.",
        [
            new("start", 1, "1", "dateTime", "When the session started, with date, time and offset."),
            new("minutes", 1, "1", "integer", "How long it lasted."),
            new("bodySite", 1, "*", "CodeableConcept", "A body region treated, with its laterality where it is paired."),
            new("technique", 1, "*", "Coding", $"A technique used ({Canonicals.MassageTechniqueSystem})."),
            new("painBefore", 1, "1", "integer", $"Pain before the session, {OutcomeMeasures.PainMinimum} to {OutcomeMeasures.PainMaximum}."),
            new("painAfter", 1, "1", "integer", $"Pain after the session, {OutcomeMeasures.PainMinimum} to {OutcomeMeasures.PainMaximum}."),
            new("rangeOfMotion", 0, "*", null, "A range of motion measured.",
            [
                new("joint", 1, "1", "CodeableConcept", "The joint (a body region)."),
                new("movement", 1, "1", "Coding", "The movement measured."),
                new("degrees", 1, "1", "decimal", "Degrees."),
            ]),
            new("functionalScore", 0, "1", null, "A functional score.",
            [
                new("instrument", 1, "1", "Coding", "The instrument (NDI, Oswestry, QuickDASH, PSFS)."),
                new("score", 1, "1", "decimal", "The total."),
            ]),
            new("note", 0, "1", "string", "The therapist's note, plain text."),
            new("task", 1, "1", "Task", "The Task as changed.") { Use = ParameterUse.Out },
            new("procedure", 1, "1", "Procedure", "The session's Procedure.") { Use = ParameterUse.Out },
            new("observation", 0, "*", "Observation", "The session's Observations.") { Use = ParameterUse.Out },
            new("session", 1, "1", "integer", "The session's number.") { Use = ParameterUse.Out },
            new("remainingSessions", 1, "1", "integer", "Sessions left of those prescribed.") { Use = ParameterUse.Out },
        ]),
        new("Task", "request-renewal", "Ask for a renewal", "The therapist asks the physician to renew the prescription.",
        [
            Reason(1),
            new("sessions", 0, "1", "integer", "The additional sessions asked for, 1 to 52."),
            ReturnedTask,
        ]),
        new("Task", "approve-renewal", "Approve a renewal", "The physician who wrote the referral approves the pending renewal request.",
        [
            new("sessions", 1, "1", "integer", "The sessions added; at most 52 in all."),
            new("validUntil", 1, "1", "date", "The prescription's new last day."),
            ReturnedTask,
        ]),
        new("Task", "decline-renewal", "Decline a renewal", "The physician who wrote the referral declines the pending renewal request.", [Reason(1), ReturnedTask]),
        new("Task", "message", "Write on a referral", "The therapist or the physician writes a question or an answer on the referral.",
        [
            new("text", 1, "1", "string", "The message, plain text, at most 2000 characters."),
            new("return", 1, "1", "Communication", "The stored message.") { Use = ParameterUse.Out },
        ]),
        new("ServiceRequest", "validate", "Check a referral", "FHIR's $validate: checks a draft referral against the profile and the business rules without storing it.",
        [
            new("resource", 1, "1", "ServiceRequest", "The draft referral."),
            new("return", 1, "1", "OperationOutcome", "Every problem found, each with its element in expression; or one information issue.") { Use = ParameterUse.Out },
        ], Instance: false, AffectsState: false),
        new("ServiceRequest", "progress-report", "Download the progress report",
            "The referral's progress report (its discharge summary once the course is completed) as the therapist and the referring physician download it, for whoever may see the referral; the payer's copy adds the coverage, the claim and per session the CPT code and billable units.",
        [
            new("copy", 0, "1", "code", "chart (the default) or payer."),
            new("format", 0, "1", "code", "pdf (the default) or xhtml."),
            new("return", 1, "1", "Binary", "The document, as application/pdf or application/xhtml+xml.") { Use = ParameterUse.Out },
        ], AffectsState: false),
    ];

    public static IReadOnlyList<OperationDefinition> Definitions() => [.. All.Select(ToDefinition)];

    /// <summary>The operation with <paramref name="code"/> on <paramref name="resource"/>.</summary>
    public static OperationSpec Find(string resource, string code) => All.Single(o => o.Resource == resource && o.Code == code);

    /// <summary>
    /// Each operation's in parameters as a profile on Parameters, so a standard validator checks a call's body: the
    /// parameters sliced by name (closed: no other name), each slice with the parameter's cardinality and its type (a
    /// value[x] of that type, a resource of that type, or parts sliced the same way). Differential only.
    /// </summary>
    public static IReadOnlyList<StructureDefinition> InputProfiles() => [.. All.Select(InputProfile)];

    private static StructureDefinition InputProfile(OperationSpec spec)
    {
        var elements = new List<ElementDefinition> { new("Parameters") { ElementId = "Parameters", Short = $"The in parameters of ${spec.Code}" } };
        elements.AddRange(Slices("Parameters.parameter", "Parameters.parameter", [.. spec.Inputs]));
        return ReferralProfiles.Profile(spec.InputProfileUrl, ToDefinitionName(spec) + "Input", $"{spec.Title}: in parameters",
            $"The Parameters a call of {spec.Url} sends: its in parameters by name, cardinality and type.", "Parameters", elements);
    }

    /// <summary>The element <paramref name="path"/> (a parameter list or a part list) sliced by name, one slice per parameter.</summary>
    private static IEnumerable<ElementDefinition> Slices(string path, string id, IReadOnlyList<OperationParam> parameters)
    {
        if (parameters.Count == 0)
        {
            yield return new ElementDefinition(path) { ElementId = id, Max = "0" };
            yield break;
        }

        yield return new ElementDefinition(path)
        {
            ElementId = id,
            Slicing = new ElementDefinition.SlicingComponent
            {
                Discriminator = [new ElementDefinition.DiscriminatorComponent { Type = ElementDefinition.DiscriminatorType.Value, Path = "name" }],
                Ordered = false,
                Rules = ElementDefinition.SlicingRules.Closed,
            },
        };

        foreach (var parameter in parameters)
        {
            var slice = $"{id}:{parameter.Name}";
            yield return new ElementDefinition(path) { ElementId = slice, SliceName = parameter.Name, Min = parameter.Min, Max = parameter.Max, Short = parameter.Documentation };
            yield return new ElementDefinition(path + ".name") { ElementId = slice + ".name", Pattern = new FhirString(parameter.Name) };
            if (parameter.Type is null)
            {
                yield return new ElementDefinition(path + ".value[x]") { ElementId = slice + ".value[x]", Max = "0" };
                yield return new ElementDefinition(path + ".resource") { ElementId = slice + ".resource", Max = "0" };
                foreach (var part in Slices(path + ".part", slice + ".part", parameter.Parts ?? []))
                {
                    yield return part;
                }
            }
            else if (ModelInfo.IsKnownResource(parameter.Type))
            {
                yield return new ElementDefinition(path + ".value[x]") { ElementId = slice + ".value[x]", Max = "0" };
                yield return new ElementDefinition(path + ".resource")
                {
                    ElementId = slice + ".resource",
                    Min = 1,
                    Type = [new ElementDefinition.TypeRefComponent { Code = parameter.Type }],
                };
                yield return new ElementDefinition(path + ".part") { ElementId = slice + ".part", Max = "0" };
            }
            else
            {
                var types = parameter.AlsoAccepts.Prepend(parameter.Type).ToList();
                yield return new ElementDefinition(path + ".value[x]")
                {
                    ElementId = slice + ".value[x]",
                    Min = 1,
                    Type = [.. types.Select(t => new ElementDefinition.TypeRefComponent { Code = t })],
                    // FHIR lets a primitive carry only extensions; an operation's input needs the value itself.
                    Constraint = types.All(t => ModelInfo.IsPrimitive(t))
                        ? [new ElementDefinition.ConstraintComponent { Key = ValueInvariant, Severity = ConstraintSeverity.Error, Human = "The parameter has a value, not only extensions.", Expression = "hasValue()" }]
                        : [],
                };
                yield return new ElementDefinition(path + ".resource") { ElementId = slice + ".resource", Max = "0" };
                yield return new ElementDefinition(path + ".part") { ElementId = slice + ".part", Max = "0" };
            }
        }
    }

    private static string ToDefinitionName(OperationSpec spec) => string.Concat(spec.Id.Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));

    private static OperationDefinition ToDefinition(OperationSpec spec) => new()
    {
        Id = spec.Id,
        Url = spec.Url,
        Version = ReferralValueSets.Version,
        Name = ToDefinitionName(spec),
        Title = spec.Title,
        Status = PublicationStatus.Active,
        Kind = OperationDefinition.OperationKind.Operation,
        Experimental = false,
        Publisher = ReferralProfiles.Publisher,
        Description = spec.Description,
        AffectsState = spec.AffectsState,
        Code = spec.Code,
        Resource = [Enum.Parse<ResourceType>(spec.Resource)],
        System = false,
        Type = !spec.Instance,
        Instance = spec.Instance,
        Parameter = [.. spec.Parameters.Select(ToParameter)],
        InputProfile = spec.InputProfileUrl,
    };

    private static OperationDefinition.ParameterComponent ToParameter(OperationParam parameter) => new()
    {
        Name = parameter.Name,
        Use = parameter.Use,
        Min = parameter.Min,
        Max = parameter.Max,
        Documentation = parameter.Documentation,
        Type = parameter.Type is null ? null : Enum.Parse<FHIRAllTypes>(parameter.Type, ignoreCase: true),
        Part = parameter.Parts is null ? [] : [.. parameter.Parts.Select(ToParameter)],
    };
}

using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Specification.Snapshot;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using Referral.Model;
using Referral.Model.Conformance;
using Referral.Model.Fhir;
using Referral.Model.Terminology;

namespace Referral.Functions.Conformance;

/// <summary>
/// The product's FHIR package (the npm-style layout of the FHIR package specification: <c>package/package.json</c>,
/// <c>package/.index.json</c> and one JSON file per resource), built once from the shared model's code, with snapshots
/// from Firely's SnapshotGenerator on the core R4 specification; and Firely's validator over the package and the core
/// specification. Made once per process (a singleton): reading the core specification takes seconds.
/// </summary>
public sealed partial class ReferralPackage
{
    /// <summary>The package's name in the FHIR package registries' convention (lower case, dot-separated).</summary>
    public const string Name = "medical-massage-referral.fhir";

    /// <summary>Where the API serves the package: the canonical base's path under the API (<c>/api/fhir</c>).</summary>
    public const string Route = "/api/fhir/package.tgz";

    /// <summary>The day version <see cref="ReferralValueSets.Version"/> of the package was published: the resources' date.</summary>
    public static readonly DateTimeOffset Published = new(2026, 12, 3, 0, 0, 0, TimeSpan.Zero);

    // One load per process, on the thread pool: the API's warm-up starts it at app start (PackageWarmUp), and whoever
    // needs the package before it is done (a submit, a test, the benchmark) waits for that same load.
    private static readonly Lazy<Task<ReferralPackage>> Loading = new(() => Task.Run(() => new ReferralPackage()));

    private readonly Validator validator;

    /// <summary>The one package of this process; waits for its load (started here if nobody started it).</summary>
    public static ReferralPackage Instance => Loading.Value.GetAwaiter().GetResult();

    /// <summary>The process's one load of the package: started by the first caller, shared by all.</summary>
    public static Task<ReferralPackage> LoadAsync() => Loading.Value;

    private ReferralPackage()
    {
        var core = new CachedResolver(ZipSource.CreateValidationSource());
        IReadOnlyList<StructureDefinition> definitions = [.. ReferralProfiles.All(), .. ReferralOperations.InputProfiles()];
        var local = new InMemoryResourceResolver();
        Resources =
        [
            .. definitions,
            .. ConformanceArtifacts.ValueSets(),
            .. ConformanceArtifacts.CodeSystems(),
            .. ReferralOperations.Definitions(),
            .. PackageSearchParameters.Definitions(PackageSearchParameters.Searches, Published),
            PackageCapabilityStatement(),
        ];
        local.Add(Resources);
        Resolver = new CachedResolver(new MultiResolver(local, core));

        var generator = new SnapshotGenerator(Resolver, SnapshotGeneratorSettings.CreateDefault());
        foreach (var definition in definitions)
        {
            // Once per process, before the first request: blocking here costs nothing a request waits for.
            generator.UpdateAsync(definition).GetAwaiter().GetResult();
            if (generator.Outcome is { } outcome && outcome.Issue.Any(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal))
            {
                throw new InvalidOperationException($"The snapshot of {definition.Url} could not be generated: {string.Join("; ", outcome.Issue.Select(i => i.Details?.Text ?? i.Diagnostics))}");
            }
        }

        local.Reload(Resources);
        validator = new Validator(Resolver, new LocalTerminologyService(Resolver));
        Tarball = BuildTarball(Resources);

        // The validator compiles each profile on first use (seconds): do it here, once, not in the first request.
        validator.Validate(new ServiceRequest(), Canonicals.MedicalMassageServiceRequestProfile);
        validator.Validate(new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "warm-up", Value = new FhirString("x") }] });
        foreach (var operation in ReferralOperations.All)
        {
            validator.Validate(new Parameters(), operation.InputProfileUrl);
        }
    }

    /// <summary>Every resource of the package, snapshots included.</summary>
    public IReadOnlyList<Resource> Resources { get; }

    /// <summary>The package's resources, then the core R4 specification.</summary>
    public IAsyncResourceResolver Resolver { get; }

    /// <summary>The package as a gzipped tar (<c>application/gzip</c>), as the FHIR package registries serve it.</summary>
    public byte[] Tarball { get; }

    /// <summary>
    /// Firely's validator: the resource against the profile (or, with none, its core definition and any meta.profile).
    /// Concurrent calls run at once, not one after another: the validator keeps no state of a validation between calls
    /// (its compiled schemas and the resolvers are caches Firely makes safe for that), so submissions on every core
    /// are judged in parallel instead of queueing on one lock.
    /// </summary>
    public OperationOutcome Validate(Resource resource, string? profile = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return validator.Validate(resource, profile);
    }

    /// <summary>
    /// The errors Firely's validator finds in <paramref name="resource"/> against <paramref name="profile"/> (or its core
    /// definition), in the API's OperationOutcome shape: rule <see cref="ValidationRules.Profile"/>, the validator's text,
    /// and in issue.expression the element (an invariant's element, a missing member's path, no [0] on single elements).
    /// Warnings (an extension published elsewhere, a code system not held here) are not refusals and are left out.
    /// </summary>
    public IReadOnlyList<OperationOutcome.IssueComponent> Check(Resource resource, string? profile = null)
    {
        var outcome = Validate(resource, profile);
        return
        [
            .. outcome.Issue
                .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
                .Select(i =>
                {
                    var text = i.Details?.Text ?? i.Diagnostics ?? "The resource does not conform to its profile.";
                    return Outcomes.Error(ValidationRules.Profile, i.Code ?? OperationOutcome.IssueType.Invalid, ExpressionOf(resource, i, text), text);
                }),
        ];
    }

    private static string ExpressionOf(Resource resource, OperationOutcome.IssueComponent issue, string text)
    {
        var invariant = MessagePattern.Match(text);
        if (invariant.Success && invariant.Groups["key"].Success && ReferralProfiles.InvariantElements.TryGetValue(invariant.Groups["key"].Value, out var element))
        {
            return element;
        }

        var path = Normalize(resource, issue.Expression?.FirstOrDefault() ?? issue.Location?.FirstOrDefault() ?? resource.TypeName);
        return invariant.Success && invariant.Groups["member"].Success ? $"{path}.{invariant.Groups["member"].Value}" : path;
    }

    /// <summary>Firely's path (<c>ServiceRequest.occurrence[0].repeat[0].count[0]</c>) with indexes only on repeating elements.</summary>
    private static string Normalize(Resource resource, string path)
    {
        var segments = path.Split('.');
        var result = new List<string> { segments[0] };
        object? current = resource;
        foreach (var segment in segments.Skip(1))
        {
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? segment : segment[..bracket];
            var index = bracket < 0 ? 0 : int.TryParse(segment[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : 0;
            if (current is Base node && node.TryGetValue(name, out var value) && value is System.Collections.IList list)
            {
                current = index < list.Count ? list[index] : null;
                // A Parameters' parameter (or part) is named by its name, as the operations name them.
                result.Add(current is Parameters.ParameterComponent { Name: { } parameterName }
                    ? $"{name}.where(name='{parameterName}')"
                    : $"{name}[{index}]");
            }
            else
            {
                result.Add(name);
                current = current is Base parent && parent.TryGetValue(name, out var single) ? single : null;
            }
        }

        return string.Join('.', result);
    }

    /// <summary>The parts of Firely's messages that name an element: an invariant's key, a missing or over-counted member.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(
        @"constraint (?<key>[a-z]+-\d+)|Missing required member: '(?<member>[A-Za-z]+)'|Instance count at element '(?<member>[A-Za-z]+)'",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial System.Text.RegularExpressions.Regex MessageRegex();

    private static System.Text.RegularExpressions.Regex MessagePattern => MessageRegex();

    private static CapabilityStatement PackageCapabilityStatement()
    {
        var statement = ConformanceArtifacts.CreateCapabilityStatement(Published);
        foreach (var resource in statement.Rest[0].Resource)
        {
            resource.Operation.AddRange(ReferralOperations.All.Where(o => o.Resource == resource.Type).Select(o =>
                new CapabilityStatement.OperationComponent { Name = o.Code, Definition = o.Url, Documentation = o.Description }));
        }

        // The searches beyond core FHIR, each with its SearchParameter of this package as its definition.
        foreach (var search in PackageSearchParameters.Searches)
        {
            if (statement.Rest[0].Resource.FirstOrDefault(r => r.Type == search.ResourceType) is not { } resource)
            {
                resource = new CapabilityStatement.ResourceComponent
                {
                    Type = search.ResourceType,
                    Interaction = [new CapabilityStatement.ResourceInteractionComponent { Code = CapabilityStatement.TypeRestfulInteraction.SearchType }],
                };
                statement.Rest[0].Resource.Add(resource);
            }
            else if (!resource.Interaction.Any(i => i.Code == CapabilityStatement.TypeRestfulInteraction.SearchType))
            {
                resource.Interaction.Add(new CapabilityStatement.ResourceInteractionComponent { Code = CapabilityStatement.TypeRestfulInteraction.SearchType });
            }

            resource.SearchParam.AddRange(search.Parameters.Select(p => new CapabilityStatement.SearchParamComponent
            {
                Name = p.Name,
                Type = p.Type,
                Documentation = p.Documentation,
                Definition = PackageSearchParameters.IsCore(search.ResourceType, p.Name) ? null : PackageSearchParameters.Url(search.ResourceType, p.Name),
            }));
        }

        statement.Rest[0].Resource.Single(r => r.Type == "Task").SupportedProfile = [ReferralProfiles.TaskProfile];
        statement.Rest[0].Resource.Single(r => r.Type == "Procedure").SupportedProfile = [ReferralProfiles.ProcedureProfile];
        statement.Rest[0].Resource.Single(r => r.Type == "Observation").SupportedProfile = [ReferralProfiles.ObservationProfile];
        return statement;
    }

    private static byte[] BuildTarball(IReadOnlyList<Resource> resources)
    {
        var serializer = new FhirJsonSerializer();
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Ustar, leaveOpen: true))
        {
            Write(tar, "package/package.json", PackageJson());
            var files = resources.Select(r => (Resource: r, File: $"{r.TypeName}-{r.Id}.json")).ToList();
            Write(tar, "package/.index.json", IndexJson(files));
            foreach (var (resource, file) in files)
            {
                Write(tar, "package/" + file, System.Text.Encoding.UTF8.GetBytes(serializer.SerializeToString(resource)));
            }
        }

        return buffer.ToArray();
    }

    private static void Write(TarWriter tar, string path, byte[] content)
    {
        using var data = new MemoryStream(content);
        tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, path)
        {
            DataStream = data,
            ModificationTime = Published,
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        });
    }

    private static byte[] PackageJson() => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["name"] = Name,
        ["version"] = ReferralValueSets.Version,
        ["description"] = "Medical-massage referral: the referral ServiceRequest, its Task, the session Procedure and Observations, their terminology and the API's operations.",
        ["author"] = ReferralProfiles.Publisher,
        ["canonical"] = Canonicals.Base,
        ["url"] = Canonicals.Base,
        ["fhirVersions"] = FhirVersions,
        ["type"] = "fhir.ig",
        ["license"] = "CC0-1.0",
        ["date"] = Published.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture),
        ["dependencies"] = new Dictionary<string, string> { ["hl7.fhir.r4.core"] = "4.0.1" },
    }, IndentedJson);

    private static byte[] IndexJson(IEnumerable<(Resource Resource, string File)> files) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["index-version"] = 1,
        ["files"] = files.Select(f => IndexEntry(f.Resource, f.File)).ToList(),
    }, IndentedJson);

    private static Dictionary<string, string> IndexEntry(Resource resource, string file)
    {
        var entry = new Dictionary<string, string> { ["filename"] = file, ["resourceType"] = resource.TypeName, ["id"] = resource.Id ?? "" };
        if (resource is IVersionableConformanceResource conformance)
        {
            entry["url"] = conformance.Url;
            entry["version"] = conformance.Version;
        }

        if (resource is StructureDefinition definition)
        {
            entry["kind"] = definition.Kind?.ToString().ToLowerInvariant() ?? "";
            entry["type"] = definition.Type ?? "";
            if (definition.Kind == StructureDefinition.StructureDefinitionKind.ComplexType)
            {
                entry["kind"] = "complex-type";
            }

            entry["derivation"] = "constraint";
        }

        return entry;
    }

    private static readonly string[] FhirVersions = ["4.0.1"];

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };
}

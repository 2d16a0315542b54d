using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Referral.Tests.Deployment;

/// <summary>
/// The ARM template the test build compiles from infra/main.bicep (the CheckInfrastructure target of this project),
/// read as JSON. Each Bicep module compiles to a nested deployment with its own template, so the checks walk them all.
/// </summary>
public sealed class ArmTemplate
{
    private ArmTemplate(IReadOnlyList<Template> templates) => Templates = templates;

    /// <summary>The main template first, then every nested deployment's template.</summary>
    public IReadOnlyList<Template> Templates { get; }

    /// <summary>Every resource the deployment creates (references to existing resources left out).</summary>
    public IEnumerable<Resource> Resources => Templates.SelectMany(t => t.Resources);

    public IEnumerable<Resource> OfType(string type) =>
        Resources.Where(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase));

    public Resource Only(string type) => Assert.Single(OfType(type));

    public static async Task<ArmTemplate> LoadAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "deployment", "main.json");
        Assert.True(File.Exists(path), $"{path} is missing: the test build compiles it from infra/main.bicep.");
        await using var stream = File.OpenRead(path);
        var root = await JsonNode.ParseAsync(stream, cancellationToken: cancellationToken);
        var templates = new List<Template>();
        Collect(new Template("main", root!.AsObject()), templates);
        return new ArmTemplate(templates);
    }

    private static void Collect(Template template, List<Template> into)
    {
        into.Add(template);
        foreach (var deployment in template.Resources.Where(r => r.Type == "Microsoft.Resources/deployments"))
        {
            Collect(new Template(deployment.Name, deployment.Properties["template"]!.AsObject()), into);
        }
    }
}

/// <summary>One template: the main one or a module's.</summary>
public sealed partial class Template(string deploymentName, JsonObject json)
{
    public string DeploymentName { get; } = deploymentName;

    public JsonObject Json { get; } = json;

    public JsonObject Parameters => Json["parameters"] as JsonObject ?? [];

    public JsonObject Outputs => Json["outputs"] as JsonObject ?? [];

    /// <summary>
    /// Its resources. Templates with languageVersion 2.0 (Bicep emits them where a file uses imported types) key
    /// resources by symbolic name instead of listing them, and describe referenced resources with "existing": true.
    /// </summary>
    public IReadOnlyList<Resource> Resources
    {
        get
        {
            var resources = Json["resources"] switch
            {
                JsonArray list => list.Select(r => r!.AsObject()),
                JsonObject byName => byName.Select(r => r.Value!.AsObject()),
                _ => [],
            };
            return [.. resources
                .Where(r => r["existing"]?.GetValue<bool>() != true)
                .Select(r => new Resource(this, r))];
        }
    }

    /// <summary>The type of a parameter or output, following a "$ref" to an imported type's definition.</summary>
    public string TypeOf(JsonNode declaration)
    {
        if (declaration["$ref"]?.GetValue<string>() is { } reference)
        {
            var definition = Json["definitions"]?[reference.Replace("#/definitions/", "", StringComparison.Ordinal)];
            return definition is null ? "(unknown)" : TypeOf(definition);
        }

        return declaration["type"]?.GetValue<string>() ?? "(unknown)";
    }

    /// <summary>The value a "[variables('name')]" expression stands for; any other value as it is.</summary>
    public JsonNode? Resolve(JsonNode? value)
    {
        if (value is JsonValue text && text.TryGetValue<string>(out var expression)
            && VariableReference().Match(expression) is { Success: true } match)
        {
            return Json["variables"]?[match.Groups[1].Value];
        }

        return value;
    }

    [GeneratedRegex(@"^\[variables\('([^']+)'\)\]$")]
    private static partial Regex VariableReference();
}

/// <summary>One resource of a template.</summary>
public sealed partial class Resource(Template template, JsonObject json)
{
    public Template Template { get; } = template;

    public JsonObject Json { get; } = json;

    public string Type => Json["type"]!.GetValue<string>();

    public string Name => Json["name"]!.GetValue<string>();

    public string Kind => Json["kind"]?.GetValue<string>() ?? "";

    public JsonObject Properties => Json["properties"]?.AsObject() ?? [];

    /// <summary>The resource type an extension resource (role assignment, diagnostic setting) is scoped to.</summary>
    public string ScopeType =>
        Json["scope"]?.GetValue<string>() is { } scope && ResourceIdType().Match(scope) is { Success: true } match
            ? match.Groups[1].Value
            : "(resource group)";

    /// <summary>The built-in role a role assignment grants.</summary>
    public string RoleId =>
        RoleGuid().Match(Properties["roleDefinitionId"]?.GetValue<string>() ?? "") is { Success: true } match
            ? match.Groups[1].Value
            : "(not a literal built-in role)";

    /// <summary>A property as JSON text, so literal values compare exactly ("true", "\"TLS1_2\"").</summary>
    public static string Literal(JsonNode? node) => node?.ToJsonString() ?? "(absent)";

    [GeneratedRegex(@"^\[resourceId\('([^']+)'")]
    private static partial Regex ResourceIdType();

    [GeneratedRegex(@"'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'")]
    private static partial Regex RoleGuid();
}

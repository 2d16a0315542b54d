using System.Text.RegularExpressions;
using Referral.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Referral.Tests.Deployment;

/// <summary>
/// azure.yaml, the azd project, read as azd reads it (YAML) and checked against the rules of azd's published schema
/// (https://raw.githubusercontent.com/Azure/azure-dev/main/schemas/v1.0/azure.yaml.json, draft 2019-09) for every
/// property it uses: the schema itself cannot be fetched here (no internet) nor copied into the repository, so its
/// rules for those properties are restated below. Beyond the schema: each service's project builds, the template
/// tags an app of the right kind with the service's name (azd finds the app by that tag), and no .NET service relies
/// on an <c>env:</c> block, which azd ignores when it publishes .NET.
/// </summary>
public sealed partial class AzdProjectTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The schema's top-level properties (additionalProperties is true, but a misspelt key would be silently ignored by azd).</summary>
    private static readonly string[] TopLevel =
        ["name", "resourceGroup", "metadata", "infra", "services", "resources", "pipeline", "hooks", "requiredVersions", "state", "platform", "workflows", "cloud"];

    /// <summary>The service properties of the schema.</summary>
    private static readonly string[] ServiceProperties =
        ["apiVersion", "resourceGroup", "resourceName", "project", "image", "host", "language", "module", "dist", "remoteBuild", "docker", "k8s", "config", "uses", "env", "hooks"];

    private static YamlMappingNode Project()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Repository.PathTo("azure.yaml"));
        yaml.Load(reader);
        return Assert.IsType<YamlMappingNode>(Assert.Single(yaml.Documents).RootNode);
    }

    private static string Scalar(YamlMappingNode node, string key) =>
        Assert.IsType<YamlScalarNode>(node.Children[new YamlScalarNode(key)], exactMatch: false).Value!;

    private static Dictionary<string, YamlMappingNode> Services() =>
        Assert.IsType<YamlMappingNode>(Project().Children[new YamlScalarNode("services")])
            .Children.ToDictionary(s => ((YamlScalarNode)s.Key).Value!, s => Assert.IsType<YamlMappingNode>(s.Value), StringComparer.Ordinal);

    [Fact]
    public void Azure_yaml_keeps_to_the_azd_schema_rules_for_every_property_it_uses()
    {
        var project = Project();
        var keys = project.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!).ToList();
        Assert.All(keys, k => Assert.Contains(k, TopLevel));

        // name: required, a string of 2 or more, lowercase letters, digits and inner hyphens.
        var name = Scalar(project, "name");
        Assert.True(name.Length >= 2 && AppName().IsMatch(name), $"name '{name}' breaks the schema's pattern");

        // infra: provider matches ^[a-z0-9.]+$ and is bicep here; path and module are strings naming a template that exists.
        var infra = Assert.IsType<YamlMappingNode>(project.Children[new YamlScalarNode("infra")]);
        Assert.Equal("bicep", Scalar(infra, "provider"));
        Assert.Matches("^[a-z0-9.]+$", Scalar(infra, "provider"));
        Assert.True(File.Exists(Repository.PathTo(Scalar(infra, "path"), Scalar(infra, "module") + ".bicep")));
        Assert.True(File.Exists(Repository.PathTo(Scalar(infra, "path"), Scalar(infra, "module") + ".parameters.json")), "azd reads <module>.parameters.json beside the template");

        // services: at least one; each an object with a string host, known properties only, a language azd knows.
        var services = Services();
        Assert.NotEmpty(services);
        foreach (var (service, definition) in services)
        {
            Assert.All(definition.Children.Keys.Cast<YamlScalarNode>(), k => Assert.Contains(k.Value!, ServiceProperties));
            Assert.Contains(Scalar(definition, "host"), new[] { "appservice", "containerapp", "function", "springapp", "staticwebapp", "aks" });
            Assert.Contains(Scalar(definition, "language"), new[] { "dotnet", "csharp", "fsharp", "py", "python", "js", "ts", "java", "go", "golang", "docker" });
            Assert.False(definition.Children.ContainsKey(new YamlScalarNode("image")) && definition.Children.ContainsKey(new YamlScalarNode("project")), $"{service}: project and image together are invalid");
        }
    }

    [Fact]
    public void Every_azd_service_is_a_project_that_builds_and_no_dotnet_service_relies_on_an_env_block()
    {
        foreach (var (service, definition) in Services())
        {
            var folder = Repository.PathTo(Scalar(definition, "project").TrimStart('.', '/'));
            Assert.True(Directory.Exists(folder), $"{service}: {folder} is missing");
            Assert.Single(Directory.GetFiles(folder, "*.csproj"));
            // azd publishes .NET with dotnet publish and never applies env: to the app; settings live in the
            // project files and the Bicep's app settings.
            Assert.False(definition.Children.ContainsKey(new YamlScalarNode("env")), $"{service}: azd ignores env: when it publishes .NET");
        }
    }

    [Fact]
    public async Task The_template_tags_one_app_of_the_right_kind_with_each_azd_service_name()
    {
        var template = await ArmTemplate.LoadAsync(Ct);
        var sites = template.OfType("Microsoft.Web/sites").ToList();
        // The modules merge the tag into the common ones: union(parameters('tags'), createObject('azd-service-name', ...)).
        static bool Tagged(Resource site, string service) =>
            site.Json["tags"]?.ToString().Contains($"'azd-service-name', '{service}'", StringComparison.Ordinal) == true;
        foreach (var (service, definition) in Services())
        {
            var app = Assert.Single(sites, s => Tagged(s, service));
            Assert.Equal(Scalar(definition, "host") == "function", app.Kind.Split(',').Contains("functionapp"));
        }

        Assert.Equal(Services().Count, sites.Count(s => s.Json["tags"]?.ToString().Contains("azd-service-name", StringComparison.Ordinal) == true));
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex AppName();
}

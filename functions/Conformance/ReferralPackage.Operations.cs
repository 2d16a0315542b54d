using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Referral.Model.Conformance;
using Referral.Model.Fhir;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Referral.Functions.Conformance;

/// <summary>An operation's Parameters judged by Firely's validator on the operation's input profile.</summary>
public sealed partial class ReferralPackage
{
    /// <summary>
    /// The errors Firely's validator finds in <paramref name="parameters"/> against <paramref name="operation"/>'s input
    /// profile (its OperationDefinition's <c>inputProfile</c>: the parameters by name, cardinality and type), each naming
    /// the parameter in issue.expression (<c>Parameters.parameter.where(name='minutes').value</c>) and saying in words
    /// what the operation takes. Empty when the body is a call of the operation as it is defined.
    /// </summary>
    public IReadOnlyList<OperationOutcome.IssueComponent> CheckInput(Parameters parameters, OperationSpec operation)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(operation);
        var outcome = Validate(parameters, operation.InputProfileUrl);
        var issues = new List<OperationOutcome.IssueComponent>();
        foreach (var issue in outcome.Issue.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal))
        {
            var text = issue.Details?.Text ?? issue.Diagnostics ?? "";
            var location = Normalize(parameters, issue.Expression?.FirstOrDefault() ?? issue.Location?.FirstOrDefault() ?? "Parameters");
            // An operation that takes no parameters: its profile allows none, and each one sent is named.
            var explained = location == "Parameters" && text.StartsWith("Instance count at element 'parameter'", StringComparison.Ordinal) && !operation.Inputs.Any()
                ? parameters.Parameter.Select(p => (IssueType.Structure, $"Parameters.parameter.where(name='{p.Name}')", $"${operation.Code} takes no parameters; not '{p.Name}'."))
                : [Explain(operation, location, text)];
            foreach (var (type, expression, message) in explained)
            {
                if (!issues.Any(i => i.Expression.Contains(expression)))
                {
                    issues.Add(Outcomes.Error(ValidationRules.Profile, type, expression, message));
                }
            }
        }

        return issues;
    }

    private static (IssueType Type, string Expression, string Message) Explain(OperationSpec operation, string location, string text)
    {
        if (MissingSlice().Match(text) is { Success: true } missing)
        {
            var expression = $"{location}.{missing.Groups["list"].Value}.where(name='{missing.Groups["name"].Value}')";
            var parameter = Find(operation, expression);
            return (IssueType.Required, expression, $"'{parameter?.Name ?? missing.Groups["name"].Value}' is required: {Describe(parameter)}.");
        }

        if (SliceCount().Match(text) is { Success: true } count && Split(location).Name != count.Groups["slice"].Value)
        {
            var expression = $"{location}.{count.Groups["list"].Value}.where(name='{count.Groups["slice"].Value}')";
            return (IssueType.Structure, expression, count.Groups["max"].Value == "1"
                ? $"'{count.Groups["slice"].Value}' may be given once."
                : $"'{count.Groups["slice"].Value}' is given {count.Groups["count"].Value} times; {count.Groups["min"].Value} to {count.Groups["max"].Value} are allowed.");
        }

        if (text.Contains("does not match any slice and the group is closed", StringComparison.Ordinal))
        {
            var (parent, name) = Split(location);
            var siblings = parent is null ? [.. operation.Inputs] : Find(operation, parent)?.Parts ?? [];
            var owner = parent is null ? $"${operation.Code}" : $"'{Find(operation, parent)?.Name}'";
            return (IssueType.Structure, location, siblings.Count == 0
                ? $"{owner} takes no parameters; not '{name}'."
                : $"{owner} takes {string.Join(", ", siblings.Select(p => $"'{p.Name}'"))}; not '{name}'.");
        }

        var named = Find(operation, location.EndsWith(".value", StringComparison.Ordinal) ? location[..^".value".Length] : location);
        if (named is not null && (WrongType().IsMatch(text) || text.Contains(ReferralOperations.ValueInvariant, StringComparison.Ordinal) || MemberCount().IsMatch(text)))
        {
            var path = Find(operation, location) is null && location.EndsWith(".value", StringComparison.Ordinal) ? location : location + (named.Type is null ? "" : ".value");
            return (IssueType.Structure, path, text.Contains(ReferralOperations.ValueInvariant, StringComparison.Ordinal)
                ? $"'{named.Name}' has no value (only extensions); it is {Describe(named)}."
                : $"'{named.Name}' is {Describe(named)}.");
        }

        return (IssueType.Invalid, location, text);
    }

    /// <summary>What a parameter is, in the words of its definition: its type as FHIR JSON names it, or its parts.</summary>
    private static string Describe(OperationParam? parameter) => parameter switch
    {
        null => "a parameter of this operation",
        { Type: null, Parts: { } parts } => $"a parameter with the parts {string.Join(", ", parts.Select(p => $"'{p.Name}'"))} ({parameter.Documentation})",
        { Type: { } type } when Hl7.Fhir.Model.ModelInfo.IsKnownResource(type) => $"a resource, a {type} ({parameter.Documentation})",
        { Type: { } type } => $"{string.Join(" or ", parameter.AlsoAccepts.Prepend(type).Select(t => "a value" + char.ToUpperInvariant(t[0]) + t[1..]))} ({parameter.Documentation})",
        _ => parameter.Documentation,
    };

    /// <summary>The parameter (or part) a path of <c>where(name='...')</c> steps names, or null.</summary>
    private static OperationParam? Find(OperationSpec operation, string path)
    {
        var names = NameStep().Matches(path).Select(m => m.Groups["name"].Value).ToList();
        if (names.Count == 0 || !path.EndsWith("')", StringComparison.Ordinal))
        {
            return null;
        }

        IReadOnlyList<OperationParam> level = [.. operation.Inputs];
        OperationParam? found = null;
        foreach (var name in names)
        {
            found = level.FirstOrDefault(p => p.Name == name);
            if (found is null)
            {
                return null;
            }

            level = found.Parts ?? [];
        }

        return found;
    }

    /// <summary>A parameter's path split into its parent parameter's path (null at the top) and its own name.</summary>
    private static (string? Parent, string Name) Split(string path)
    {
        var last = NameStep().Matches(path).LastOrDefault();
        if (last is null)
        {
            return (null, path);
        }

        var parent = path[..last.Index].TrimEnd('.');
        parent = parent.EndsWith(".part", StringComparison.Ordinal) ? parent[..^".part".Length] : parent.EndsWith(".parameter", StringComparison.Ordinal) ? null : parent;
        return (parent, last.Groups["name"].Value);
    }

    [GeneratedRegex(@"where\(name='(?<name>[^']*)'\)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex NameStep();

    [GeneratedRegex(@"No elements matched required slice: '(?<list>parameter|part):(?<name>[^']+)'", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex MissingSlice();

    [GeneratedRegex(@"Instance count at element '(?<list>parameter|part)' is (?<count>\d+), which is not within the specified cardinality of (?<min>\d+)\.\.(?<max>[\d*]+) \(for slice (?<slice>[^)]+)\)",
        RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex SliceCount();

    [GeneratedRegex(@"Instance count at element '(value|resource|part)'|Missing required member: '(value|resource)'", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex MemberCount();

    [GeneratedRegex(@"declared type of the element \([^)]*\) is incompatible", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex WrongType();
}

using Hl7.Fhir.Model;

namespace Referral.Model.Fhir;

/// <summary>Builds the OperationOutcome issues every check in the model reports.</summary>
public static class Outcomes
{
    public static OperationOutcome.IssueComponent Error(string rule, OperationOutcome.IssueType type, string? expression, string message) =>
        Issue(OperationOutcome.IssueSeverity.Error, rule, type, expression, message);

    public static OperationOutcome.IssueComponent Warning(string rule, OperationOutcome.IssueType type, string? expression, string message) =>
        Issue(OperationOutcome.IssueSeverity.Warning, rule, type, expression, message);

    /// <summary>The issues that are problems (fatal, error, warning): an "all OK" information issue is not one.</summary>
    public static IReadOnlyList<OperationOutcome.IssueComponent> Problems(this OperationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return [.. outcome.Issue.Where(i => i.Severity is not OperationOutcome.IssueSeverity.Information)];
    }

    /// <summary>True when nothing is fatal or an error; warnings do not make a resource invalid.</summary>
    public static bool IsValid(this OperationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return !outcome.Issue.Any(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);
    }

    /// <summary>An OperationOutcome from <paramref name="issues"/>; FHIR needs at least one issue, so none becomes "all OK".</summary>
    public static OperationOutcome From(IEnumerable<OperationOutcome.IssueComponent> issues)
    {
        var outcome = new OperationOutcome { Issue = [.. issues] };
        if (outcome.Issue.Count == 0)
        {
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Information,
                Code = OperationOutcome.IssueType.Informational,
                Diagnostics = "No issues found.",
            });
        }

        return outcome;
    }

    /// <summary>The rule code (validation-rule code system) an issue was raised by, or null for parser issues.</summary>
    public static string? RuleOf(this OperationOutcome.IssueComponent issue)
    {
        ArgumentNullException.ThrowIfNull(issue);
        return issue.Details?.Coding.FirstOrDefault(c => c.System == Canonicals.ValidationRuleSystem)?.Code;
    }

    private static OperationOutcome.IssueComponent Issue(
        OperationOutcome.IssueSeverity severity, string rule, OperationOutcome.IssueType type, string? expression, string message)
    {
        var issue = new OperationOutcome.IssueComponent
        {
            Severity = severity,
            Code = type,
            Details = new CodeableConcept(Canonicals.ValidationRuleSystem, rule, ValidationRules.Describe(rule), message),
        };
        if (expression is not null)
        {
            issue.Expression = [expression];
        }

        return issue;
    }
}

using Hl7.Fhir.Model;

namespace Referral.Functions.Fhir;

/// <summary>Errors as FHIR <c>OperationOutcome</c>s, naming the element at fault (FHIRPath in <c>issue.expression</c>).</summary>
public static class Outcome
{
    public static FhirResult Error(int statusCode, OperationOutcome.IssueType code, string diagnostics, params string[] expressions) =>
        new(Issue(code, diagnostics, expressions), statusCode);

    public static FhirResult BadRequest(string diagnostics, params string[] expressions) =>
        Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid, diagnostics, expressions);

    /// <summary>One answer for "absent" and "not yours", so a denial never tells whether the resource exists.</summary>
    public static FhirResult NotFound(string type, string id) =>
        Error(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound, $"{type}/{id} is not known.");

    public static FhirResult Forbidden(string diagnostics) =>
        Error(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden, diagnostics);

    public static FhirResult Of(OperationOutcome outcome, int statusCode) => new(outcome, statusCode);

    public static OperationOutcome Issue(OperationOutcome.IssueType code, string diagnostics, params string[] expressions)
    {
        var issue = new OperationOutcome.IssueComponent
        {
            Severity = OperationOutcome.IssueSeverity.Error,
            Code = code,
            Diagnostics = diagnostics,
        };
        if (expressions.Length > 0)
        {
            issue.Expression = expressions;
        }

        return new OperationOutcome { Issue = [issue] };
    }
}

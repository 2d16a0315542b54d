using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
using Referral.Model.Conformance;
using Referral.Model.Fhir;
using Referral.Model.Tasks;

namespace Referral.Functions.Referrals;

/// <summary>What a transition's Parameters body carries: the reason, and on <c>$complete</c> the discharge summary.</summary>
public sealed record TransitionInput(string? Reason, string? Outcome, string? Recommendations)
{
    public static TransitionInput None { get; } = new(null, null, null);
}

/// <summary>What <c>$request-renewal</c>'s Parameters body carries.</summary>
public sealed record RenewalInput(string Reason, int? Sessions);

/// <summary>What <c>$approve-renewal</c>'s Parameters body carries: the sessions added and the validity's new last day.</summary>
public sealed record RenewalApprovalInput(int Sessions, DateOnly ValidUntil);

/// <summary>
/// The Parameters bodies of the Task operations, read after Firely's validator has judged them on the operation's input
/// profile (<see cref="FhirBody.ReadParametersAsync(HttpRequest, OperationSpec?, CancellationToken)"/>: no unknown or
/// repeated parameter, none missing, each of its type). What is left is what a profile does not say: a string that breaks
/// the rules of every input (<see cref="InputRules"/>: control characters, markup), ranges and a date with a day, each a
/// 400 naming the parameter (FHIRPath in issue.expression).
/// </summary>
public static class TaskParameters
{
    public const string CompleteOperation = "complete";
    public const string RequestRenewalOperation = "request-renewal";
    public const string ApproveRenewalOperation = "approve-renewal";
    public const string DeclineRenewalOperation = "decline-renewal";
    public const string MessageOperation = "message";
    public const string HoldOperation = "hold";
    public const string ResumeOperation = "resume";

    /// <summary>The longest question or answer on a referral.</summary>
    public const int MaxMessageLength = 2000;

    public static string Path(string name) => $"Parameters.parameter.where(name='{name}')";

    /// <summary>The definition of a Task operation of this API (its parameters, its input profile).</summary>
    public static OperationSpec Operation(string code) => ReferralOperations.Find("Task", code);

    public static (TransitionInput? Input, FhirResult? Error) ReadTransition(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(parameters) is { } refused)
        {
            return (null, refused);
        }

        // The profile lets 'reason' be a valueString or a valueCodeableConcept (whose text, or first coding's display, is read).
        var reason = parameters.Parameter.FirstOrDefault(p => p.Name == "reason")?.Value switch
        {
            FhirString text => text.Value,
            CodeableConcept concept => concept.Text ?? concept.Coding.FirstOrDefault()?.Display,
            _ => null,
        };
        return (new TransitionInput(reason, Text(parameters, "outcome"), Text(parameters, "recommendations")), null);
    }

    /// <summary><c>$request-renewal</c>: <c>reason</c> (required) and <c>sessions</c>, the additional sessions asked for.</summary>
    public static (RenewalInput? Input, FhirResult? Error) ReadRenewal(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(parameters) is { } refused)
        {
            return (null, refused);
        }

        if (Text(parameters, "reason") is not { } reason)
        {
            return (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'reason' is required: a valueString saying why the patient needs more sessions.", Path("reason")));
        }

        var sessions = Value<Integer>(parameters, "sessions")?.Value;
        if (sessions is < 1 or > ReferralTasks.MaxRenewalSessions)
        {
            return (null, Outcome.BadRequest($"'sessions' (the additional sessions asked for) is 1 to {ReferralTasks.MaxRenewalSessions}.", $"{Path("sessions")}.value"));
        }

        return (new RenewalInput(reason, sessions), null);
    }

    /// <summary><c>$approve-renewal</c>: <c>sessions</c> (the sessions added) and <c>validUntil</c> (a day), both required.</summary>
    public static (RenewalApprovalInput? Input, FhirResult? Error) ReadApproval(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(parameters) is { } refused)
        {
            return (null, refused);
        }

        var sessions = Value<Integer>(parameters, "sessions")!.Value!.Value;
        if (!FhirTime.TryDate(Value<Date>(parameters, "validUntil")!.Value, out var until))
        {
            return (null, Outcome.BadRequest("'validUntil' is a valueDate with a day (YYYY-MM-DD).", $"{Path("validUntil")}.value"));
        }

        return (new RenewalApprovalInput(sessions, until), null);
    }

    /// <summary><c>$message</c>: <c>text</c> (required), plain text, 1 to <see cref="MaxMessageLength"/> characters.</summary>
    public static (string? Text, FhirResult? Error) ReadMessage(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(parameters) is { } refused)
        {
            return (null, refused);
        }

        return Text(parameters, "text") switch
        {
            null => (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'text' is required: a valueString, the question or answer.", Path("text"))),
            { Length: > MaxMessageLength } => (null, Outcome.BadRequest($"'text' is at most {MaxMessageLength} characters.", $"{Path("text")}.value")),
            var text => (text, null),
        };
    }

    /// <summary><c>$decline-renewal</c>: <c>reason</c> (required).</summary>
    public static (string? Reason, FhirResult? Error) ReadRenewalDecline(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(parameters) is { } refused)
        {
            return (null, refused);
        }

        return Text(parameters, "reason") is { } reason
            ? (reason, null)
            : (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'reason' is required: a valueString telling the therapist why the renewal is declined.", Path("reason")));
    }

    /// <summary>The strings against the rules of every input, named at their parameters; null when there is none.</summary>
    private static FhirResult? Refuse(Parameters parameters) =>
        InputRules.Check(parameters) is { Count: > 0 } problems ? Outcome.Of(Outcomes.From(problems), StatusCodes.Status400BadRequest) : null;

    /// <summary>A plain-text valueString parameter, trimmed: null when absent or blank (the profile has made it a string).</summary>
    private static string? Text(Parameters parameters, string name) =>
        Value<FhirString>(parameters, name)?.Value is { } text && !string.IsNullOrWhiteSpace(text) ? text.Trim() : null;

    private static T? Value<T>(Parameters parameters, string name) where T : DataType =>
        parameters.Parameter.FirstOrDefault(p => p.Name == name)?.Value as T;
}

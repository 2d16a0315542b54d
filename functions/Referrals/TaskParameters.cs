using Hl7.Fhir.Model;
using Referral.Functions.Fhir;
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
/// The Parameters bodies of the Task operations, read strictly: an unknown or repeated parameter, a value of the wrong
/// type, or a string that breaks the rules of every input (<see cref="InputRules"/>: control characters, markup) is a
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

    /// <summary>
    /// The parameters each transition takes; 'note' is accepted (and not stored) by the older ones as it always was.
    /// <c>$hold</c> takes only its (required) reason, <c>$resume</c> nothing.
    /// </summary>
    public static IReadOnlyList<string> NamesOf(string operation) => operation switch
    {
        CompleteOperation => ["reason", "note", "outcome", "recommendations"],
        HoldOperation => ["reason"],
        ResumeOperation => [],
        _ => ["reason", "note"],
    };

    public static (TransitionInput? Input, FhirResult? Error) ReadTransition(string operation, Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(operation, parameters, NamesOf(operation)) is { } refused)
        {
            return (null, refused);
        }

        var reason = parameters.Parameter.FirstOrDefault(p => p.Name == "reason")?.Value switch
        {
            FhirString text => text.Value,
            CodeableConcept concept => concept.Text ?? concept.Coding.FirstOrDefault()?.Display,
            null => null,
            _ => "",
        };
        if (reason == "")
        {
            return (null, Outcome.BadRequest("reason must be a valueString or a valueCodeableConcept.", $"{Path("reason")}.value"));
        }

        var (outcome, outcomeError) = Text(parameters, "outcome");
        var (recommendations, recommendationsError) = Text(parameters, "recommendations");
        if ((outcomeError ?? recommendationsError) is { } textError)
        {
            return (null, textError);
        }

        return (new TransitionInput(reason, outcome, recommendations), null);
    }

    public static (RenewalInput? Input, FhirResult? Error) ReadRenewal(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(RequestRenewalOperation, parameters, ["reason", "sessions"]) is { } refused)
        {
            return (null, refused);
        }

        var (reason, reasonError) = Text(parameters, "reason");
        if (reasonError is not null)
        {
            return (null, reasonError);
        }

        if (reason is null)
        {
            return (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'reason' is required: a valueString saying why the patient needs more sessions.", Path("reason")));
        }

        int? sessions = null;
        if (parameters.Parameter.FirstOrDefault(p => p.Name == "sessions") is { } sessionsParameter)
        {
            if (sessionsParameter.Value is not Integer { Value: { } count })
            {
                return (null, Outcome.BadRequest("'sessions' is a valueInteger.", $"{Path("sessions")}.value"));
            }

            if (count is < 1 or > ReferralTasks.MaxRenewalSessions)
            {
                return (null, Outcome.BadRequest($"'sessions' (the additional sessions asked for) is 1 to {ReferralTasks.MaxRenewalSessions}.", $"{Path("sessions")}.value"));
            }

            sessions = count;
        }

        return (new RenewalInput(reason, sessions), null);
    }

    /// <summary><c>$approve-renewal</c>: <c>sessions</c> (valueInteger, the sessions added) and <c>validUntil</c> (valueDate), both required.</summary>
    public static (RenewalApprovalInput? Input, FhirResult? Error) ReadApproval(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(ApproveRenewalOperation, parameters, ["sessions", "validUntil"]) is { } refused)
        {
            return (null, refused);
        }

        if (parameters.Parameter.FirstOrDefault(p => p.Name == "sessions") is not { } sessionsParameter)
        {
            return (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'sessions' is required: a valueInteger, the sessions the approval adds.", Path("sessions")));
        }

        if (sessionsParameter.Value is not Integer { Value: { } sessions })
        {
            return (null, Outcome.BadRequest("'sessions' is a valueInteger.", $"{Path("sessions")}.value"));
        }

        if (parameters.Parameter.FirstOrDefault(p => p.Name == "validUntil") is not { } untilParameter)
        {
            return (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'validUntil' is required: a valueDate, the prescription's new last day.", Path("validUntil")));
        }

        if (untilParameter.Value is not Date { Value: { } text } || !FhirTime.TryDate(text, out var until))
        {
            return (null, Outcome.BadRequest("'validUntil' is a valueDate with a day (YYYY-MM-DD).", $"{Path("validUntil")}.value"));
        }

        return (new RenewalApprovalInput(sessions, until), null);
    }

    /// <summary><c>$message</c>: <c>text</c> (valueString, plain text, 1 to <see cref="MaxMessageLength"/> characters), required.</summary>
    public static (string? Text, FhirResult? Error) ReadMessage(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(MessageOperation, parameters, ["text"]) is { } refused)
        {
            return (null, refused);
        }

        var (text, error) = Text(parameters, "text");
        if (error is not null)
        {
            return (null, error);
        }

        if (text is null)
        {
            return (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'text' is required: a valueString, the question or answer.", Path("text")));
        }

        return text.Length > MaxMessageLength
            ? (null, Outcome.BadRequest($"'text' is at most {MaxMessageLength} characters.", $"{Path("text")}.value"))
            : (text, null);
    }

    /// <summary><c>$decline-renewal</c>: <c>reason</c> (valueString), required.</summary>
    public static (string? Reason, FhirResult? Error) ReadRenewalDecline(Parameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Refuse(DeclineRenewalOperation, parameters, ["reason"]) is { } refused)
        {
            return (null, refused);
        }

        var (reason, error) = Text(parameters, "reason");
        if (error is not null)
        {
            return (null, error);
        }

        return reason is null
            ? (null, Outcome.Error(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                "'reason' is required: a valueString telling the therapist why the renewal is declined.", Path("reason")))
            : (reason, null);
    }

    private static FhirResult? Refuse(string operation, Parameters parameters, IReadOnlyList<string> names)
    {
        if (InputRules.Check(parameters) is { Count: > 0 } problems)
        {
            return Outcome.Of(Outcomes.From(problems), StatusCodes.Status400BadRequest);
        }

        foreach (var parameter in parameters.Parameter)
        {
            if (!names.Contains(parameter.Name, StringComparer.Ordinal))
            {
                return Outcome.BadRequest(names.Count == 0
                    ? $"${operation} takes no parameters; not '{parameter.Name}'."
                    : $"${operation} takes {string.Join(", ", names.Select(n => $"'{n}'"))}; not '{parameter.Name}'.", Path(parameter.Name ?? ""));
            }
        }

        foreach (var name in names)
        {
            if (parameters.Parameter.Count(p => p.Name == name) > 1)
            {
                return Outcome.BadRequest($"'{name}' may be given once.", Path(name));
            }
        }

        return null;
    }

    /// <summary>A plain-text valueString parameter: null when absent or blank.</summary>
    private static (string? Text, FhirResult? Error) Text(Parameters parameters, string name)
    {
        if (parameters.Parameter.FirstOrDefault(p => p.Name == name) is not { } parameter)
        {
            return (null, null);
        }

        if (parameter.Value is not FhirString text)
        {
            return (null, Outcome.BadRequest($"'{name}' is a valueString.", $"{Path(name)}.value"));
        }

        return (string.IsNullOrWhiteSpace(text.Value) ? null : text.Value.Trim(), null);
    }
}

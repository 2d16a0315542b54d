using Hl7.Fhir.Model;

namespace Referral.Model.Referrals;

/// <summary>Where the referral's copy in the EHR stands, as the functions write-back (its one writer) last left it.</summary>
public enum EhrCopyState
{
    /// <summary>The EHR takes the copy, and it has not been written yet (queued, or not yet tried).</summary>
    Pending,

    /// <summary>The EHR refused or failed the last try; the write-back tries again.</summary>
    Retrying,

    /// <summary>The EHR refused or failed every try: the copy is not in the chart, and the message waits in the poison queue.</summary>
    Failed,

    /// <summary>The EHR holds the copy.</summary>
    Written,
}

/// <summary>
/// The copy's state as a <c>meta.tag</c> on the ServiceRequest the functions API serves (tags are workflow state,
/// not content: the stored referral and its version are untouched). Absent where the EHR takes no copy. The display
/// of a refusal says what the EHR answered (a status, never patient data).
/// </summary>
public static class EhrCopy
{
    public const string System = Canonicals.Base + "/CodeSystem/ehr-copy";

    public static Coding Tag(EhrCopyState state, string? problem) => new(System, Code(state), state switch
    {
        EhrCopyState.Pending => "Not yet written to the EHR",
        EhrCopyState.Written => "Written to the EHR",
        _ => problem ?? "The EHR did not take the copy",
    });

    /// <summary>The state and what the EHR answered, from a served ServiceRequest; null when the EHR takes no copy.</summary>
    public static (EhrCopyState State, string? Problem)? Of(Resource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var tag = resource.Meta?.Tag.FirstOrDefault(t => t.System == System);
        EhrCopyState? state = tag?.Code switch
        {
            "pending" => EhrCopyState.Pending,
            "retrying" => EhrCopyState.Retrying,
            "failed" => EhrCopyState.Failed,
            "written" => EhrCopyState.Written,
            _ => null,
        };
        return state is { } known ? (known, known is EhrCopyState.Retrying or EhrCopyState.Failed ? tag!.Display : null) : null;
    }

    private static string Code(EhrCopyState state) => state switch
    {
        EhrCopyState.Pending => "pending",
        EhrCopyState.Retrying => "retrying",
        EhrCopyState.Failed => "failed",
        _ => "written",
    };
}

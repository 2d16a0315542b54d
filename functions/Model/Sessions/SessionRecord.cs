using Referral.Model.Terminology;

namespace Referral.Model.Sessions;

/// <summary>What the therapist reports after one session. Issues about it name its fields as "SessionRecord.painBefore" etc.</summary>
public sealed record SessionRecord
{
    public required DateTimeOffset Start { get; init; }

    public required int Minutes { get; init; }

    public required IReadOnlyList<BodyArea> BodyAreasTreated { get; init; }

    public required IReadOnlyList<MassageTechnique> Techniques { get; init; }

    /// <summary>Pain on the 0-10 numeric rating scale when the session began.</summary>
    public required int PainBefore { get; init; }

    /// <summary>Pain on the 0-10 numeric rating scale when the session ended.</summary>
    public required int PainAfter { get; init; }

    public IReadOnlyList<RangeOfMotionMeasurement> RangeOfMotion { get; init; } = [];

    public FunctionalScore? FunctionalScore { get; init; }

    public string? Note { get; init; }
}

/// <summary>A joint's range of motion for one movement, in degrees, measured at the end of the session.</summary>
public sealed record RangeOfMotionMeasurement(BodyArea Joint, JointMovement Movement, decimal Degrees);

/// <summary>A functional questionnaire's total score, taken at the start of the session.</summary>
public sealed record FunctionalScore(FunctionalInstrument Instrument, decimal Score);

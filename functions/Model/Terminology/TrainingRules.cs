namespace Referral.Model.Terminology;

/// <summary>Why a referral needs a training: the condition or precaution that requires it.</summary>
public sealed record TrainingRequirement(TherapistTraining Training, string Reason);

/// <summary>
/// Which conditions and precautions need which therapist training: cancer needs oncology massage, lymphedema
/// needs manual lymph drainage, pregnancy needs prenatal training, PTSD needs trauma-informed care.
/// The conditions' own requirements are in <see cref="MassageConditions"/>.
/// </summary>
public static class TrainingRules
{
    public static IReadOnlyList<TherapistTraining> ForPrecaution(Precaution precaution) => precaution switch
    {
        Precaution.Cancer => [TherapistTraining.OncologyMassage],
        Precaution.Pregnancy => [TherapistTraining.Prenatal],
        // Pressure or heat on a limb whose nodes are gone can bring on lymphedema; MLD training teaches the limits.
        Precaution.LymphNodeRemoval => [TherapistTraining.ManualLymphDrainage],
        _ => [],
    };

    public static IReadOnlyList<TrainingRequirement> Requirements(
        IEnumerable<MassageCondition> conditions, IEnumerable<Precaution> precautions)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentNullException.ThrowIfNull(precautions);
        var fromConditions = conditions.SelectMany(c => c.RequiredTraining.Select(t => new TrainingRequirement(t, c.Display)));
        var fromPrecautions = precautions.SelectMany(p => ForPrecaution(p).Select(t =>
            new TrainingRequirement(t, "precaution: " + Precautions.Codes.For(p).Display)));
        return [.. fromConditions.Concat(fromPrecautions).Distinct()];
    }

    /// <summary>The requirements a therapist with <paramref name="held"/> does not meet.</summary>
    public static IReadOnlyList<TrainingRequirement> Unmet(
        IEnumerable<TrainingRequirement> requirements, IEnumerable<TherapistTraining> held)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        var have = held.ToHashSet();
        return [.. requirements.Where(r => !have.Contains(r.Training))];
    }

    /// <summary>For the smart-app's therapist picker: can a therapist with this training take these diagnoses and precautions?</summary>
    public static bool CanTreat(
        IEnumerable<TherapistTraining> held, IEnumerable<MassageCondition> conditions, IEnumerable<Precaution> precautions) =>
        Unmet(Requirements(conditions, precautions), held).Count == 0;
}

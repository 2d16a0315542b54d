using System.Globalization;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;

namespace Referral.Model.Sessions;

/// <summary>A measure of one session with its change since the first session that measured the same thing.</summary>
public sealed record SessionMeasure(string Label, string Value, string? Change);

/// <summary>
/// One session as the physician, the therapist and the reports read it: the Procedure (time, length, sites, techniques, the SOAP
/// note) and the Observations partOf it, in words, with times in the prescribing practice's zone.
/// </summary>
public sealed record SessionSummary
{
    public required int Number { get; init; }

    public required DateTimeOffset Start { get; init; }

    /// <summary>The start as the practice reads it, e.g. "Mon 2 Mar 2026, 10:00 (America/Chicago)".</summary>
    public required string When { get; init; }

    public int? Minutes { get; init; }

    public IReadOnlyList<string> Sites { get; init; } = [];

    public IReadOnlyList<string> Techniques { get; init; } = [];

    public decimal? PainBefore { get; init; }

    public decimal? PainAfter { get; init; }

    /// <summary>Each range of motion measured, then the functional score, each with its change since the first session.</summary>
    public IReadOnlyList<SessionMeasure> Measures { get; init; } = [];

    /// <summary>The therapist's SOAP note, as the inbox stored it (one plain-text note, a paragraph per part).</summary>
    public string? Note { get; init; }
}

public static class SessionSummaries
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// The sessions, oldest first, each with the Observations that are partOf its Procedure; the zone is the one the
    /// prescription's validity names (the practice's), UTC for a referral stored before zones were carried.
    /// </summary>
    public static IReadOnlyList<SessionSummary> Of(ReferralSummary referral, IEnumerable<Procedure> procedures, IReadOnlyList<Observation> observations)
    {
        ArgumentNullException.ThrowIfNull(referral);
        ArgumentNullException.ThrowIfNull(procedures);
        ArgumentNullException.ThrowIfNull(observations);
        var zone = referral.Zone;
        var byProcedure = observations.ToLookup(o => o.PartOf.FirstOrDefault()?.Reference ?? "", StringComparer.Ordinal);
        // Each measure's first value and the session it was taken in: the change is counted from there.
        var firsts = new Dictionary<string, (decimal Value, int Session)>(StringComparer.Ordinal);
        var sessions = new List<SessionSummary>();
        var ordered = procedures
            .Select(p => (Procedure: p, Period: p.Performed as Period))
            .Select(p => (p.Procedure, p.Period, Start: FhirTime.TryDateTime(p.Period?.Start, out var start) ? start : (DateTimeOffset?)null))
            .Where(p => p.Start is not null)
            .OrderBy(p => p.Start);
        foreach (var (procedure, period, started) in ordered)
        {
            var start = started!.Value;
            int? minutes = FhirTime.TryDateTime(period?.End, out var end) ? (int)Math.Round((end - start).TotalMinutes) : null;
            var results = byProcedure["Procedure/" + procedure.Id].ToList();
            var pain = results.Where(o => o.Code?.Coding.Any(OutcomeMeasures.Pain.Matches) == true && o.Value is Quantity)
                .OrderBy(o => (o.Effective as FhirDateTime)?.Value, StringComparer.Ordinal)
                .Select(o => (o.Value as Quantity)?.Value)
                .ToList();
            var measures = new List<SessionMeasure>();
            foreach (var observation in results.Where(o => o.Code?.Coding.Any(OutcomeMeasures.Pain.Matches) != true))
            {
                if (observation.Value is not Quantity { Value: { } value } quantity)
                {
                    continue;
                }

                var label = LabelOf(observation);
                var key = label + "|" + observation.Code?.Coding.FirstOrDefault()?.Code;
                string? change = null;
                if (firsts.TryGetValue(key, out var first))
                {
                    change = Change(value - first.Value, UnitOf(quantity), first.Session);
                }
                else
                {
                    firsts[key] = (value, sessions.Count + 1);
                }

                measures.Add(new SessionMeasure(label, Value(value, UnitOf(quantity)), change));
            }

            sessions.Add(new SessionSummary
            {
                Number = sessions.Count + 1,
                Start = start,
                When = When(start, zone),
                Minutes = minutes,
                Sites = [.. procedure.BodySite.Select(s => s.Text ?? s.Coding.FirstOrDefault()?.Display).OfType<string>()],
                Techniques = [.. procedure.Extension.Where(e => e.Url == Canonicals.ProcedureMethodExtension)
                    .Select(e => e.Value as CodeableConcept)
                    .Select(c => c?.Text ?? c?.Coding.FirstOrDefault()?.Display)
                    .OfType<string>()],
                PainBefore = pain.Count > 0 ? pain[0] : null,
                PainAfter = pain.Count > 1 ? pain[^1] : null,
                Measures = measures,
                Note = procedure.Note.FirstOrDefault()?.Text is { Length: > 0 } note ? note : null,
            });
        }

        return sessions;
    }

    /// <summary>A date and time in the zone, with the zone named: "Mon 2 Mar 2026, 10:00 (America/Chicago)".</summary>
    public static string When(DateTimeOffset instant, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var local = TimeZoneInfo.ConvertTime(instant, zone);
        return local.ToString("ddd d MMM yyyy, HH:mm", Invariant) + " (" + zone.Id + ")";
    }

    /// <summary>"55 degrees", "40.9", "32%": a value with its unit in words, no UCUM braces.</summary>
    public static string Value(decimal value, string? unit) => unit switch
    {
        null or "" or "score" => value.ToString("0.#", Invariant),
        "%" => value.ToString("0.#", Invariant) + "%",
        "T-score" => "T-score " + value.ToString("0.#", Invariant),
        _ => value.ToString("0.#", Invariant) + " " + unit,
    };

    private static string Change(decimal delta, string? unit, int since)
    {
        var amount = Value(Math.Abs(delta), unit == "T-score" ? "points" : unit);
        var direction = delta switch
        {
            > 0 => "up " + amount,
            < 0 => "down " + amount,
            _ => "no change",
        };
        return string.Create(Invariant, $"{direction} since session {since}");
    }

    private static string? UnitOf(Quantity quantity) => quantity.Unit ?? quantity.Code?.Trim('{', '}');

    /// <summary>"Right wrist extension" for a range of motion, the instrument's name for a functional score.</summary>
    private static string LabelOf(Observation observation)
    {
        var coding = observation.Code?.Coding.FirstOrDefault();
        var movement = OutcomeMeasures.RangeOfMotion.TryFind(observation.Code, out var found) ? OutcomeMeasures.RangeOfMotion.For(found).Display : null;
        if (movement is not null)
        {
            var site = observation.BodySite?.Text;
            var what = movement.Replace("Range of motion, ", "", StringComparison.Ordinal);
            return site is null ? "Range of motion, " + what : $"{site} {what}";
        }

        return observation.Code?.Text ?? coding?.Display ?? coding?.Code ?? "Result";
    }
}

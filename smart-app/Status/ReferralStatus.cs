using System.Globalization;
using System.Text;
using Hl7.Fhir.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Model.Terminology;

namespace Referral.SmartApp.Status;

/// <summary>Where a referral stands, in a physician's words, from its Task (BSeR business status) and its validity.</summary>
public sealed record ReferralStatus(string Label, string Css, string? Reason, int SessionsDone, int SessionsPrescribed)
{
    /// <summary>The referral as the shared read model decodes it, once for the whole page.</summary>
    public required ReferralSummary Summary { get; init; }

    /// <summary>Whether the validity ended (in the practice's zone) before the course did.</summary>
    public required bool Expired { get; init; }

    public int SessionsRemaining => Math.Max(0, SessionsPrescribed - SessionsDone);

    /// <summary>The status at <paramref name="now"/>; "expired" counts days in the prescribing practice's zone, as the validity does.</summary>
    public static ReferralStatus Of(ServiceRequest request, Hl7.Fhir.Model.Task? task, DateTimeOffset now)
    {
        var summary = ReferralSummary.Of(request, task);
        var (done, prescribed, reason) = (summary.SessionsUsed, summary.SessionsPrescribed, summary.StatusReason);
        var expired = summary.IsExpiredAt(now) && !summary.IsClosed;
        var (label, css, shownReason) = expired ? ("Expired", "expired", null) : summary.State switch
        {
            ReferralTaskState.Created => ("Sent", "sent", null),
            // The therapist waits for an answer before accepting: shown as "On hold: <reason>".
            ReferralTaskState.OnHold => ("On hold", "on-hold", reason),
            ReferralTaskState.Accepted or ReferralTaskState.Scheduled => ("Accepted", "accepted", null),
            ReferralTaskState.Declined => ("Declined", "declined", reason),
            ReferralTaskState.SessionCompleted or ReferralTaskState.NoShow =>
                (string.Create(CultureInfo.InvariantCulture, $"In progress: {done} of {prescribed} sessions"), "in-progress", null),
            ReferralTaskState.Cancelled => ("Cancelled", "cancelled", reason),
            ReferralTaskState.Completed => ("Completed", "completed", null),
            _ => ("Sent", "sent", (string?)null),
        };
        return new ReferralStatus(label, css, shownReason, done, prescribed) { Summary = summary, Expired = expired };
    }

    /// <summary>
    /// The physician may withdraw it: the Task state machine allows the physician to cancel from where it stands, and its
    /// validity has not ended (an expired referral is the system's to cancel).
    /// </summary>
    public bool CanCancel => !Expired && Summary.Allows(TaskActor.Physician, ReferralTaskState.Cancelled);
}

/// <summary>One event of a referral's timeline.</summary>
public sealed record TimelineEvent(DateTimeOffset When, string What)
{
    /// <summary>When, as the sessions show it: the practice's wall clock with its zone named (never UTC unlabelled).</summary>
    public string Shown { get; init; } = "";
}

public static class Timeline
{
    /// <summary>
    /// Sent, each hold (with its reason) and resume, accepted, each session, each renewal request and its answer, and the
    /// end (declined, cancelled, completed), from the Task and the Procedures.
    /// </summary>
    public static IReadOnlyList<TimelineEvent> Of(ReferralSummary referral, IReadOnlyList<Procedure> sessions)
    {
        ArgumentNullException.ThrowIfNull(referral);
        ArgumentNullException.ThrowIfNull(sessions);
        var (request, task) = (referral.Request, referral.Task);
        var events = new List<TimelineEvent>();
        if (FhirTime.TryDateTime(task?.AuthoredOn ?? request.AuthoredOn, out var sent))
        {
            events.Add(new TimelineEvent(sent, "Sent to the therapist"));
        }

        if (task?.ExecutionPeriod?.Start is { } started && FhirTime.TryDateTime(started, out var accepted))
        {
            events.Add(new TimelineEvent(accepted, "Accepted by the therapist"));
        }

        foreach (var hold in task is null ? [] : ReferralTasks.HoldsOf(task))
        {
            events.Add(new TimelineEvent(hold.When, hold.Kind == HoldEvent.Held ? $"Put on hold by the therapist: {hold.Reason}" : "Resumed by the therapist"));
        }

        var prescribed = referral.SessionsPrescribed;
        var number = 0;
        foreach (var procedure in sessions.OrderBy(p => (p.Performed as Period)?.Start, StringComparer.Ordinal))
        {
            number++;
            if (FhirTime.TryDateTime((procedure.Performed as Period)?.Start, out var when))
            {
                events.Add(new TimelineEvent(when, string.Create(CultureInfo.InvariantCulture, $"Session {number} of {prescribed}")));
            }
        }

        foreach (var renewal in task is null ? [] : ReferralTasks.RenewalRequestsOf(task))
        {
            events.Add(new TimelineEvent(renewal.When, "Renewal requested by the therapist"));
        }

        foreach (var answer in task is null ? [] : RenewalAnswers.AnswersOf(task))
        {
            events.Add(new TimelineEvent(answer.When, answer.Decision == RenewalDecision.Approved
                ? string.Create(CultureInfo.InvariantCulture, $"Renewal approved by the physician: {answer.Sessions} more sessions, valid until {answer.ValidUntil:yyyy-MM-dd}")
                : $"Renewal declined by the physician: {answer.Text}"));
        }

        if (task?.ExecutionPeriod?.End is { } ended && FhirTime.TryDateTime(ended, out var end) && referral.State is { } final)
        {
            var reason = task.StatusReason?.Text;
            var what = final switch
            {
                ReferralTaskState.Declined => "Declined by the therapist",
                ReferralTaskState.Cancelled => "Cancelled",
                _ => "Completed",
            };
            events.Add(new TimelineEvent(end, reason is null ? what : $"{what}: {reason}"));
        }

        // The same zone as the sessions and messages: the one the prescription's validity is in (the practice's).
        return [.. events.OrderBy(e => e.When).Select(e => e with { Shown = SessionSummaries.When(e.When, referral.Zone) })];
    }
}

/// <summary>One session's pain before and after (0-10).</summary>
public sealed record PainPoint(int Session, DateTimeOffset When, decimal? Before, decimal? After);

/// <summary>
/// Pain over the sessions, as the functions app records it (SessionRecorder): two LOINC 72514-3 Observations per
/// session, partOf its Procedure; "before" is the one effective at the session's start, "after" at its end.
/// </summary>
public static class PainSeries
{
    public static IReadOnlyList<PainPoint> Of(IEnumerable<Observation> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var pain = observations.Where(o => o.Code?.Coding.Any(OutcomeMeasures.Pain.Matches) == true && o.Value is Quantity)
            .Select(o => (Session: o.PartOf.FirstOrDefault()?.Reference ?? o.Id ?? "", When: Effective(o), Value: (o.Value as Quantity)?.Value))
            .Where(o => o.When is not null)
            .GroupBy(o => o.Session)
            .Select(g => g.OrderBy(o => o.When).ToList())
            .OrderBy(g => g[0].When)
            .ToList();
        return
        [
            .. pain.Select((g, i) => new PainPoint(i + 1, g[0].When!.Value, g[0].Value, g.Count > 1 ? g[^1].Value : null)),
        ];
    }

    private static DateTimeOffset? Effective(Observation observation) =>
        observation.Effective switch
        {
            FhirDateTime dateTime when FhirTime.TryDateTime(dateTime.Value, out var when) => when,
            Period period when FhirTime.TryDateTime(period.Start, out var start) => start,
            _ => null,
        };
}

/// <summary>
/// The pain chart as SVG markup made on the server, so it reads without JavaScript; its title and description say
/// what it shows, and the Observations table below it carries the same numbers for screen readers.
/// </summary>
public static class PainChart
{
    private const double Width = 560;
    private const double Height = 260;
    private const double Left = 44;
    private const double Right = 16;
    private const double Top = 16;
    private const double Bottom = 40;

    public static string Svg(IReadOnlyList<PainPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var sessions = Math.Max(points.Count, 1);
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        double X(int session) => Left + (sessions == 1 ? plotWidth / 2 : (session - 1) * plotWidth / (sessions - 1));
        double Y(decimal pain) => Top + ((10 - (double)pain) * plotHeight / 10);
        static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"pain-chart\" viewBox=\"0 0 {N(Width)} {N(Height)}\" role=\"img\" aria-labelledby=\"pain-chart-title pain-chart-desc\">");
        svg.Append("<title id=\"pain-chart-title\">Pain before and after each session (0 to 10)</title>");
        var description = points.Count == 0
            ? "No session has been recorded yet."
            : string.Join("; ", points.Select(p => string.Create(CultureInfo.InvariantCulture, $"session {p.Session}: {p.Before?.ToString("0.#", CultureInfo.InvariantCulture) ?? "not recorded"} before, {p.After?.ToString("0.#", CultureInfo.InvariantCulture) ?? "not recorded"} after")));
        svg.Append("<desc id=\"pain-chart-desc\">").Append(System.Net.WebUtility.HtmlEncode(description)).Append("</desc>");
        for (var level = 0; level <= 10; level += 2)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{N(Left)}\" x2=\"{N(Width - Right)}\" y1=\"{N(Y(level))}\" y2=\"{N(Y(level))}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{N(Left - 8)}\" y=\"{N(Y(level) + 4)}\" text-anchor=\"end\">{level}</text>");
        }

        foreach (var point in points)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{N(X(point.Session))}\" y=\"{N(Height - Bottom + 18)}\" text-anchor=\"middle\">{point.Session}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{N(Left + (plotWidth / 2))}\" y=\"{N(Height - 4)}\" text-anchor=\"middle\">Session</text>");
        Series(svg, "before", points.Where(p => p.Before is not null).Select(p => (X(p.Session), Y(p.Before!.Value))).ToList(), N);
        Series(svg, "after", points.Where(p => p.After is not null).Select(p => (X(p.Session), Y(p.After!.Value))).ToList(), N);
        svg.Append(CultureInfo.InvariantCulture, $"<g class=\"legend\"><rect class=\"before\" x=\"{N(Width - 190)}\" y=\"{N(Top)}\" width=\"12\" height=\"12\"/><text x=\"{N(Width - 172)}\" y=\"{N(Top + 10)}\">Before session</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"after\" x=\"{N(Width - 90)}\" y=\"{N(Top)}\" width=\"12\" height=\"12\"/><text x=\"{N(Width - 72)}\" y=\"{N(Top + 10)}\">After</text></g>");
        svg.Append("</svg>");
        return svg.ToString();
    }

    private static void Series(StringBuilder svg, string css, List<(double X, double Y)> points, Func<double, string> n)
    {
        if (points.Count > 1)
        {
            svg.Append("<polyline class=\"").Append(css).Append("\" points=\"").AppendJoin(' ', points.Select(p => $"{n(p.X)},{n(p.Y)}")).Append("\"/>");
        }

        foreach (var (x, y) in points)
        {
            svg.Append("<circle class=\"").Append(css).Append("\" cx=\"").Append(n(x)).Append("\" cy=\"").Append(n(y)).Append("\" r=\"4\"/>");
        }
    }
}

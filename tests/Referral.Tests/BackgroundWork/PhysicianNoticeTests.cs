using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using MimeKit;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Referrals.CourseCloseAndRenewalTests;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>
/// The physician told, through the notification queue, when the therapist declines, completes the course or asks for
/// a renewal: each once, to the physician's own address, with the therapist's words.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class PhysicianNoticeTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Completing_the_course_tells_the_physician_its_outcome_and_recommendations_once()
    {
        await using var scenario = Scenario(out var physicianEmail);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();

        using var completed = await PostAsync(therapist, id, "complete", Discharge("Pain 6 to 2; grip strength back.", "Nerve glides daily; review in 3 months."));
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.Completed, id) { Version = 4 });

        var mail = Assert.Single(Mails(scenario, "completed"));
        Assert.Equal(physicianEmail, mail.To.Mailboxes.Single().Address);
        Assert.Contains("Pain 6 to 2; grip strength back.", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("Nerve glides daily; review in 3 months.", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("1 of 6 sessions", mail.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain(scenario.Patient, mail.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("Alex Doe", mail.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Declining_tells_the_physician_the_reason()
    {
        await using var scenario = Scenario(out var physicianEmail);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();

        using var declined = await PostAsync(therapist, request!.Id!, "decline", ReferralScenario.Reason("No openings until March."));
        Assert.Equal(HttpStatusCode.OK, declined.StatusCode);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var mail = Assert.Single(Mails(scenario, "declined"));
        Assert.Equal(physicianEmail, mail.To.Mailboxes.Single().Address);
        Assert.Contains("No openings until March.", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains(request.Id!, mail.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_renewal_request_tells_the_physician_once_with_its_reason_and_the_sessions_asked()
    {
        await using var scenario = Scenario(out var physicianEmail);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();

        (await PostAsync(therapist, id, "request-renewal", Renewal("Grip still weak.", 4))).EnsureSuccessStatusCode();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        (await PostAsync(therapist, id, "request-renewal", Renewal("Night pain is back.", null))).EnsureSuccessStatusCode();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.RenewalRequested, id) { Version = 4, Ordinal = 1 });

        var mails = Mails(scenario, "renewal-requested").OrderBy(m => m.Date).ToList();
        Assert.Equal(2, mails.Count);
        Assert.All(mails, m => Assert.Equal(physicianEmail, m.To.Mailboxes.Single().Address));
        Assert.Contains("Grip still weak.", mails[0].TextBody, StringComparison.Ordinal);
        Assert.Contains("4 more sessions", mails[0].TextBody, StringComparison.Ordinal);
        Assert.Contains("Night pain is back.", mails[1].TextBody, StringComparison.Ordinal);
        Assert.Contains("no number of sessions given", mails[1].TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_of_a_change_that_lost_its_race_tells_nothing()
    {
        await using var scenario = Scenario(out _);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);

        // Version 3 is stored, but it is a session, not a completion: the completing write never happened.
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.Completed, id) { Version = 3 });
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.RenewalRequested, id) { Version = 3, Ordinal = 1 });

        Assert.Empty(Mails(scenario, "completed"));
        Assert.Empty(Mails(scenario, "renewal-requested"));
        var poison = new QueueClient(own.Azurite.ConnectionString, ReferralNotifications.QueueName + "-poison");
        Assert.False(await poison.ExistsAsync(Ct) && (await poison.PeekMessagesAsync(32, Ct)).Value.Length > 0);
    }

    /// <summary>A scenario whose physician has an address of their own (Notifications:Physicians), besides the fallback desk.</summary>
    private ReferralScenario Scenario(out string physicianEmail)
    {
        var physician = $"dr-{Guid.NewGuid().ToString("N")[..8]}";
        physicianEmail = $"{physician}@clinic.test";
        return new ReferralScenario(own.Azurite, identity, physician: physician, settings: new Dictionary<string, string?>
        {
            ["Notifications:PhysicianFallback"] = "desk@clinic.test",
            ["Notifications:Physicians:0:Reference"] = $"Practitioner/{physician}",
            ["Notifications:Physicians:0:Email"] = physicianEmail,
        });
    }

    /// <summary>The same event delivered again (the host delivers at least once), and the queue drained.</summary>
    private async Task Redeliver(ReferralScenario scenario, ReferralEvent message)
    {
        var queue = new QueueClient(own.Azurite.ConnectionString, ReferralNotifications.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.SendMessageAsync(JsonSerializer.Serialize(message), Ct);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
    }

    private static List<MimeMessage> Mails(ReferralScenario scenario, string kind) =>
    [
        .. scenario.App.Mail()
            .Select(text => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(text))))
            .Where(m => m.Headers["X-Referral-Event"] == kind),
    ];
}

extern alias worker;

using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;
using worker::Referral.Worker.Notifications;
using static Referral.Tests.Referrals.CourseCloseAndRenewalTests;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>
/// The physician told, through the notification queue, when the therapist declines, completes the course or asks for
/// a renewal: each once, to the physician's own address, saying only that it happened (the referral's id, the day)
/// and linking to the app behind sign-in; the therapist's words stay there, out of email.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class PhysicianNoticeTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Completing_the_course_tells_the_physician_once_that_it_happened_with_a_link_and_without_the_outcome()
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
        Assert.Contains(id, mail.TextBody, StringComparison.Ordinal);
        Assert.Contains(LaunchLink(scenario), mail.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("Pain 6 to 2", mail.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("Nerve glides", mail.TextBody, StringComparison.Ordinal);
        AssertNoPatientData(scenario, mail);
    }

    [Fact]
    public async Task Declining_tells_the_physician_that_it_happened_with_a_link_and_without_the_reason()
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
        Assert.DoesNotContain("No openings", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains(request.Id!, mail.TextBody, StringComparison.Ordinal);
        Assert.Contains(LaunchLink(scenario), mail.TextBody, StringComparison.Ordinal);
        AssertNoPatientData(scenario, mail);
    }

    [Fact]
    public async Task Each_renewal_request_tells_the_physician_once_without_its_reason()
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
        Assert.All(mails, m => Assert.Contains(id, m.TextBody, StringComparison.Ordinal));
        Assert.All(mails, m => Assert.Contains(LaunchLink(scenario), m.TextBody, StringComparison.Ordinal));
        Assert.All(mails, m => Assert.DoesNotContain("Grip still weak", m.TextBody, StringComparison.Ordinal));
        Assert.All(mails, m => Assert.DoesNotContain("Night pain", m.TextBody, StringComparison.Ordinal));
        Assert.All(mails, m => AssertNoPatientData(scenario, m));
    }

    [Fact]
    public async Task The_therapists_free_text_through_decline_renewal_and_complete_is_in_no_message()
    {
        const string Marker = "ZQX-7731-free-text";
        await using var scenario = Scenario(out _);
        await scenario.SeedTherapistsAsync();
        using var therapist = scenario.AsTherapist();
        var (_, declinedRequest) = await scenario.SubmitAsync(scenario.Draft());
        (await PostAsync(therapist, declinedRequest!.Id!, "decline", ReferralScenario.Reason($"Declined: {Marker}"))).EnsureSuccessStatusCode();
        var id = await TreatedOnceAsync(scenario);
        (await PostAsync(therapist, id, "request-renewal", Renewal($"Renewal: {Marker}", 3))).EnsureSuccessStatusCode();
        (await PostAsync(therapist, id, "complete", Discharge($"Outcome: {Marker}", $"Recommendations: {Marker}"))).EnsureSuccessStatusCode();

        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var files = Directory.EnumerateFiles(scenario.App.MailFolder, "*.eml").ToList();
        var kinds = Mails(scenario).Select(m => m.Headers["X-Referral-Event"]).ToList();
        Assert.Contains("declined", kinds);
        Assert.Contains("renewal-requested", kinds);
        Assert.Contains("completed", kinds);
        Assert.All(files, f => Assert.DoesNotContain(Marker, File.ReadAllText(f), StringComparison.Ordinal));
        Assert.All(Mails(scenario), m => AssertNoPatientData(scenario, m));
    }

    [Fact]
    public async Task Answering_a_renewal_tells_the_therapist_once_naming_the_physician_and_the_day_without_the_answer_or_patient_data()
    {
        await using var scenario = Scenario(out _);
        await scenario.SeedTherapistsAsync();
        var id = await TreatedOnceAsync(scenario);
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();
        (await PostAsync(therapist, id, "request-renewal", Renewal("Grip still weak.", 4))).EnsureSuccessStatusCode();
        (await PostAsync(physician, id, "decline-renewal", ReferralScenario.Reason("Come back to me first."))).EnsureSuccessStatusCode();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.RenewalAnswered, id) { Version = 5, Ordinal = 1 });

        var mail = Assert.Single(Mails(scenario, ReferralEvent.RenewalAnswered));
        Assert.Equal($"{scenario.Therapist}@therapists.test", mail.To.Mailboxes.Single().Address);
        Assert.Equal("Dr. Rivera answered your renewal request", mail.Subject);
        var written = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime).AddDays(-7).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"Referral from Dr. Rivera, written on {written} (reference {id})", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains($"/inbox/referrals/{id}", mail.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("Come back", mail.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Grip", mail.ToString(), StringComparison.Ordinal);
        AssertNoPatientData(scenario, mail);
    }

    [Fact]
    public async Task A_question_on_the_referral_tells_the_other_party_once_without_its_text_or_patient_data()
    {
        await using var scenario = Scenario(out var physicianEmail);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();
        using var physician = scenario.AsPhysician();

        (await PostAsync(therapist, request!.Id!, "message", Referrals.MessageTests.Text("Is the wrist splint to stay on? ZQX-question"))).EnsureSuccessStatusCode();
        (await PostAsync(physician, request.Id!, "message", Referrals.MessageTests.Text("Yes, at night. ZQX-answer"))).EnsureSuccessStatusCode();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.MessagePosted, request.Id!) { Recipient = "physician", Ordinal = 1 });

        var mails = Mails(scenario, ReferralEvent.MessagePosted);
        Assert.Equal(2, mails.Count);
        var toPhysician = Assert.Single(mails, m => m.To.Mailboxes.Single().Address == physicianEmail);
        Assert.Equal("Sam Lee, LMT wrote to you about your referral", toPhysician.Subject);
        var toTherapist = Assert.Single(mails, m => m.To.Mailboxes.Single().Address == $"{scenario.Therapist}@therapists.test");
        Assert.Contains($"/inbox/referrals/{request.Id}", toTherapist.TextBody, StringComparison.Ordinal);
        Assert.All(mails, m => Assert.DoesNotContain("ZQX", m.ToString(), StringComparison.Ordinal));
        Assert.All(mails, m => AssertNoPatientData(scenario, m));
    }

    [Fact]
    public async Task Each_hold_tells_the_physician_once_that_the_referral_waits_without_its_reason()
    {
        await using var scenario = Scenario(out var physicianEmail);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        using var therapist = scenario.AsTherapist();

        (await PostAsync(therapist, id, "hold", ReferralScenario.Reason("Asked about the ZQX dose."))).EnsureSuccessStatusCode();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        (await PostAsync(therapist, id, "resume", new Hl7.Fhir.Model.Parameters())).EnsureSuccessStatusCode();
        (await PostAsync(therapist, id, "hold", ReferralScenario.Reason("Waiting for the ZQX report."))).EnsureSuccessStatusCode();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.PutOnHold, id) { Version = 2, Ordinal = 1 });

        var mails = Mails(scenario, ReferralEvent.PutOnHold);
        Assert.Equal(2, mails.Count);
        Assert.All(mails, m => Assert.Equal(physicianEmail, m.To.Mailboxes.Single().Address));
        Assert.All(mails, m => Assert.Equal("Sam Lee, LMT put your medical-massage referral on hold", m.Subject));
        Assert.All(mails, m => Assert.Contains(LaunchLink(scenario), m.TextBody, StringComparison.Ordinal));
        Assert.All(mails, m => Assert.Contains(id, m.TextBody, StringComparison.Ordinal));
        Assert.All(mails, m => Assert.DoesNotContain("ZQX", m.ToString(), StringComparison.Ordinal));
        Assert.All(mails, m => AssertNoPatientData(scenario, m));
    }

    [Fact]
    public async Task The_physicians_messages_name_the_referral_by_the_therapist_and_the_day_it_was_written()
    {
        await using var scenario = Scenario(out _);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        using var therapist = scenario.AsTherapist();

        (await PostAsync(therapist, request!.Id!, "decline", ReferralScenario.Reason("No openings."))).EnsureSuccessStatusCode();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var written = DateOnly.FromDateTime(scenario.Time.GetUtcNow().UtcDateTime).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var declined = Assert.Single(Mails(scenario, "declined"));
        Assert.Equal("Sam Lee, LMT declined your medical-massage referral", declined.Subject);
        Assert.Contains($"Your referral to Sam Lee, LMT, written on {written} (reference {request.Id})", declined.TextBody, StringComparison.Ordinal);
        var submitted = Assert.Single(Mails(scenario, ReferralEvent.Submitted));
        Assert.Equal("New medical-massage referral from Dr. Rivera", submitted.Subject);
        Assert.Contains($"Referral from Dr. Rivera, written on {written}", submitted.TextBody, StringComparison.Ordinal);
        AssertNoPatientData(scenario, declined);
        AssertNoPatientData(scenario, submitted);
    }

    [Fact]
    public async Task Two_deliveries_of_one_event_at_once_send_one_message_and_neither_fails()
    {
        await using var scenario = Scenario(out _);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var message = QueuesModelFactory.QueueMessage(
            Guid.NewGuid().ToString(), "pop-receipt", new BinaryData(JsonSerializer.Serialize(new ReferralEvent(ReferralEvent.Submitted, request!.Id!))),
            dequeueCount: 1, insertedOn: scenario.Time.GetUtcNow());

        // The same queue message handed to the function four times at once, as the host may after a lost lease: the
        // function as the worker activates it, once per invocation.
        var failures = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var scope = scenario.App.WorkerServices.CreateScope();
            var function = ActivatorUtilities.CreateInstance<NotificationFunction>(scope.ServiceProvider);
            try
            {
                await function.RunAsync(message, Ct);
                return null;
            }
            catch (Exception e)
            {
                return e.Message;
            }
        }));
        // And the queued original, delivered after.
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        Assert.All(failures, Assert.Null);
        var mail = Assert.Single(Mails(scenario, ReferralEvent.Submitted));
        Assert.Contains($"{scenario.Therapist}@therapists.test", mail.To.Mailboxes.Single().Address, StringComparison.Ordinal);
        Assert.Single(Directory.EnumerateFiles(scenario.App.MailFolder));
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
        // The collection's Azurite is shared by other classes, which may leave their own poison messages: only this
        // referral's count.
        Assert.Empty(await own.MessagesNamingAsync(ReferralNotifications.QueueName + "-poison", id));
    }

    [Fact]
    public async Task An_event_whose_write_never_landed_is_looked_at_again_for_ten_minutes_then_tells_nothing_and_never_reaches_the_poison_queue()
    {
        // A failed try is handed out again at once here, so five of them (the host's maxDequeueCount) would poison it in a drain.
        var clock = TestClock.Fake();
        await using var scenario = Scenario(out _, clock, new Dictionary<string, string?> { ["TriggerRunner:VisibilityTimeout"] = "00:00:00" });
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        // A decline that lost its race (its version 2 was never written) and a submit whose transaction failed.
        var neverStored = $"{id[..id.LastIndexOf('.')]}.{Guid.NewGuid().ToString("N")[..20]}";
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.Declined, id) { Version = 2 });
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.Submitted, neverStored));

        // Looked at again after 1, 2, 4 and 8 minutes: still waiting before the last, and gone after it.
        foreach (var minutes in new[] { 1, 2, 4, 8 })
        {
            Assert.Equal(2, (await own.MessagesNamingAsync(ReferralNotifications.QueueName, id, neverStored)).Count);
            clock.Advance(TimeSpan.FromMinutes(minutes));
            await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        }

        Assert.Empty(await own.MessagesNamingAsync(ReferralNotifications.QueueName, id, neverStored));
        Assert.Empty(await own.MessagesNamingAsync(ReferralNotifications.QueueName + "-poison", id, neverStored));
        Assert.Empty(Mails(scenario, "declined"));
        Assert.DoesNotContain(Mails(scenario), m => m.TextBody?.Contains(neverStored, StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task An_event_that_comes_before_its_write_is_told_once_the_write_lands()
    {
        var clock = TestClock.Fake();
        await using var scenario = Scenario(out var physicianEmail, clock, new Dictionary<string, string?> { ["TriggerRunner:VisibilityTimeout"] = "00:00:00" });
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        // The decline's event, taken before its transaction is stored: it waits for version 2.
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.Declined, id) { Version = 2 });
        Assert.Empty(Mails(scenario, "declined"));

        using var therapist = scenario.AsTherapist();
        (await PostAsync(therapist, id, "decline", ReferralScenario.Reason("No openings."))).EnsureSuccessStatusCode();
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        clock.Advance(TimeSpan.FromMinutes(1));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        // Told once, by whichever copy came first; the other finds it sent.
        var declined = Assert.Single(Mails(scenario, "declined"));
        Assert.Equal(physicianEmail, declined.To.Mailboxes.Single().Address);
        Assert.Empty(await own.MessagesNamingAsync(ReferralNotifications.QueueName, id));
    }

    [Fact]
    public async Task A_claim_left_by_a_sender_that_died_holds_off_other_deliveries_for_five_minutes_then_is_taken_over_and_sent_once()
    {
        var clock = TestClock.Fake();
        await using var scenario = Scenario(out _, clock);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var id = request!.Id!;
        // A delivery that claimed the therapist's message and died before sending it (its claim is never marked sent).
        var baseUrl = scenario.App.WorkerServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<SmartAppOptions>>().Value.BaseUrl;
        var messageId = $"{ReferralEvent.Submitted}.{id}@{new Uri(baseUrl).Host}";
        var store = scenario.App.Services.GetRequiredService<ReferralStore>();
        Assert.Equal(SendClaim.Won, await store.ClaimSendAsync(id, messageId, clock.GetUtcNow(), NotificationFunction.SendLease, Ct));

        // Another delivery within the lease leaves the message to the claim's sender.
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        Assert.Empty(Mails(scenario, ReferralEvent.Submitted));
        clock.Advance(NotificationFunction.SendLease - TimeSpan.FromSeconds(1));
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.Submitted, id));
        Assert.Empty(Mails(scenario, ReferralEvent.Submitted));

        // The dead sender's own redelivery, once the lease is over, takes the claim over and sends; a later one does not.
        clock.Advance(TimeSpan.FromSeconds(2));
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.Submitted, id));
        await Redeliver(scenario, new ReferralEvent(ReferralEvent.Submitted, id));
        var mail = Assert.Single(Mails(scenario, ReferralEvent.Submitted));
        Assert.Equal(messageId, mail.MessageId);
    }

    /// <summary>A scenario whose physician has an address of their own (Notifications:Physicians), besides the fallback desk.</summary>
    private ReferralScenario Scenario(out string physicianEmail, TimeProvider? time = null, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var physician = $"dr-{Guid.NewGuid().ToString("N")[..8]}";
        physicianEmail = $"{physician}@clinic.test";
        var settings = new Dictionary<string, string?>
        {
            ["Notifications:PhysicianFallback"] = "desk@clinic.test",
            ["Notifications:Physicians:0:Reference"] = $"Practitioner/{physician}",
            ["Notifications:Physicians:0:Email"] = physicianEmail,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new ReferralScenario(own.Azurite, identity, physician: physician, settings: settings, time: time);
    }

    /// <summary>The same event delivered again (the host delivers at least once), and the queue drained.</summary>
    private async Task Redeliver(ReferralScenario scenario, ReferralEvent message)
    {
        await own.Queue(ReferralNotifications.QueueName).SendMessageAsync(JsonSerializer.Serialize(message), Ct);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
    }

    private static List<MimeMessage> Mails(ReferralScenario scenario, string? kind = null) =>
    [
        .. scenario.App.Mail()
            .Select(text => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(text))))
            .Where(m => kind is null || m.Headers["X-Referral-Event"] == kind),
    ];

    /// <summary>Where a physician's message sends them: the app's launch from their EHR, behind its sign-in.</summary>
    private static string LaunchLink(ReferralScenario scenario) => $"/launch?iss={Uri.EscapeDataString(scenario.Ehr)}";

    /// <summary>The scenario's patient (id and name), diagnosis, body sites and note appear nowhere in the message.</summary>
    private static void AssertNoPatientData(ReferralScenario scenario, MimeMessage mail)
    {
        var text = mail.ToString();
        foreach (var forbidden in new[] { scenario.Patient, "Alex Doe", "G56.01", "Carpal", "carpal", "wrist", "Wrist", "Night-time numbness" })
        {
            Assert.DoesNotContain(forbidden, text, StringComparison.Ordinal);
        }
    }
}

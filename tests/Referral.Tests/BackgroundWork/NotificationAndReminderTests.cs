extern alias worker;

using System.Text.Json;
using Azure.Storage.Queues;
using Referral.Functions.Referrals;
using Referral.Tests.Infrastructure;
using worker::Referral.Worker.Reminders;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.BackgroundWork;

/// <summary>The therapist told of a new referral, reminded, the physician told, through the queue and the timer.</summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class NotificationAndReminderTests(Infrastructure.BackgroundWork.OwnAzurite own, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, string?> PhysicianAddress = new()
    {
        ["Notifications:PhysicianFallback"] = "desk@clinic.test",
    };

    [Fact]
    public async Task A_new_referral_notifies_its_therapist_once_with_a_link_to_its_page_and_no_patient_data()
    {
        await using var scenario = new ReferralScenario(own.Azurite, identity, settings: new Dictionary<string, string?> { ["SmartApp:BaseUrl"] = "https://app.test" });
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());

        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var mail = Assert.Single(scenario.App.Mail());
        Assert.Contains($"To: {scenario.Therapist}@therapists.test", mail, StringComparison.Ordinal);
        Assert.Contains($"https://app.test/inbox/referrals/{request!.Id}", mail, StringComparison.Ordinal);
        Assert.DoesNotContain(scenario.Patient, mail, StringComparison.Ordinal);
        Assert.DoesNotContain("Alex Doe", mail, StringComparison.Ordinal);
        Assert.DoesNotContain("Night-time numbness", mail, StringComparison.Ordinal);
        var file = Directory.EnumerateFiles(scenario.App.MailFolder).Single();
        var written = File.GetLastWriteTimeUtc(file);

        // The same message delivered again (the host delivers at least once): nothing is sent again.
        var queue = new QueueClient(own.Azurite.ConnectionString, ReferralNotifications.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.SendMessageAsync(JsonSerializer.Serialize(new ReferralEvent(ReferralEvent.Submitted, request.Id!)), Ct);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        Assert.Single(scenario.App.Mail());
        Assert.Equal(written, File.GetLastWriteTimeUtc(file));
    }

    [Fact]
    public async Task A_failed_send_is_retried_a_minute_later_by_the_clock_and_the_therapist_is_told_once()
    {
        var clock = TestClock.Fake();
        await using var scenario = new ReferralScenario(own.Azurite, identity, time: clock);
        await scenario.SeedTherapistsAsync();
        // A file where the pickup folder should be: every send fails, as with a mail server that is down.
        File.WriteAllText(scenario.App.MailFolder, "");
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var queue = new QueueClient(own.Azurite.ConnectionString, ReferralNotifications.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var poison = new QueueClient(own.Azurite.ConnectionString, ReferralNotifications.QueueName + "-poison", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        bool Mine(Azure.Storage.Queues.Models.PeekedMessage m) => m.Body.ToString().Contains(request!.Id!, StringComparison.Ordinal);

        await scenario.App.Triggers.PollQueuesOnceAsync(Ct);

        var copy = JsonSerializer.Deserialize<ReferralEvent>(Assert.Single((await queue.PeekMessagesAsync(32, Ct)).Value, Mine).Body.ToString())!;
        Assert.Equal((ReferralEvent.Submitted, 2, clock.GetUtcNow() + TimeSpan.FromMinutes(1)), (copy.Kind, copy.Attempt, copy.NotBefore));
        Assert.False(Directory.Exists(scenario.App.MailFolder));

        // The mail server is back; a minute later by the clock the copy is due and sends.
        File.Delete(scenario.App.MailFolder);
        clock.Advance(TimeSpan.FromMinutes(1));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        Assert.Contains($"To: {scenario.Therapist}@therapists.test", Assert.Single(scenario.App.Mail()), StringComparison.Ordinal);
        Assert.DoesNotContain((await queue.PeekMessagesAsync(32, Ct)).Value, Mine);
        Assert.True(!await poison.ExistsAsync(Ct) || !(await poison.PeekMessagesAsync(32, Ct)).Value.Any(Mine));
    }

    [Fact]
    public async Task The_reminder_timer_reminds_the_therapist_then_tells_the_physician_of_an_unanswered_referral_once_each()
    {
        var clock = TestClock.Fake();
        await using var scenario = new ReferralScenario(own.Azurite, identity, settings: PhysicianAddress, time: clock);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft());
        var (_, answered) = await scenario.SubmitAsync(scenario.Draft());
        using (var therapist = scenario.AsTherapist())
        {
            await therapist.PostAsync(ReferralScenario.Url($"/api/fhir/Task/{answered!.Id}/$accept"), null, Ct);
        }

        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        var told = scenario.App.Mail().Count;

        clock.Advance(TimeSpan.FromHours(47));
        Assert.Contains(ReminderFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        Assert.Equal(told, scenario.App.Mail().Count);

        clock.Advance(TimeSpan.FromHours(2));
        Assert.Contains(ReminderFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        // The timer walks every therapist, so other referrals in storage may be reminded too: this test reads its own.
        bool Is(string mail, string kind, string id) => mail.Contains($"X-Referral-Event: {kind}", StringComparison.Ordinal) && mail.Contains(id, StringComparison.Ordinal);
        var reminder = Assert.Single(scenario.App.Mail(), m => Is(m, "therapist-reminder", request!.Id!));
        Assert.Contains($"To: {scenario.Therapist}@therapists.test", reminder, StringComparison.Ordinal);
        Assert.Contains($"/inbox/referrals/{request!.Id}", reminder, StringComparison.Ordinal);
        Assert.DoesNotContain("Alex Doe", reminder, StringComparison.Ordinal);
        Assert.DoesNotContain("Night-time numbness", reminder, StringComparison.Ordinal);
        Assert.DoesNotContain(scenario.App.Mail(), m => m.Contains(answered.Id!, StringComparison.Ordinal) && m.Contains("therapist-reminder", StringComparison.Ordinal));

        // Fifteen minutes on: the timer runs again and queues nothing new.
        clock.Advance(TimeSpan.FromMinutes(15));
        Assert.Contains(ReminderFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        Assert.Single(scenario.App.Mail(), m => Is(m, "therapist-reminder", request!.Id!));
        Assert.DoesNotContain(scenario.App.Mail(), m => Is(m, "physician-unanswered", request!.Id!));

        clock.Advance(TimeSpan.FromDays(3));
        Assert.Contains(ReminderFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        var physician = Assert.Single(scenario.App.Mail(), m => Is(m, "physician-unanswered", request!.Id!));
        Assert.Contains("To: desk@clinic.test", physician, StringComparison.Ordinal);
        Assert.Contains($"/launch?iss={Uri.EscapeDataString(scenario.Ehr)}", physician, StringComparison.Ordinal);
        Assert.DoesNotContain("Alex Doe", physician, StringComparison.Ordinal);
        // The referral is named by the therapist it went to (a person the desk can call), not by the patient (issue 23).
        Assert.Contains("Your referral to Sam Lee, LMT, written on", physician, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_referral_on_hold_is_not_reminded_as_unanswered_but_its_expiry_is_still_warned_of()
    {
        var clock = TestClock.Fake();
        await using var scenario = new ReferralScenario(own.Azurite, identity, settings: PhysicianAddress, time: clock);
        await scenario.SeedTherapistsAsync();
        var (_, request) = await scenario.SubmitAsync(scenario.Draft() with { Sessions = 2, ValidUntil = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(10) });
        var id = request!.Id!;
        using (var therapist = scenario.AsTherapist())
        {
            (await Referrals.CourseCloseAndRenewalTests.PostAsync(therapist, id, "hold", ReferralScenario.Reason("Asked the physician about the dose."))).EnsureSuccessStatusCode();
        }

        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        // Six days on: past both the therapist's reminder (2 days) and the physician's "unanswered" (5 days), and 4 days before the end of the validity.
        clock.Advance(TimeSpan.FromDays(6));
        Assert.Contains(ReminderFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        bool Is(string mail, string kind) => mail.Contains($"X-Referral-Event: {kind}", StringComparison.Ordinal) && mail.Contains(id, StringComparison.Ordinal);
        Assert.DoesNotContain(scenario.App.Mail(), m => Is(m, "therapist-reminder"));
        Assert.DoesNotContain(scenario.App.Mail(), m => Is(m, "physician-unanswered"));
        Assert.Equal(2, scenario.App.Mail().Count(m => Is(m, "prescription-expiring")));
    }

    [Fact]
    public async Task The_reminder_timer_warns_therapist_and_physician_of_a_prescription_about_to_expire()
    {
        var clock = TestClock.Fake();
        var settings = new Dictionary<string, string?>(PhysicianAddress) { ["Notifications:Physicians:0:Reference"] = "Practitioner/dr-expiry", ["Notifications:Physicians:0:Email"] = "expiry@clinic.test" };
        await using var scenario = new ReferralScenario(own.Azurite, identity, settings: settings, time: clock);
        await scenario.SeedTherapistsAsync();
        var id = await scenario.SubmitAndAcceptAsync(scenario.Draft() with { Sessions = 2, ValidUntil = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(20) });

        clock.Advance(TimeSpan.FromDays(14));
        await scenario.App.Triggers.RunDueTimersAsync(Ct);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        var warnings = scenario.App.Mail().Where(m => m.Contains("X-Referral-Event: prescription-expiring", StringComparison.Ordinal) && m.Contains(id, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, m => m.Contains($"To: {scenario.Therapist}@therapists.test", StringComparison.Ordinal));
        Assert.Contains(warnings, m => m.Contains("To: desk@clinic.test", StringComparison.Ordinal) && m.Contains("/launch?iss=", StringComparison.Ordinal));
        Assert.Contains(warnings, m => m.Contains($"/inbox/referrals/{id}", StringComparison.Ordinal));
        Assert.All(warnings, m => Assert.DoesNotContain("Alex Doe", m, StringComparison.Ordinal));
        Assert.All(warnings, m => Assert.DoesNotContain("Night-time numbness", m, StringComparison.Ordinal));
    }
    [Fact]
    public async Task The_reminder_timer_reads_only_the_due_index_and_the_referrals_it_names_never_a_therapists_whole_partition()
    {
        var clock = TestClock.Fake();
        await using var log = await StorageRequestLog.StartAsync(own.Azurite.ConnectionString);
        await using var scenario = new ReferralScenario(own.Azurite, identity, settings: new Dictionary<string, string?>(PhysicianAddress) { [Functions.Storage.StorageAccount.SettingName] = log.ConnectionString }, time: clock);
        await scenario.SeedTherapistsAsync();
        var (_, waiting) = await scenario.SubmitAsync(scenario.Draft());
        var answered = await scenario.SubmitAndAcceptAsync(scenario.Draft() with { Sessions = 2, ValidUntil = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(60) });
        for (var i = 0; i < 4; i++)
        {
            await scenario.SubmitAndAcceptAsync();
        }

        // The first run indexes the partitions stored before the index, once (of this test's: none but the marker, its referrals were indexed as they were written).
        clock.Advance(TimeSpan.FromMinutes(15));
        Assert.Contains(ReminderFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);
        clock.Advance(TimeSpan.FromHours(49));
        var from = log.Requests.Count;
        Assert.Contains(ReminderFunction.Name, await scenario.App.Triggers.RunDueTimersAsync(Ct));
        var run = log.Since(from);
        await scenario.App.Triggers.DrainAsync(Deadline, Ct);

        TestContext.Current.SendDiagnosticMessage($"timer run: {run.Count} table requests: {string.Join(", ", run.Distinct().Select(r => $"{r} x{run.Count(x => x == r)}"))}");
        Assert.Single(scenario.App.Mail(), m => m.Contains("X-Referral-Event: therapist-reminder", StringComparison.Ordinal) && m.Contains(waiting!.Id!, StringComparison.Ordinal));
        Assert.DoesNotContain(scenario.App.Mail(), m => m.Contains("therapist-reminder", StringComparison.Ordinal) && m.Contains(answered, StringComparison.Ordinal));
        // Key-only queries of the due index; no range read of ServiceRequests, Tasks or work rows.
        Assert.Contains("GET Referrals query due|", run);
        Assert.DoesNotContain(run, r => r.StartsWith("GET Referrals query", StringComparison.Ordinal) && r != "GET Referrals query due|");
        // Point reads of what was due (this test's waiting referral; other tests' due ones): not of its five others.
        Assert.Contains("GET Referrals point task|", run);
    }
}

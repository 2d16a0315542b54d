using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Referral.Functions.Referrals;
using Referral.Functions.Therapists;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Terminology;
using SandboxEhr.Fhir;
using Referral.Tests.Infrastructure;
using Referral.Tests.Reports;

namespace Referral.Tests.Browser;

/// <summary>
/// The whole mission in Debian's Chromium, on the local run: a physician launches from the sandbox EHR and refers
/// the patient with lymphedema after breast cancer (only therapists trained in manual lymph drainage are offered);
/// the therapist signs in, finds the referral in the inbox, asks the physician a question and puts the referral on hold
/// until the answer comes; the physician sees it on hold with the reason and answers; the therapist accepts and records
/// two sessions with falling pain; the physician launches again and sees the course in progress, the two points on the
/// chart and each session in full; the sandbox EHR holds the Observations the queue wrote back; the therapist records
/// the rest of the prescribed sessions and asks for a renewal, the 7th session is refused before the physician approves
/// 4 more and accepted after; the therapist completes the course and the physician sees it completed. Every step is kept as a screenshot and every page is scanned with axe.
/// </summary>
[Collection(nameof(Infrastructure.BackgroundWork))]
public sealed class ClosedLoopJourneyBrowserTests(Infrastructure.BackgroundWork.OwnAzurite own, Chromium chromium) : IClassFixture<Chromium>
{
    /// <summary>
    /// The practice's zone, an ordinary one west of UTC: the physician prescribes there (the referral's validity dates
    /// are days there) and the therapist types session times there. The run's clock (TestClock) may stand at any hour,
    /// where the local date and the UTC date differ for a third of the day.
    /// </summary>
    private static readonly TimeZoneInfo PracticeZone = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");

    [Fact]
    public async Task A_lymphedema_referral_goes_from_the_physician_to_the_therapist_and_back_to_the_chart_until_completed()
    {
        var ct = TestContext.Current.CancellationToken;
        // One clock for the sandbox EHR, the functions app and the smart-app, moved on when the journey says so.
        var time = TestClock.Fake();
        await using var run = await LocalRun.StartAsync(own.Azurite, ct, new Dictionary<string, string?> { ["Inbox:TimeZone"] = PracticeZone.Id, ["Ehrs:0:TimeZone"] = PracticeZone.Id }, time);

        // 1. The physician launches from Helen Park's chart and sends the referral.
        await using var physician = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1100 } });
        var ehr = await physician.NewPageAsync();
        var frame = await LaunchFromChartAsync(ehr, run, signIn: true);
        await Chromium.ScreenshotAsync(ehr, "closed-loop-01-physician-form");
        await Chromium.ScreenshotAndScanAsync(physician, frame.Url, "closed-loop-01-physician-form-page");

        var offered = await frame.Locator("input[name='Input.Therapist']").EvaluateAllAsync<string[]>("inputs => inputs.map(i => i.value)");
        // Only therapists trained in manual lymph drainage (tests sharing this Azurite may have added more of them).
        var directory = await run.Functions.Services.GetRequiredService<TherapistDirectory>().AllAsync(ct);
        var mld = TherapistTrainings.Codes.For(TherapistTraining.ManualLymphDrainage);
        Assert.Contains("therapist-olivia-hart", offered);
        Assert.All(offered, id => Assert.Contains(TherapistDirectory.Trainings(directory[id]), mld.Matches));
        Assert.Contains(directory.Values, role => !TherapistDirectory.Trainings(role).Any(mld.Matches));
        foreach (var site in new[] { "UpperArm-Left", "Forearm-Left", "Hand-Left" })
        {
            await frame.Locator($"#site-{site}").CheckAsync();
        }

        await frame.GetByLabel("Lymph nodes removed or irradiated").CheckAsync();
        await frame.GetByRole(AriaRole.Radio, new() { Name = "Olivia Hart" }).CheckAsync();
        await frame.GetByRole(AriaRole.Button, new() { Name = "Review referral" }).ClickAsync();
        await frame.GetByRole(AriaRole.Heading, new() { Name = "Review the referral" }).WaitForAsync();
        await Chromium.ScreenshotAsync(ehr, "closed-loop-02-physician-review");
        await frame.GetByRole(AriaRole.Button, new() { Name = "Sign and send" }).ClickAsync();
        var status = frame.Locator("[data-status]").First;
        await status.WaitForAsync();
        Assert.Equal("sent", await status.GetAttributeAsync("data-status"));
        await Chromium.ScreenshotAsync(ehr, "closed-loop-03-physician-sent");
        var referralId = new Uri(frame.Url).Segments[^1];
        var prescribed = 6;
        Assert.Contains($"0 done, {prescribed} remaining of {prescribed}", await frame.Locator("dl.summary").First.InnerTextAsync(), StringComparison.Ordinal);

        // The queues: the therapist's notification (a link to the referral's page) and the referral written into the EHR.
        await run.Functions.Triggers.DrainAsync(TimeSpan.FromSeconds(30), ct);
        var ehrRecord = run.Sandbox.Services.GetRequiredService<FhirStore>();
        var stored = await run.Functions.Services.GetRequiredService<ReferralStore>().GetAsync(referralId, ct);
        var placer = Assert.Single(stored!.Request.Identifier, i => i.System == Canonicals.PlacerIdentifierSystem);
        var written = Assert.Single(ehrRecord.All<ServiceRequest>(), r => r.Identifier.Any(i => i.System == placer.System && i.Value == placer.Value));
        Assert.EndsWith("Patient/helen-park", written.Subject?.Reference, StringComparison.Ordinal);
        var link = $"{run.AppBase}/inbox/referrals/{referralId}";
        Assert.Contains(run.Functions.Mail(), mail => mail.Contains(link, StringComparison.Ordinal));

        // An hour later the therapist gets to it: the sessions below start after the referral was written.
        time.Advance(TimeSpan.FromHours(1));

        // 2. The therapist signs in, finds the referral in the inbox as new, opens it and accepts it.
        await using var therapist = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        var inbox = await therapist.NewPageAsync();
        await inbox.GotoAsync(run.AppBase + "/inbox");
        await inbox.GetByRole(AriaRole.Heading, new() { Name = "Sign in to the therapist inbox" }).WaitForAsync();
        await Chromium.ScreenshotAsync(inbox, "closed-loop-04-therapist-sign-in");
        await inbox.GetByLabel("Olivia Hart, LMT").CheckAsync();
        await inbox.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await inbox.GetByRole(AriaRole.Heading, new() { Name = "Your referrals" }).WaitForAsync();
        await inbox.GetByRole(AriaRole.Link, new() { Name = "New (1)" }).WaitForAsync();
        await Chromium.ScreenshotAsync(inbox, "closed-loop-05-therapist-inbox");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);

        await inbox.GetByRole(AriaRole.Link, new() { Name = "Helen Park", Exact = false }).ClickAsync();
        await inbox.GetByRole(AriaRole.Button, new() { Name = "Accept" }).WaitForAsync();
        Assert.Equal(link, inbox.Url);
        Assert.Contains("I89.0", await inbox.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(inbox, "closed-loop-06-therapist-referral");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);
        // 2b. Before accepting, the therapist asks the physician a question and puts the referral on hold until the answer comes.
        const string question = "Is compression bandaging after each session acceptable with the current radiotherapy skin care?";
        const string waitingFor = "Waiting for the physician's answer about compression bandaging.";
        await inbox.GetByLabel("Message to the physician (a question before you accept, or during treatment)").FillAsync(question);
        await inbox.GetByRole(AriaRole.Button, new() { Name = "Send message" }).ClickAsync();
        await inbox.GetByText("Your message is sent.").WaitForAsync();
        await inbox.GetByLabel("What you are waiting for (the physician sees it)").FillAsync(waitingFor);
        await inbox.GetByRole(AriaRole.Button, new() { Name = "Put on hold" }).ClickAsync();
        await inbox.GetByText("The referral is on hold.").WaitForAsync();
        Assert.Equal("on-hold", await inbox.Locator("[data-status]").First.GetAttributeAsync("data-status"));
        var history = await inbox.Locator("ol.timeline").InnerTextAsync();
        Assert.Contains($"Put on hold by the therapist: {waitingFor}", history, StringComparison.Ordinal);
        // The history's times are the practice's, named, as the sessions' are.
        Assert.Contains($"{Referral.Model.Sessions.SessionSummaries.When(time.GetUtcNow(), PracticeZone)} Put on hold", history, StringComparison.Ordinal);
        await inbox.GetByRole(AriaRole.Button, new() { Name = "Resume" }).WaitForAsync();
        await Chromium.ScreenshotAsync(inbox, "closed-loop-06b-therapist-on-hold");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);
        await run.Functions.Triggers.DrainAsync(TimeSpan.FromSeconds(30), ct);

        // 2c. The physician launches again: the referral is on hold with the therapist's reason, the question is there; they answer.
        time.Advance(TimeSpan.FromMinutes(5));
        frame = await LaunchFromChartAsync(ehr, run, signIn: false);
        await frame.GetByRole(AriaRole.Link, new() { Name = "Referrals and progress" }).ClickAsync();
        await frame.Locator("table.referrals").WaitForAsync();
        Assert.Equal("On hold", (await frame.Locator("table.referrals [data-status]").First.InnerTextAsync()).Trim());
        await frame.Locator($"a[href$='/referrals/{referralId}']").ClickAsync();
        await frame.Locator("[data-messages]").WaitForAsync();
        Assert.Equal("on-hold", await frame.Locator("[data-status]").First.GetAttributeAsync("data-status"));
        Assert.Contains($"On hold: {waitingFor}", await frame.Locator("p.lead").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains($"Put on hold by the therapist: {waitingFor}", await frame.Locator("ol.timeline").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains(question, await frame.Locator("[data-message]").First.InnerTextAsync(), StringComparison.Ordinal);
        await frame.GetByLabel("Message to the therapist").FillAsync("Yes: light compression is fine; avoid the irradiated skin of the axilla.");
        await frame.GetByRole(AriaRole.Button, new() { Name = "Send message" }).ClickAsync();
        await frame.Locator("[data-message]").Nth(1).WaitForAsync();
        await Chromium.ScreenshotAsync(ehr, "closed-loop-06c-physician-answers");
        await Chromium.ScreenshotAndScanAsync(physician, frame.Url, "closed-loop-06c-physician-answers-page");

        // 2d. The therapist reads the answer and accepts straight from the hold.
        await inbox.ReloadAsync();
        Assert.Contains("avoid the irradiated skin", await inbox.Locator("[data-message]").Nth(1).InnerTextAsync(), StringComparison.Ordinal);
        await inbox.GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();
        await inbox.GetByText("You accepted the referral.").WaitForAsync();
        Assert.Equal(0, await inbox.GetByRole(AriaRole.Button, new() { Name = "Resume" }).CountAsync());

        // 3. Two sessions of 15 minutes that have ended, pain falling from 6 to 3 and from 4 to 2.
        await RecordSessionAsync(inbox, SessionStart(time, 1), painBefore: 6, painAfter: 3, screenshot: "closed-loop-07-therapist-session-form");
        await inbox.GetByText($"The session was recorded: 1 of {prescribed} sessions used.").WaitForAsync();
        await RecordSessionAsync(inbox, SessionStart(time, 2), painBefore: 4, painAfter: 2);
        await inbox.GetByText($"The session was recorded: 2 of {prescribed} sessions used.").WaitForAsync();
        await Chromium.ScreenshotAsync(inbox, "closed-loop-08-therapist-two-sessions");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);

        // The queue writes each session's Observations back into the chart, basedOn the EHR's own ServiceRequest.
        await run.Functions.Triggers.DrainAsync(TimeSpan.FromSeconds(30), ct);
        var backInTheChart = ehrRecord.All<Observation>().Where(o => o.BasedOn.Any(b => b.Reference == $"ServiceRequest/{written.Id}")).ToList();
        Assert.Equal(4, backInTheChart.Count(o => o.Value is Quantity));
        Assert.All(backInTheChart, o => Assert.EndsWith("Patient/helen-park", o.Subject?.Reference, StringComparison.Ordinal));

        // 4. The physician launches again: in progress, 2 of 6, two points on the chart, each session in full.
        frame = await LaunchFromChartAsync(ehr, run, signIn: false);
        await frame.GetByRole(AriaRole.Link, new() { Name = "Referrals and progress" }).ClickAsync();
        await frame.Locator("table.referrals").WaitForAsync();
        Assert.Equal($"In progress: 2 of {prescribed} sessions", (await frame.Locator("table.referrals [data-status]").First.InnerTextAsync()).Trim());
        await frame.Locator($"a[href$='/referrals/{referralId}']").ClickAsync();
        await frame.GetByRole(AriaRole.Heading, new() { Name = "Pain over the sessions" }).WaitForAsync();
        status = frame.Locator("[data-status]").First;
        await status.WaitForAsync();
        Assert.Equal("in-progress", await status.GetAttributeAsync("data-status"));
        Assert.Equal($"In progress: 2 of {prescribed} sessions", (await status.InnerTextAsync()).Trim());
        Assert.Equal(2, await frame.Locator("svg circle.before").CountAsync());
        Assert.Equal(2, await frame.Locator("svg circle.after").CountAsync());
        Assert.Equal(2, await frame.Locator(".sessions .session").CountAsync());
        var secondSession = await frame.Locator(".sessions .session[data-session='2']").InnerTextAsync();
        foreach (var part in new[] { "15 minutes", "Manual lymph drainage", "4 before, 2 after", "Arm feels lighter." })
        {
            Assert.Contains(part, secondSession, StringComparison.Ordinal);
        }

        // The session's time as the therapist typed it, in the practice's zone, named.
        Assert.Contains(Referral.Model.Sessions.SessionSummaries.When(SessionStart(time, 2), PracticeZone), secondSession, StringComparison.Ordinal);
        Assert.Contains("forearm", secondSession, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Not stated", secondSession, StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(ehr, "closed-loop-09-physician-in-progress");
        await Chromium.ScreenshotAndScanAsync(physician, frame.Url, "closed-loop-09-physician-in-progress-page");

        // 4b. The therapist records the rest of the prescribed sessions and asks for a renewal of 4 more; the 7th session
        // is refused while the renewal waits.
        for (var session = 3; session <= prescribed; session++)
        {
            await RecordSessionAsync(inbox, SessionStart(time, session), painBefore: 3, painAfter: 2);
            await inbox.GetByText($"The session was recorded: {session} of {prescribed} sessions used.").WaitForAsync();
        }

        await inbox.GetByLabel("Why the patient needs more sessions").FillAsync("Swelling returns after two days.");
        await inbox.GetByLabel("Additional sessions (optional)").FillAsync("4");
        await inbox.GetByRole(AriaRole.Button, new() { Name = "Ask for a renewal" }).ClickAsync();
        await inbox.GetByText("You asked the physician for a renewal.").WaitForAsync();
        await RecordSessionAsync(inbox, SessionStart(time, prescribed + 1), painBefore: 3, painAfter: 1);
        await inbox.GetByRole(AriaRole.Heading, new() { Name = "The session was not recorded" }).WaitForAsync();
        Assert.Contains($"All {prescribed} prescribed sessions are already recorded.", await inbox.Locator(".error-summary").InnerTextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(inbox, "closed-loop-09a-therapist-seventh-session-refused");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);

        // 4c. The physician sees the request, approves it with the 4 sessions prefilled from it, and the therapist reads the answer.
        await frame.GotoAsync(frame.Url);
        await frame.Locator("[data-renewal]").WaitForAsync();
        Assert.Equal(prescribed, await frame.Locator(".sessions .session").CountAsync());
        Assert.Equal("4", await frame.GetByLabel("Sessions to add").InputValueAsync());
        await Chromium.ScreenshotAsync(ehr, "closed-loop-09b-physician-renewal");
        await Chromium.ScreenshotAndScanAsync(physician, frame.Url, "closed-loop-09b-physician-renewal-page");
        await frame.GetByRole(AriaRole.Button, new() { Name = "Approve the renewal" }).ClickAsync();
        await frame.Locator("[data-renewal-answered='approved']").WaitForAsync();
        Assert.Equal(0, await frame.Locator("[data-renewal]").CountAsync());
        Assert.Equal($"{prescribed} done, 4 remaining of {prescribed + 4}", (await frame.Locator("[data-sessions]").InnerTextAsync()).Trim());
        await Chromium.ScreenshotAsync(ehr, "closed-loop-09c-physician-renewal-approved");
        await inbox.GotoAsync(link);
        await inbox.Locator("[data-renewal-answer='approved']").WaitForAsync();
        await Chromium.ScreenshotAsync(inbox, "closed-loop-09d-therapist-renewal-approved");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);

        // 4d. The 7th session is now accepted.
        await RecordSessionAsync(inbox, SessionStart(time, prescribed + 1), painBefore: 3, painAfter: 1);
        await inbox.GetByText($"The session was recorded: {prescribed + 1} of {prescribed + 4} sessions used.").WaitForAsync();
        await Chromium.ScreenshotAsync(inbox, "closed-loop-09e-therapist-seventh-session");

        // 5. The therapist completes the course with a discharge summary; the physician sees it completed.
        await inbox.GetByLabel("Outcome of the course").FillAsync("Arm circumference down 2 cm; pain 6 to 2.");
        await inbox.GetByLabel("Recommendations (optional)").FillAsync("Compression sleeve daily; self-drainage twice a day.");
        await inbox.GetByRole(AriaRole.Button, new() { Name = "Complete the course" }).ClickAsync();
        await inbox.Locator("[data-status='completed']").First.WaitForAsync();
        await Chromium.ScreenshotAsync(inbox, "closed-loop-10-therapist-completed");
        await Chromium.AssertNoSeriousViolationsAsync(inbox);
        await run.Functions.Triggers.DrainAsync(TimeSpan.FromSeconds(30), ct);

        await frame.GotoAsync(frame.Url);
        status = frame.Locator("[data-status]").First;
        await status.WaitForAsync();
        Assert.Equal("completed", await status.GetAttributeAsync("data-status"));
        Assert.Contains("Compression sleeve daily", await frame.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(ehr, "closed-loop-11-physician-completed");
        await Chromium.ScreenshotAndScanAsync(physician, frame.Url, "closed-loop-11-physician-completed-page");

        // 5b. The reports: the physician downloads the chart's copy from the status page, the therapist the payer's from
        // the referral's page; both PDFs name the patient, the diagnosis and every session's pain, and only the payer's
        // bills (15 minutes of manual lymph drainage: CPT 97140, 1 unit each).
        var chartCopy = ReportApiTests.PdfText(await Chromium.DownloadAsync(ehr, frame.Locator("[data-report='chart']"), "closed-loop-12-physician-discharge-summary.pdf"));
        await inbox.GotoAsync(link);
        var payerCopy = ReportApiTests.PdfText(await Chromium.DownloadAsync(inbox, inbox.Locator("[data-report='payer']"), "closed-loop-13-therapist-payer-copy.pdf"));
        foreach (var text in new[] { chartCopy, payerCopy })
        {
            Assert.Contains("Medical massage discharge summary", text, StringComparison.Ordinal);
            Assert.Contains("Helen Park", text, StringComparison.Ordinal);
            Assert.Contains("ICD-10-CM I89.0", text, StringComparison.Ordinal);
            Assert.Contains("Pain 6/10 before, 3/10 after", text, StringComparison.Ordinal);
            Assert.Contains("Pain 4/10 before, 2/10 after", text, StringComparison.Ordinal);
            Assert.Equal(prescribed - 2, Occurrences(text, "Pain 3/10 before, 2/10 after"));
            Assert.Contains("Pain 3/10 before, 1/10 after", text, StringComparison.Ordinal);
            Assert.Contains("Arm circumference down 2 cm", text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("CPT", chartCopy, StringComparison.Ordinal);
        Assert.Equal(prescribed + 1, Occurrences(payerCopy, "CPT 97140 x 1 unit; ICD-10-CM I89.0"));

        // The chart holds the reports as documents about the EHR's own ServiceRequest: the progress note after the 4th
        // session (of the 4 sessions then), the one at the renewal request, and the discharge summary; each with a PDF
        // and an XHTML rendition whose hash and size are those of its content.
        var documents = ehrRecord.All<DocumentReference>()
            .Where(d => d.Context?.Related.Any(r => r.Reference?.EndsWith($"ServiceRequest/{written.Id}", StringComparison.Ordinal) == true) == true).ToList();
        Assert.All(documents, d => Assert.EndsWith("Patient/helen-park", d.Subject?.Reference, StringComparison.Ordinal));
        Assert.Equal(
            [($"{referralId}/discharge", "18842-5"), ($"{referralId}/renewal-1", "11506-3"), ($"{referralId}/session-4", "11506-3")],
            documents.Select(d => (d.Identifier.Single().Value, d.Type!.Coding.Single().Code)).Order());
        var afterFourth = ReportApiTests.PdfText(documents.Single(d => d.Identifier.Single().Value == $"{referralId}/session-4").Content[0].Attachment.Data!);
        // Of the sessions prescribed when it is written (the renewal since approved 4 more): the ServiceRequest keeps no older version.
        Assert.Contains($"Sessions: 4 done of {prescribed + 4} prescribed, {prescribed} remaining", afterFourth, StringComparison.Ordinal);
        Assert.DoesNotContain("Pain 3/10 before, 1/10 after", afterFourth, StringComparison.Ordinal);
        Assert.All(documents.SelectMany(d => d.Content), c =>
        {
            ReportApiTests.AssertHashIsOfContent(c.Attachment);
            // R4's size is an unsignedInt; the SDK's Size property is R5's integer64 and cannot read it, so the element is read.
            Assert.True(c.Attachment.TryGetValue("size", out var size) && size is UnsignedInt { Value: { } bytes } && bytes == c.Attachment.Data?.Length);
        });
        Assert.All(documents, d => Assert.Equal(["application/pdf", "application/xhtml+xml"], d.Content.Select(c => c.Attachment.ContentType)));

        // 6. Everything the functions API answered on the way, and everything written into the chart, keeps FHIR's
        // rules (judged by Firely's validator on the core specification); every referral it returned, the project's
        // own profile too (but for its status, which a completed course has left behind).
        var answers = run.App.FunctionsAnswers.ToList();
        Assert.Contains(answers, a => a.Request.AbsolutePath.Contains("/ServiceRequest", StringComparison.Ordinal));
        // The sessions' Observations come with the referral's course (ServiceRequest?_id=...&_revinclude=Observation:based-on).
        Assert.Contains(answers, a => a.Body.Contains("\"resourceType\":\"Observation\"", StringComparison.Ordinal));
        var problems = new List<string>();
        var referrals = new List<ServiceRequest>();
        foreach (var (request, body) in answers)
        {
            if (!Referral.Model.Fhir.FhirJson.TryParse(body, out var resource, out var parse))
            {
                problems.Add($"{request}: not strict FHIR: {string.Join("; ", parse.Issue.Select(i => i.Details?.Text))}");
                continue;
            }

            problems.AddRange(FhirSpec.Errors(resource!).Select(e => $"{request.PathAndQuery}: {e}"));
            referrals.AddRange(resource is Bundle bundle ? bundle.Entry.Select(e => e.Resource).OfType<ServiceRequest>() : resource is ServiceRequest one ? [one] : []);
        }

        problems.AddRange(ehrRecord.All<Observation>().Concat<Resource>(ehrRecord.All<ServiceRequest>()).Concat(ehrRecord.All<DocumentReference>()).SelectMany(FhirSpec.Errors).Select(e => "in the chart: " + e));
        var profile = new ReferralValidator(run.Time);
        foreach (var referral in referrals)
        {
            problems.AddRange(profile.Validate(referral, _ => Enum.GetValues<TherapistTraining>()).Problems()
                .Where(i => i.RuleOf() != ValidationRules.Status)
                .Select(i => $"ServiceRequest/{referral.Id} against the profile: {string.Join(", ", i.Expression)}: {i.Details?.Text}"));
        }

        Assert.NotEmpty(referrals);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>
    /// The start of session <paramref name="number"/>: the referral was written an hour before the therapist gets to it,
    /// and every session of 15 minutes starts after that and has ended by now, four minutes apart (the course is
    /// recorded in one sitting; nothing forbids sessions close together).
    /// </summary>
    private static DateTimeOffset SessionStart(TimeProvider time, int number) => time.GetUtcNow().AddMinutes(-60 + (4 * number));

    private static Task RecordSessionAsync(IPage page, DateTimeOffset start, int painBefore, int painAfter, string? screenshot = null) =>
        InboxPages.RecordSessionAsync(page, start, PracticeZone, "Manual lymph drainage", painBefore, painAfter, minutes: 15, "Arm feels lighter.",
            screenshot is null ? null : async () =>
            {
                await Chromium.ScreenshotAsync(page, screenshot);
                await Chromium.AssertNoSeriousViolationsAsync(page);
            });

    /// <summary>How often <paramref name="phrase"/> stands in <paramref name="text"/>, not overlapping.</summary>
    private static int Occurrences(string text, string phrase) => text.Split(phrase).Length - 1;

    /// <summary>Opens the sandbox EHR (signing in as Dr. Amelia Stone the first time), Helen Park's chart, and launches the app in its frame, once the form is there.</summary>
    private static async Task<IFrame> LaunchFromChartAsync(IPage page, LocalRun run, bool signIn)
    {
        await page.GotoAsync(run.EhrBase);
        if (signIn)
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in as Dr. Amelia Stone, MD" }).ClickAsync();
        }

        await page.GetByRole(AriaRole.Link, new() { Name = "Helen Park" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Medical massage referral" }).ClickAsync();
        var frame = page.Frame("app-frame")!;
        // The form's heading, then its address: a wait for the address alone can miss a navigation that commits while it is set up.
        await frame.GetByRole(AriaRole.Heading, new() { Name = "New medical-massage referral" }).WaitForAsync();
        Assert.StartsWith(run.AppBase + "/context/", frame.Url, StringComparison.Ordinal);
        return frame;
    }
}

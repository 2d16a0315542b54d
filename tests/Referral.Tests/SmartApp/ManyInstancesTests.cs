using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referral.Functions.Referrals;
using Referral.SmartApp.Health;
using Referral.SmartApp.Security;
using Referral.Tests.Infrastructure;
using StackExchange.Redis;

namespace Referral.Tests.SmartApp;

/// <summary>
/// Issue 16: the smart-app on two instances behind a round-robin balancer of the test's own (each request to the other
/// instance), sharing one real Redis: a physician launches on one and fills and sends the form on the other, and
/// when one instance stops in the middle the other carries on. Without Redis the second instance knows nothing of the
/// first's launch, which is why the app warns at start. What the app leaves in Redis is encrypted.
/// </summary>
public sealed class ManyInstancesTests(AzuriteFixture azurite, RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_physician_launches_on_one_instance_fills_the_form_on_the_other_and_sends_after_the_first_has_stopped()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, new Dictionary<string, string?> { [SharedState.ConfigurationKey] = redis.Configuration });
        using var started = await harness.StartAsync();
        await using var other = harness.AnotherInstance();
        using var balancer = new RoundRobin(harness.App, other);
        using var browser = balancer.Browser();

        var steps = await harness.LaunchAsync(browser);
        Assert.Equal(HttpStatusCode.SeeOther, steps.CallbackStatus);
        var html = await browser.GetStringAsync(new Uri(steps.FormPath!, UriKind.Relative), Ct);
        Assert.Contains("Dana Whitfield", html, StringComparison.Ordinal);
        using var review = await browser.PostAsync(new Uri(steps.FormPath + "?handler=Review", UriKind.Relative), ReferralFormTests.Form(html,
            ("Input.Diagnoses", "G56.01"), ("Input.Sites", "Wrist:Right"), ("Input.Sites", "Hand:Right"), ("Input.Sessions", "6"), ("Input.FrequencyTimes", "1"),
            ("Input.FrequencyUnit", "Week"), ("Input.Minutes", "60"), ("Input.ValidityDays", "90"), ("Input.CoverageId", "dana-whitfield-coverage"),
            ("Input.ClaimNumbers[dana-whitfield-coverage]", "WC-2026-004817"), ("Input.Therapist", "therapist-sam-rivera")), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, review.StatusCode);
        var summary = await browser.GetStringAsync(review.Headers.Location!, Ct);
        Assert.Contains("Sign and send", summary, StringComparison.Ordinal);
        Assert.Equal([0, 1], balancer.Served.Distinct().Order());

        // The instance that served the review page stops (a platform update); the other takes the send.
        await balancer.StopAsync(balancer.Served[^1]);
        using var sent = await browser.PostAsync(new Uri(review.Headers.Location + "?handler=Send", UriKind.Relative), ReferralFormTests.Form(summary), Ct);

        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        using var status = await browser.GetAsync(sent.Headers.Location!, Ct);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var stored = await harness.Functions.Services.GetRequiredService<ReferralStore>().FindAsync(ReferralLookup.Patient, ehr.FhirBase, "Patient/" + FakeEhr.PatientId, Ct);
        Assert.Single(stored);
    }

    [Fact]
    public async Task A_therapist_signs_in_on_one_instance_accepts_and_records_on_the_other_and_goes_on_after_the_first_has_stopped()
    {
        await using var stack = await InboxApps.StartAsync(azurite, appSettings: new Dictionary<string, string?> { [SharedState.ConfigurationKey] = redis.Configuration });
        await using var other = stack.AnotherInstance();
        using var balancer = new RoundRobin(stack.App, other);
        using var browser = balancer.Browser();
        var therapist = await stack.AddTherapistAsync("Rae", "Twoinstances");
        var id = await stack.SendReferralAsync(therapist);

        await stack.SignInAsync(browser, therapist);
        var page = await browser.GetStringAsync(new Uri($"/inbox/referrals/{id}", UriKind.Relative), Ct);
        using var accepted = await browser.PostAsync(new Uri($"/inbox/referrals/{id}?handler=Accept", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = SmartAppHarness.AntiforgeryToken(page),
        }), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, accepted.StatusCode);
        using var first = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(stack.Time.GetUtcNow().AddHours(-3)));
        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);
        Assert.Equal([0, 1], balancer.Served.Distinct().Order());

        // One instance stops in the middle of the course; the therapist goes on, signed in, on the other.
        await balancer.StopAsync(balancer.Served[^1]);
        using var second = await InboxApps.PostSessionAsync(browser, id, InboxApps.Session(stack.Time.GetUtcNow().AddHours(-1)));
        Assert.Equal(HttpStatusCode.SeeOther, second.StatusCode);
        Assert.Equal(2, (await stack.Functions.Services.GetRequiredService<ReferralStore>().ProceduresAsync(id, Ct)).Count);
    }

    [Fact]
    public async Task Requests_of_one_sign_in_on_both_instances_at_once_refresh_its_rotating_token_once_and_all_stay_signed_in()
    {
        await using var stack = await InboxApps.StartAsync(azurite, appSettings: new Dictionary<string, string?> { [SharedState.ConfigurationKey] = redis.Configuration });
        await using var other = stack.AnotherInstance();
        using var balancer = new RoundRobin(stack.App, other);
        using var browser = balancer.Browser();
        var therapist = await stack.AddTherapistAsync("Ola", "Tworefresh");
        await stack.SignInAsync(browser, therapist);

        // Within the refresh margin of the sandbox's one-hour token, pages are asked of both instances at once. The sandbox
        // rotates refresh tokens and revokes the grant when one is spent twice: a refresh on each instance would sign out.
        stack.Time.Advance(TimeSpan.FromMinutes(59));
        var pages = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => browser.GetAsync(new Uri("/inbox", UriKind.Relative), Ct)));

        Assert.All(pages, page => Assert.Equal(HttpStatusCode.OK, page.StatusCode));
        Assert.Equal([0, 1], balancer.Served.Distinct().Order());
        // Signed in still, with the refreshed token, on either instance.
        using var later = await browser.GetAsync(new Uri("/inbox", UriKind.Relative), Ct);
        using var again = await browser.GetAsync(new Uri("/inbox", UriKind.Relative), Ct);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (later.StatusCode, again.StatusCode));
        foreach (var page in pages)
        {
            page.Dispose();
        }
    }

    [Fact]
    public async Task The_refresh_gate_of_one_instance_holds_another_instances_request_for_the_same_key_until_it_is_left_and_names_no_session_in_Redis()
    {
        // Two instances' gates, as each app makes one from its Redis setting (the physician's launch refresh uses it too).
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var first = new SharedGate(() => connection.GetDatabase());
        var second = new SharedGate(() => connection.GetDatabase());
        var key = $"session-{Guid.NewGuid():N}/context-1";

        var held = await first.EnterAsync(key, Ct);
        var waiting = second.EnterAsync(key, Ct);
        await using (await second.EnterAsync(key + "-other", Ct))
        {
            // Another key is not held up.
        }

        await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);
        Assert.False(waiting.IsCompleted, "The second instance entered while the first held the key.");
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        Assert.Empty(server.Keys(pattern: $"*{key[..20]}*"));
        await held.DisposeAsync();
        await using var next = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task Without_Redis_the_other_instance_knows_nothing_of_the_launch_and_the_app_says_so_at_start()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var started = await harness.StartAsync();
        var logs = new RecordingLoggerProvider();
        await using var other = harness.AnotherInstance().WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(logs)));
        using var balancer = new RoundRobin(harness.App, other);
        using var browser = balancer.Browser();

        var steps = await harness.LaunchAsync(browser);

        // /launch was served by the first instance, its callback by the second, which has no record of that launch.
        Assert.Equal([0, 1], balancer.Served);
        Assert.NotEqual(HttpStatusCode.SeeOther, steps.CallbackStatus);
        Assert.DoesNotContain("Dana Whitfield", steps.CallbackBody, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Text.Contains("Redis:Configuration is not set", StringComparison.Ordinal) && e.Text.Contains("Run one instance only", StringComparison.Ordinal));
    }

    [Fact]
    public async Task After_a_launch_and_a_sent_referral_Redis_holds_no_token_and_no_patient_name_in_clear_text()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, new Dictionary<string, string?> { [SharedState.ConfigurationKey] = redis.Configuration });
        using var started = await harness.StartAsync();
        await using var other = harness.AnotherInstance();
        using var balancer = new RoundRobin(harness.App, other);
        using var browser = balancer.Browser();

        await ProgressWiringTests.SendFromTheFormAsync(harness, browser, ehr);

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();
        var dump = new StringBuilder();
        var keys = connection.GetServer(connection.GetEndPoints()[0]).KeysAsync(pattern: "*");
        await foreach (var key in keys)
        {
            dump.Append(key).Append('\n');
            // Each value as stored, read by its type (DUMP's format may compress strings and hide clear text).
            IEnumerable<RedisValue> values = await database.KeyTypeAsync(key) switch
            {
                RedisType.String => [await database.StringGetAsync(key)],
                RedisType.Hash => (await database.HashGetAllAsync(key)).SelectMany(e => new[] { e.Name, e.Value }),
                RedisType.List => await database.ListRangeAsync(key),
                RedisType.Set => await database.SetMembersAsync(key),
                var type => throw new InvalidOperationException($"The app wrote a {type} at {key}; read it here too."),
            };
            foreach (var value in values)
            {
                dump.Append(Encoding.UTF8.GetString((byte[])value!)).Append('\n');
            }
        }

        var text = dump.ToString();
        Assert.Contains(SharedState.DataProtectionKey, text, StringComparison.Ordinal);
        Assert.Contains("mmr:s:", text, StringComparison.Ordinal);
        Assert.NotEmpty(ehr.IssuedAccessTokens);
        foreach (var token in ehr.IssuedAccessTokens)
        {
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        }

        foreach (var clear in new[] { "Dana", "Whitfield", "WC-2026-004817", "G56.01", "Carpal", "refresh" })
        {
            Assert.DoesNotContain(clear, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task The_health_probe_reports_redis_down_with_503_and_ok_again_once_redis_is_back_without_a_restart()
    {
        await using var own = new RedisServer();
        await own.InitializeAsync();
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr, new Dictionary<string, string?> { [SharedState.ConfigurationKey] = own.Configuration });
        using var browser = harness.Browser();
        var health = new Uri(HealthEndpoints.Path, UriKind.Relative);

        using (var up = await browser.GetAsync(health, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, up.StatusCode);
            Assert.Contains("redis up", await up.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        await own.StopAsync();
        using (var down = await browser.GetAsync(health, Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            Assert.Contains("redis down", await down.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        await own.StartAsync();
        var back = HttpStatusCode.ServiceUnavailable;
        for (var attempt = 0; attempt < 60 && back != HttpStatusCode.OK; attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), Ct);
            using var again = await browser.GetAsync(health, Ct);
            back = again.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, back);
    }

    [Fact]
    public async Task Without_Redis_the_health_probe_says_the_state_is_in_memory()
    {
        using var ehr = new FakeEhr();
        await using var harness = new SmartAppHarness(azurite, ehr);
        using var browser = harness.Browser();

        using var response = await browser.GetAsync(new Uri(HealthEndpoints.Path, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("memory (one instance only)", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }
}

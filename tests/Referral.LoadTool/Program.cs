using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Azure.Data.Tables;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Referral.Functions.Referrals;
using Referral.Functions.Storage;
using Referral.Functions.Therapists;
using Referral.Model;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.LoadTool;

/// <summary>
/// Starts Azurite and the functions app (in-process Kestrel on loopback, real tokens from a local issuer) and measures,
/// as the issue 17 table asks, each against raw Azure.Data.Tables calls on the same Azurite, the two interleaved
/// operation by operation (each client alternates which goes first), so machine noise lands on both sides alike:
/// <list type="bullet">
/// <item>submit (POST ServiceRequest) against one raw transaction of the same entities the app writes;</item>
/// <item>the inbox page the smart-app requests (<c>Task?owner=&amp;status=requested,on-hold&amp;_include=Task:focus&amp;_count=20</c>)
/// against one raw range query of the same rows of the app's own table;</item>
/// <item>the storage requests of each action of one lifecycle (submit, accept, 3 sessions, complete), of an inbox
/// page and of an inbox count, counted on the wire by a pass-through in front of Azurite's tables and queues
/// (<see cref="StorageRequestLog"/>), on a second instance of the app so the timed one pays nothing for it.</item>
/// </list>
/// After the run it checks what was stored: one ServiceRequest per referral sent, no placer identifier twice. It ends
/// with one line per figure, <c>ratio NAME VALUE target TARGET</c>, for a script to read.
///
///     dotnet run -c Release --project tests/Referral.LoadTool -- --count 2000 --clients 16
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var count = Option(args, "--count", 2000);
        var clients = Option(args, "--clients", 16);
        Console.WriteLine($"Load: {count} referrals, {clients} concurrent clients, {Environment.ProcessorCount} cores.");

        await using var azurite = new AzuriteProcess();
        await azurite.StartAsync();
        await using var issuers = new Issuers();
        await issuers.StartAsync();
        await using var app = new LoadApp(azurite.ConnectionString, issuers.Settings);
        var baseAddress = app.Start();

        var therapists = Enumerable.Range(0, clients).Select(i => $"load-therapist-{i}").ToArray();
        var directory = app.Services.GetRequiredService<TherapistDirectory>();
        foreach (var therapist in therapists)
        {
            await directory.UpsertAsync(Role(therapist), CancellationToken.None);
        }

        var builder = new ReferralBuilder(TimeProvider.System);
        var run = Guid.NewGuid().ToString("N")[..6];
        var referrals = Enumerable.Range(0, count + Warmup).Select(i =>
        {
            var patient = $"p{i % 200}";
            var physician = $"dr{i % 50}";
            var draft = Draft($"{run}-{i}", patient, physician, therapists[i % clients]);
            return new Sent(draft.PlacerId, FhirJson.Serialize(builder.Build(draft)), () => issuers.Physician(physician, patient), therapists[i % clients]);
        }).ToArray();
        var inboxTokens = therapists.Select(issuers.Therapist).ToArray();

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients * 2 }) { BaseAddress = baseAddress };
        var raw = new TableClient(azurite.ConnectionString, "LoadRaw");
        await raw.CreateIfNotExistsAsync();
        var appTable = new TableClient(azurite.ConnectionString, ReferralStore.TableName);
        var rawRows = referrals.Select((r, i) => RawRows(r.Json, r.Therapist, i)).ToArray();

        // Warm-up: JIT, connection pools, table creation; not measured.
        await RunPairedAsync(Warmup, clients, i => raw.SubmitTransactionAsync(rawRows[count + i]), i => SubmitAsync(http, referrals[count + i]));

        var (rawSubmit, submit) = await RunPairedAsync(count, clients,
            i => raw.SubmitTransactionAsync(rawRows[i]), i => SubmitAsync(http, referrals[i]));
        var (rawInbox, inbox) = await RunPairedAsync(count, clients,
            i => RawInboxAsync(appTable, therapists[i % clients]), i => InboxAsync(http, therapists[i % clients], inboxTokens[i % clients]));

        // The storage requests of each action, on a second app instance whose tables and queues go through the log.
        await using var log = await StorageRequestLog.StartAsync(azurite.ConnectionString, queues: true);
        await using var counted = new LoadApp(log.ConnectionString, issuers.Settings);
        using var countedHttp = new HttpClient { BaseAddress = counted.Start() };
        var lifecycleTherapist = therapists[0];
        var lifecycleToken = issuers.Therapist(lifecycleTherapist);
        var lifecycles = Enumerable.Range(0, 2).Select(i =>
        {
            var draft = Draft($"{run}-lifecycle-{i}", "p-life", "dr-life", lifecycleTherapist);
            return new Sent(draft.PlacerId, FhirJson.Serialize(builder.Build(draft)), () => issuers.Physician("dr-life", "p-life"), lifecycleTherapist);
        }).ToArray();
        // The first lifecycle warms the second instance (each table and queue is created on its first use); the second is counted.
        await LifecycleAsync(countedHttp, lifecycles[0], lifecycleToken, log);
        var actions = await LifecycleAsync(countedHttp, lifecycles[1], lifecycleToken, log);
        // The same lifecycle made by every client at once: the storage requests of them all, per lifecycle (the audit
        // trail's group commit writes the entries of requests answered at the same moment together).
        var concurrent = Enumerable.Range(0, clients).Select(i =>
        {
            var draft = Draft($"{run}-concurrent-{i}", "p-life", "dr-life", therapists[i]);
            return new Sent(draft.PlacerId, FhirJson.Serialize(builder.Build(draft)), () => issuers.Physician("dr-life", "p-life"), therapists[i]);
        }).ToArray();
        var before = log.Requests.Count;
        await Task.WhenAll(concurrent.Select(sent => LifecycleAsync(countedHttp, sent, inboxTokens[Array.IndexOf(therapists, sent.Therapist)], log, lifecycleOnly: true)));
        var concurrentRequests = (double)(log.Requests.Count - before) / clients;

        var stored = await VerifyStoredAsync(appTable, therapists, [.. referrals, .. lifecycles, .. concurrent]);

        Console.WriteLine();
        Console.WriteLine("| operation | p50 ms | p95 ms | p99 ms | per second |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Print("submit (POST /api/fhir/ServiceRequest)", submit);
        Print("raw table transaction (the same entities)", rawSubmit);
        Ratio("submit / raw", submit, rawSubmit);
        Print("inbox page (GET /api/fhir/Task?owner=&status=&_include=Task:focus&_count=20)", inbox);
        Print("raw range query (the same 20 rows)", rawInbox);
        Ratio("inbox / raw", inbox, rawInbox);

        Console.WriteLine();
        Console.WriteLine("| action | storage requests | which |");
        Console.WriteLine("|---|---:|---|");
        foreach (var (name, requests) in actions)
        {
            Console.WriteLine($"| {name} | {requests.Count} | {string.Join(", ", requests.GroupBy(r => r, StringComparer.Ordinal).Select(g => g.Count() == 1 ? g.Key : $"{g.Count()}x {g.Key}"))} |");
        }

        var lifecycleRequests = actions.Where(a => a.Name.StartsWith("lifecycle:", StringComparison.Ordinal)).Sum(a => a.Requests.Count);
        Console.WriteLine($"| **lifecycle (submit, accept, 3 sessions, complete)** | {lifecycleRequests} | |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **the same, {clients} lifecycles at once, per lifecycle** | {concurrentRequests:0.#} | |"));

        Console.WriteLine();
        Console.WriteLine($"Stored: {stored} referrals, one per placer identifier sent; none missing, none twice.");
        Console.WriteLine();
        Figure("submit-p50", submit.P(50) / rawSubmit.P(50), 1.5);
        Figure("submit-p99", submit.P(99) / rawSubmit.P(99), 2);
        Figure("inbox-p50", inbox.P(50) / rawInbox.P(50), 1.3);
        Figure("inbox-p99", inbox.P(99) / rawInbox.P(99), 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio lifecycle-requests {lifecycleRequests} target 14"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio lifecycle-requests-concurrent {concurrentRequests:0.#} target 14"));
        return 0;
    }

    private const int Warmup = 100;

    /// <summary>A referral to send: its placer identifier, its JSON, a fresh physician token per call (each is accepted once), and its therapist.</summary>
    private sealed record Sent(string Placer, string Json, Func<string> Token, string Therapist);

    private static void Figure(string name, double value, double target) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio {name} {value:F2} target {target:0.0#}"));

    private static async Task SubmitAsync(HttpClient http, Sent referral)
    {
        using var response = await SendAsync(http, HttpMethod.Post, "/api/fhir/ServiceRequest", referral.Json, referral.Token());
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Submit answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>The smart-app's inbox page (smart-app/Referrals/FunctionsApi.InboxAsync): the new list, with each Task's ServiceRequest.</summary>
    private static string InboxQuery(string therapist) =>
        $"/api/fhir/Task?owner=PractitionerRole%2F{therapist}&status=requested%2Con-hold&_include=Task%3Afocus&_count={InboxPageSize}";

    private const int InboxPageSize = 20;

    private static async Task InboxAsync(HttpClient http, string therapist, string token)
    {
        using var response = await SendAsync(http, HttpMethod.Get, InboxQuery(therapist), null, token);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Inbox answered {(int)response.StatusCode}: {body}");
        }

        var bundle = FhirJsonDeserializer.DEFAULT.Deserialize<Bundle>(body);
        var tasks = bundle.Entry.Count(e => e.Resource is Hl7.Fhir.Model.Task);
        var requests = bundle.Entry.Count(e => e.Resource is ServiceRequest);
        if (tasks == 0 || requests != tasks)
        {
            throw new InvalidOperationException($"The inbox page held {tasks} Tasks and {requests} ServiceRequests: not one of each per row.");
        }
    }

    /// <summary>One range query of the same rows the inbox page reads (the app's own table, the therapist's newest 20 of the same statuses), every column.</summary>
    private static async Task RawInboxAsync(TableClient table, string therapist)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {therapist} and RowKey gt {"inbox|"} and RowKey lt {"inbox}"} and (Status eq {"requested"} or Status eq {"on-hold"})");
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: InboxPageSize).AsPages(pageSizeHint: InboxPageSize))
        {
            if (page.Values.Count == 0)
            {
                throw new InvalidOperationException("The raw range query read no rows.");
            }

            break;
        }
    }

    /// <summary>
    /// One lifecycle as the users make it (submit; the therapist accepts, records 3 sessions, completes), through the
    /// counted app instance, and then an inbox page and an inbox count: each action's storage requests.
    /// </summary>
    private static async Task<List<(string Name, IReadOnlyList<string> Requests)>> LifecycleAsync(
        HttpClient http, Sent referral, string therapistToken, StorageRequestLog log, bool lifecycleOnly = false)
    {
        var actions = new List<(string, IReadOnlyList<string>)>();
        async Task Step(string name, HttpMethod method, string path, string? body, string token, HttpStatusCode expected)
        {
            var from = log.Requests.Count;
            using var response = await SendAsync(http, method, path, body, token);
            if (response.StatusCode != expected)
            {
                throw new InvalidOperationException($"{name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }

            actions.Add((name, log.Since(from)));
        }

        var id = FhirJsonDeserializer.DEFAULT.Deserialize<ServiceRequest>(referral.Json) is var request
            ? ReferralStore.IdFor(referral.Therapist, Issuers.Ehr, request.Identifier.First(i => i.System == Canonicals.PlacerIdentifierSystem))
            : "";
        await Step("lifecycle: submit", HttpMethod.Post, "/api/fhir/ServiceRequest", referral.Json, referral.Token(), HttpStatusCode.Created);
        await Step("lifecycle: accept", HttpMethod.Post, $"/api/fhir/Task/{id}/$accept", null, therapistToken, HttpStatusCode.OK);
        // Sessions are recorded once ended and not before the referral was written (to the minute), with the API's
        // 5 minutes of clock skew: short ones from this minute, a second apart, fit in real time.
        var now = DateTimeOffset.UtcNow;
        var thisMinute = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMinute));
        for (var session = 1; session <= 3; session++)
        {
            await Step($"lifecycle: record-session {session}", HttpMethod.Post, $"/api/fhir/Task/{id}/$record-session",
                FhirJson.Serialize(Session(thisMinute.AddSeconds(session))), therapistToken, HttpStatusCode.Created);
        }

        var discharge = new Parameters();
        discharge.Add("outcome", new FhirString("Pain 6 to 2."));
        discharge.Add("recommendations", new FhirString("Nerve glides daily."));
        await Step("lifecycle: complete", HttpMethod.Post, $"/api/fhir/Task/{id}/$complete", FhirJson.Serialize(discharge), therapistToken, HttpStatusCode.OK);
        if (lifecycleOnly)
        {
            return actions;
        }

        await Step("inbox page (not in the lifecycle)", HttpMethod.Get, InboxQuery(referral.Therapist), null, therapistToken, HttpStatusCode.OK);
        await Step("inbox count (not in the lifecycle)", HttpMethod.Get,
            $"/api/fhir/Task?owner=PractitionerRole%2F{referral.Therapist}&status=requested%2Con-hold&_summary=count", null, therapistToken, HttpStatusCode.OK);
        return actions;
    }

    /// <summary>A session 2 minutes long from <paramref name="start"/>: the right wrist, myofascial release, pain 6 then 3.</summary>
    private static Parameters Session(DateTimeOffset start)
    {
        var parameters = new Parameters();
        parameters.Add("start", new FhirDateTime(start));
        parameters.Add("minutes", new Integer(2));
        parameters.Add("bodySite", BodyRegions.ToCodeableConcept(new BodyArea(BodyRegion.Wrist, Laterality.Right)));
        parameters.Add("technique", MassageTechniques.Codes.For(MassageTechnique.MyofascialRelease).ToCoding());
        parameters.Add("painBefore", new Integer(6));
        parameters.Add("painAfter", new Integer(3));
        return parameters;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? body, string token)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    /// <summary>
    /// What the app stored, read straight from its table: every therapist's ServiceRequest rows. Each placer identifier
    /// sent must be there exactly once, and nothing else: the count stored.
    /// </summary>
    private static async Task<int> VerifyStoredAsync(TableClient table, IEnumerable<string> therapists, IReadOnlyCollection<Sent> sent)
    {
        var placers = new List<string>();
        foreach (var therapist in therapists)
        {
            await foreach (var row in table.QueryAsync<TableEntity>(
                               TableClient.CreateQueryFilter($"PartitionKey eq {therapist} and RowKey gt {"sr|"} and RowKey lt {"sr}"}"), select: ["Json"]))
            {
                var request = FhirJsonDeserializer.DEFAULT.Deserialize<ServiceRequest>(row.GetString("Json"));
                placers.Add(request.Identifier.First(i => i.System == Canonicals.PlacerIdentifierSystem).Value ?? "");
            }
        }

        var twice = placers.GroupBy(p => p, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var missing = sent.Select(s => s.Placer).Except(placers, StringComparer.Ordinal).ToList();
        if (twice.Count > 0 || missing.Count > 0 || placers.Count != sent.Count)
        {
            throw new InvalidOperationException(
                $"Stored {placers.Count} referrals for {sent.Count} sent: {missing.Count} missing ({string.Join(", ", missing.Take(5))}), " +
                $"{twice.Count} stored twice ({string.Join(", ", twice.Take(5))}).");
        }

        return placers.Count;
    }

    /// <summary>
    /// The rows a submit writes (ServiceRequest, Task carrying its ServiceRequest, inbox entry, first history version,
    /// status index row, due index rows), with the same JSON and columns the app stores, in a table of their own.
    /// </summary>
    private static TableTransactionAction[] RawRows(string json, string therapist, int i)
    {
        var request = FhirJsonDeserializer.DEFAULT.Deserialize<ServiceRequest>(json);
        request.Id = $"{therapist}.raw{i:D8}";
        var task = ReferralTasks.Create(request, DateTimeOffset.UtcNow);
        var taskJson = FhirJson.Serialize(task);
        var requestJson = FhirJson.Serialize(request);
        var key = $"raw{i:D8}";
        var inbox = $"inbox|{DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UtcNow.UtcTicks:D19}|{key}";
        var waiting = $"due|waiting|{DateTimeOffset.UtcNow.UtcTicks:D19}|{key}";
        var expires = $"due|expires|{DateTimeOffset.UtcNow.AddDays(90):yyyyMMdd}|{key}";
        return
        [
            new(TableTransactionActionType.Add, new TableEntity(therapist, $"sr|{key}")
            {
                ["Json"] = requestJson, ["Ehr"] = Issuers.Ehr, ["Subject"] = request.Subject?.Reference, ["Requester"] = request.Requester?.Reference, ["Status"] = "active",
            }),
            new(TableTransactionActionType.Add, new TableEntity(therapist, $"task|{key}")
            {
                ["Json"] = taskJson, ["Status"] = "requested", ["Version"] = 1, ["InboxRow"] = inbox, ["StatusRow"] = $"status|requested|{key}",
                ["RequestJson"] = requestJson, ["Ehr"] = Issuers.Ehr, ["DueRows"] = $"{waiting} {expires}",
            }),
            new(TableTransactionActionType.Add, new TableEntity(therapist, inbox)
            {
                ["Json"] = taskJson, ["Status"] = "requested", ["Version"] = 1, ["InboxRow"] = inbox, ["RequestJson"] = requestJson,
            }),
            new(TableTransactionActionType.Add, new TableEntity(therapist, $"hist|{key}|{int.MaxValue - 1:D10}") { ["Json"] = taskJson, ["Version"] = 1, ["Date"] = DateTimeOffset.UtcNow }),
            new(TableTransactionActionType.Add, new TableEntity(therapist, $"status|requested|{key}")),
            new(TableTransactionActionType.UpsertReplace, new TableEntity(therapist, waiting)),
            new(TableTransactionActionType.UpsertReplace, new TableEntity(therapist, expires)),
        ];
    }

    /// <summary>
    /// Runs <paramref name="count"/> pairs from <paramref name="clients"/> concurrent workers: each pair one raw and one
    /// app operation, the raw first on even pairs and the app first on odd ones, so both sides meet the same load at the
    /// same moments. Each side's latencies.
    /// </summary>
    private static async Task<(Measured Raw, Measured App)> RunPairedAsync(int count, int clients, Func<int, Task> rawOperation, Func<int, Task> appOperation)
    {
        var rawLatencies = new double[count];
        var appLatencies = new double[count];
        var next = -1;
        var wall = Stopwatch.StartNew();
        var rawTotal = 0L;
        var appTotal = 0L;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                foreach (var rawSide in i % 2 == 0 ? new[] { true, false } : [false, true])
                {
                    var started = Stopwatch.GetTimestamp();
                    await (rawSide ? rawOperation(i) : appOperation(i));
                    var elapsed = Stopwatch.GetElapsedTime(started);
                    (rawSide ? rawLatencies : appLatencies)[i] = elapsed.TotalMilliseconds;
                    if (rawSide)
                    {
                        Interlocked.Add(ref rawTotal, elapsed.Ticks);
                    }
                    else
                    {
                        Interlocked.Add(ref appTotal, elapsed.Ticks);
                    }
                }
            }
        })));
        wall.Stop();
        Array.Sort(rawLatencies);
        Array.Sort(appLatencies);
        // Per second of each side's own busy time across the clients (the two share the wall clock).
        return (new Measured(rawLatencies, count * clients / TimeSpan.FromTicks(rawTotal).TotalSeconds),
            new Measured(appLatencies, count * clients / TimeSpan.FromTicks(appTotal).TotalSeconds));
    }

    private sealed record Measured(double[] Sorted, double PerSecond)
    {
        public double P(int percentile) => Sorted[Math.Min(Sorted.Length - 1, (int)Math.Ceiling(percentile / 100.0 * Sorted.Length) - 1)];
    }

    private static void Print(string name, Measured m) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {m.P(50):F1} | {m.P(95):F1} | {m.P(99):F1} | {m.PerSecond:F0} |"));

    private static void Ratio(string name, Measured app, Measured raw) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| **{name}** | {app.P(50) / raw.P(50):F2}x | {app.P(95) / raw.P(95):F2}x | {app.P(99) / raw.P(99):F2}x | {app.PerSecond / raw.PerSecond:F2}x |"));

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    private static ReferralDraft Draft(string placer, string patient, string physician, string therapist)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        return new ReferralDraft
        {
            PlacerId = placer,
            Patient = new ResourceRef($"Patient/{patient}"),
            Requester = new ResourceRef($"Practitioner/{physician}"),
            Diagnoses = [new Diagnosis("G56.01")],
            BodySites = [new BodyArea(BodyRegion.Wrist, Laterality.Right), new BodyArea(BodyRegion.Hand, Laterality.Right)],
            Sessions = 6,
            Frequency = new SessionFrequency(1, 1, FrequencyUnit.Week),
            MinutesPerSession = 60,
            ValidFrom = today,
            ValidUntil = today.AddDays(90),
            TimeZone = "UTC",
            Coverage = new CoverageDraft { Type = CoverageType.WorkersCompensation, PayorName = "State Fund", ClaimNumber = "WC-1" },
            Therapist = new ResourceRef($"PractitionerRole/{therapist}", "Load Therapist, LMT"),
        };
    }

    private static PractitionerRole Role(string id) => new()
    {
        Id = id,
        Active = true,
        Practitioner = new ResourceReference($"Practitioner/{id}", "Load Therapist, LMT"),
        Code = [MedicalMassageServiceRequest.PerformerType.ToCodeableConcept()],
        Extension =
        [
            new Extension(TherapistDirectory.AcceptingNewReferralsExtension, new FhirBoolean(true)),
            new Extension(TherapistDirectory.CoverageTypeAcceptedExtension, CoverageTypes.Codes.For(CoverageType.WorkersCompensation).ToCoding()),
        ],
    };

    /// <summary>The FHIR API on Kestrel at a free loopback port, in Development (no worker: the load is the API's).</summary>
    private sealed class LoadApp(string storage, IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Referral.Functions.Program>
    {
        public Uri Start()
        {
            // A test project gets its content root from Mvc.Testing's build step; a console tool names it.
            Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_REFERRAL_FUNCTIONS", Repository.PathTo("functions"));
            UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
            StartServer();
            return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting(StorageAccount.SettingName, storage);
            builder.UseSetting("Therapists:Seed", "false");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}

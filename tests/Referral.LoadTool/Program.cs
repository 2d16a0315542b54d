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
using Referral.Functions.Storage;
using Referral.Functions.Therapists;
using Referral.Model.Fhir;
using Referral.Model.Referrals;
using Referral.Model.Tasks;
using Referral.Model.Terminology;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.LoadTool;

/// <summary>
/// Starts Azurite and the functions app (in-process Kestrel on loopback, real tokens from a local issuer), submits
/// N referrals from C concurrent clients and reads inboxes, then does the same number of raw Azure.Data.Tables
/// transactions (the same three rows) and partition queries against the same Azurite, and prints the latency
/// percentiles, the throughput, and the app-to-raw ratios.
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
            return (Json: FhirJson.Serialize(builder.Build(draft)), Token: issuers.Physician(physician, patient), Therapist: therapists[i % clients]);
        }).ToArray();
        var inboxTokens = therapists.Select(issuers.Therapist).ToArray();

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients * 2 }) { BaseAddress = baseAddress };
        var raw = new TableClient(azurite.ConnectionString, "LoadRaw");
        await raw.CreateIfNotExistsAsync();
        var rawRows = referrals.Select((r, i) => RawRows(r.Json, r.Therapist, i)).ToArray();

        // Warm-up: JIT, connection pools, table creation; not measured.
        await RunAsync(Warmup, clients, i => SubmitAsync(http, referrals[count + i]));
        await RunAsync(Warmup, clients, i => raw.SubmitTransactionAsync(rawRows[count + i]));

        var rawSubmit = await RunAsync(count, clients, i => raw.SubmitTransactionAsync(rawRows[i]));
        var submit = await RunAsync(count, clients, i => SubmitAsync(http, referrals[i]));
        var rawInbox = await RunAsync(count, clients, i => RawInboxAsync(raw, therapists[i % clients]));
        var inbox = await RunAsync(count, clients, i => InboxAsync(http, inboxTokens[i % clients]));

        Console.WriteLine();
        Console.WriteLine("| operation | p50 ms | p95 ms | p99 ms | per second |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Print("submit (POST /api/fhir/ServiceRequest)", submit);
        Print("raw table transaction (same 3 rows)", rawSubmit);
        Ratio("submit / raw", submit, rawSubmit);
        Print("inbox (GET /api/fhir/Task?_count=20)", inbox);
        Print("raw partition query (top 20)", rawInbox);
        Ratio("inbox / raw", inbox, rawInbox);
        var within = submit.P(50) <= 2 * rawSubmit.P(50);
        Console.WriteLine();
        Console.WriteLine($"Submit p50 {submit.P(50):F1} ms is {(within ? "within" : "NOT within")} 2x the raw single-transaction p50 {rawSubmit.P(50):F1} ms.");
        return 0;
    }

    private const int Warmup = 100;

    private static async Task SubmitAsync(HttpClient http, (string Json, string Token, string Therapist) referral)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/fhir/ServiceRequest")
        {
            Content = new StringContent(referral.Json, System.Text.Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", referral.Token);
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Submit answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task InboxAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/fhir/Task?_count=20");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Inbox answered {(int)response.StatusCode}.");
        }

        await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task RawInboxAsync(TableClient table, string therapist)
    {
        await foreach (var page in table.QueryAsync<TableEntity>(
                           TableClient.CreateQueryFilter($"PartitionKey eq {therapist} and RowKey gt {"inbox|"} and RowKey lt {"inbox}"}"),
                           maxPerPage: 20, select: ["Json"]).AsPages(pageSizeHint: 20))
        {
            foreach (var row in page.Values)
            {
                _ = row.GetString("Json");
            }

            break;
        }
    }

    /// <summary>The three rows a submit writes (ServiceRequest, Task, inbox entry), with the same JSON the app stores.</summary>
    private static TableTransactionAction[] RawRows(string json, string therapist, int i)
    {
        var request = FhirJsonDeserializer.DEFAULT.Deserialize<ServiceRequest>(json);
        request.Id = $"{therapist}.raw{i:D8}";
        var task = ReferralTasks.Create(request, DateTimeOffset.UtcNow);
        var taskJson = FhirJson.Serialize(task);
        var key = $"raw{i:D8}";
        var inbox = $"inbox|{DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UtcNow.UtcTicks:D19}|{key}";
        return
        [
            new(TableTransactionActionType.Add, new TableEntity(therapist, $"sr|{key}") { ["Json"] = FhirJson.Serialize(request), ["Ehr"] = Issuers.Ehr, ["Status"] = "active" }),
            new(TableTransactionActionType.Add, new TableEntity(therapist, $"task|{key}") { ["Json"] = taskJson, ["Status"] = "requested", ["Version"] = 1, ["InboxRow"] = inbox }),
            new(TableTransactionActionType.Add, new TableEntity(therapist, inbox) { ["Json"] = taskJson, ["Status"] = "requested", ["Version"] = 1, ["InboxRow"] = inbox }),
        ];
    }

    /// <summary>Runs <paramref name="count"/> operations from <paramref name="clients"/> concurrent workers; each one's latency.</summary>
    private static async Task<Measured> RunAsync(int count, int clients, Func<int, Task> operation)
    {
        var latencies = new double[count];
        var next = -1;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                await operation(i);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        })));
        wall.Stop();
        Array.Sort(latencies);
        return new Measured(latencies, count / wall.Elapsed.TotalSeconds);
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

using System.Text.Json;
using WireMock;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// An EHR played by WireMock over real HTTP: its SMART configuration, its token endpoint for backend services, and
/// its FHIR create, answering as a test sets it up (accept, fail then accept, always fail). Every request is logged,
/// so a test sees what the app sent: the client assertion, the bearer token, the resources.
/// </summary>
public sealed class BackendServicesEhr : IDisposable
{
    public const string ClientId = "medical-massage-functions";
    public const string AccessToken = "ehr-backend-token-1";

    private static readonly string[] AuthMethods = ["private_key_jwt"];
    private static readonly string[] SigningAlgorithms = ["RS384", "ES384"];
    private static readonly string[] GrantTypes = ["client_credentials"];
    private static readonly string[] Capabilities = ["client-confidential-asymmetric", "permission-v2", "permission-v1"];

    private readonly WireMockServer server = EhrPorts.Start();
    private readonly TaskCompletionSource tokenAsked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int heldTokenRequests;

    /// <summary>
    /// An EHR whose token endpoint answers at once with a token; or, given <paramref name="tokensHeldUntil"/>, a slow
    /// and failing one: each token request is held until that task completes (a minute at most) and then refused with 503.
    /// </summary>
    public BackendServicesEhr(Task? tokensHeldUntil = null)
    {
        server.Given(Request.Create().WithPath("/fhir/.well-known/smart-configuration").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["token_endpoint"] = TokenEndpoint,
                ["token_endpoint_auth_methods_supported"] = AuthMethods,
                ["token_endpoint_auth_signing_alg_values_supported"] = SigningAlgorithms,
                ["grant_types_supported"] = GrantTypes,
                ["capabilities"] = Capabilities,
            })));
        if (tokensHeldUntil is not null)
        {
            server.Given(Request.Create().WithPath("/auth/token").UsingPost())
                .RespondWith(Response.Create().WithCallback(_ =>
                {
                    Interlocked.Increment(ref heldTokenRequests);
                    tokenAsked.TrySetResult();
                    tokensHeldUntil.Wait(TimeSpan.FromMinutes(1));
                    return new ResponseMessage { StatusCode = 503 };
                }));
            return;
        }

        server.Given(Request.Create().WithPath("/auth/token").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["access_token"] = AccessToken,
                ["token_type"] = "bearer",
                ["expires_in"] = 300,
                ["scope"] = "system/Observation.c system/ServiceRequest.c",
            })));
    }

    public string FhirBase => $"{server.Urls[0]}/fhir";

    /// <summary>Completes when the first token request has reached the EHR (a held one is then waiting).</summary>
    public Task TokenAsked => tokenAsked.Task;

    /// <summary>How many token requests have reached a held token endpoint (counted on arrival, before any answer).</summary>
    public int HeldTokenRequests => Volatile.Read(ref heldTokenRequests);

    public string TokenEndpoint => $"{server.Urls[0]}/auth/token";

    /// <summary>The app's settings for this EHR: registered for backend services, writing Observations back.</summary>
    public IReadOnlyDictionary<string, string?> Settings(bool writeServiceRequest = false, int index = 0, string writes = "Both", int reportEverySessions = 4) => new Dictionary<string, string?>
    {
        [$"Ehrs:{index}:Writes"] = writes,
        [$"Ehrs:{index}:ReportEverySessions"] = reportEverySessions.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [$"Ehrs:{index}:Iss"] = FhirBase,
        [$"Ehrs:{index}:ClientId"] = ClientId,
        [$"Ehrs:{index}:WriteBack"] = "true",
        [$"Ehrs:{index}:WriteServiceRequest"] = writeServiceRequest ? "true" : "false",
        // Retries come at once in a test; host.json's 30 s is the backoff in Azure.
        ["TriggerRunner:VisibilityTimeout"] = "00:00:00",
    };

    /// <summary>Every create answers 201 with a Location.</summary>
    public BackendServicesEhr AcceptingCreates()
    {
        foreach (var type in new[] { "Observation", "ServiceRequest", "DocumentReference" })
        {
            server.Given(Request.Create().WithPath($"/fhir/{type}").UsingPost())
                .RespondWith(Created(type));
        }

        return this;
    }

    /// <summary>
    /// The first <paramref name="method"/> request to <paramref name="path"/> answers <paramref name="status"/> with no
    /// body; every one after it is answered as before (a one-shot WireMock scenario ahead of the usual mapping).
    /// </summary>
    public BackendServicesEhr FailingOnce(string path, string method, int status)
    {
        // Ahead of the usual mappings, which have WireMock's default priority (0; lower numbers win).
        server.Given(Request.Create().WithPath(path).UsingMethod(method)).AtPriority(-1)
            .InScenario($"{method} {path} fails once").WillSetStateTo("failed")
            .RespondWith(Response.Create().WithStatusCode(status));
        return this;
    }

    /// <summary>
    /// The first Observation create gets no answer while the test runs (it is let go, with a 503, when the EHR stops);
    /// every one after it 201. <paramref name="held"/> ends when the first is being held.
    /// </summary>
    public BackendServicesEhr SilentOnceThenAccepting(out Task held)
    {
        var calls = 0;
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held = asked.Task;
        server.Given(Request.Create().WithPath("/fhir/Observation").UsingPost())
            .RespondWith(Response.Create().WithCallback(async _ =>
            {
                var call = Interlocked.Increment(ref calls);
                if (call == 1)
                {
                    asked.TrySetResult();
                    await stopped.Task;
                    return new ResponseMessage { StatusCode = 503 };
                }

                return new ResponseMessage
                {
                    StatusCode = 201,
                    Headers = new Dictionary<string, WireMockList<string>> { ["Location"] = new($"{FhirBase}/Observation/ehr-observation-{call}/_history/1") },
                };
            }));
        return this;
    }

    /// <summary>An outage: every Observation create answers 503 until <paramref name="clock"/> reaches <paramref name="until"/>, then 201.</summary>
    public BackendServicesEhr DownUntil(TimeProvider clock, DateTimeOffset until)
    {
        var calls = 0;
        server.Given(Request.Create().WithPath("/fhir/Observation").UsingPost())
            .RespondWith(Response.Create().WithCallback(_ =>
            {
                var call = Interlocked.Increment(ref calls);
                return clock.GetUtcNow() < until
                    ? new ResponseMessage { StatusCode = 503 }
                    : new ResponseMessage
                    {
                        StatusCode = 201,
                        Headers = new Dictionary<string, WireMockList<string>> { ["Location"] = new($"{FhirBase}/Observation/ehr-observation-{call}/_history/1") },
                    };
            }));
        return this;
    }

    /// <summary>Every create answers 500.</summary>
    public BackendServicesEhr AlwaysFailing()
    {
        server.Given(Request.Create().WithPath("/fhir/*").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(500));
        return this;
    }

    /// <summary>The creates the EHR received for a resource type, in order (the failed ones too).</summary>
    public IReadOnlyList<ILogEntry> Creates(string type) =>
        [.. server.LogEntries.Where(e => e.RequestMessage!.Method == "POST" && e.RequestMessage.Path == $"/fhir/{type}").OrderBy(e => e.RequestMessage!.DateTime)];

    /// <summary>The client assertions of every token request.</summary>
    public IReadOnlyList<string> ClientAssertions() =>
    [
        .. server.LogEntries.Where(e => e.RequestMessage!.Path == "/auth/token")
            .Select(e => Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(e.RequestMessage!.Body)["client_assertion"].ToString()),
    ];

    /// <summary>The form fields of the first token request.</summary>
    public IReadOnlyDictionary<string, string> TokenRequest() =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(server.LogEntries.First(e => e.RequestMessage!.Path == "/auth/token").RequestMessage!.Body)
            .ToDictionary(p => p.Key, p => p.Value.ToString());

    public void Dispose()
    {
        stopped.TrySetResult();
        server.Stop();
    }

    private IResponseBuilder Created(string type) => Response.Create()
        .WithStatusCode(201)
        .WithHeader("Location", $"{FhirBase}/{type}/ehr-{type.ToLowerInvariant()}-1/_history/1");
}

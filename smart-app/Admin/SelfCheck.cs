using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Referral.Model;
using Referral.Model.Signing;
using Referral.SmartApp.Launch;
using Referral.SmartApp.Referrals;
using Referral.SmartApp.Security;

namespace Referral.SmartApp.Admin;

/// <summary>
/// Whether the self-check page is served. It shows no secrets or patient data, but it makes the app call every
/// configured EHR and the functions API on request, so outside Development an operator turns it on deliberately.
/// </summary>
public sealed class AdminOptions
{
    public const string Section = "Admin";

    /// <summary>Null: on in Development, off elsewhere.</summary>
    public bool? Enabled { get; set; }
}

public sealed record CapabilityCheck(string Name, bool Advertised);

public sealed record EhrCheck(string Name, string Iss, string ClientId, bool Answers, string Detail, IReadOnlyList<CapabilityCheck> Capabilities)
{
    public bool Ready => Answers && Capabilities.All(c => c.Advertised);
}

public sealed record KeyCheck(string Kid, string Algorithm, string Use, bool Current, string Location, bool Signs, string Detail);

public sealed record ServiceCheck(string Url, bool Answers, string Detail);

/// <summary>Where the keys come from (a vault and key names, never key material), and whether they could be read.</summary>
public sealed record KeySourceCheck(string Source, bool Readable, string Detail);

/// <summary>
/// One EHR as the functions API's write-back treats it, matched with the smart-app's allow-list on the normalized
/// <c>iss</c>: what goes into its charts, whether the referral's ServiceRequest is written, how often a progress report.
/// An EHR only one of the two apps lists needs attention: one the smart-app alone lists gets nothing written back, one
/// the functions API alone lists cannot launch the app.
/// </summary>
public sealed record WriteChoiceCheck(string Name, string Iss, bool InSmartApp, bool InFunctions, string Writes, bool? WritesServiceRequest, int? ReportEverySessions)
{
    /// <summary>The functions API's own word (<c>observations</c>, <c>documents</c>, <c>both</c>, <c>nothing</c>); empty when it does not list the EHR.</summary>
    public string ChartWrites { get; init; } = "";

    public bool Known => ChartWrites is WriteChoices.Both or WriteChoices.Observations or WriteChoices.Documents or WriteChoices.Nothing;

    public bool Ready => InSmartApp && InFunctions && Known;

    public string Detail => (InSmartApp, InFunctions) switch
    {
        (true, false) => "Not in the functions API's Ehrs: nothing is written back into this EHR, not even the referral.",
        (false, true) => "Not in the smart-app's Ehrs: this EHR cannot launch the app, so no referral from it is written back.",
        _ when !Known => $"The functions API says it writes \"{ChartWrites}\", which this app does not know.",
        _ => "Listed by both apps.",
    };
}

/// <summary>What the functions API's write-back puts in each EHR's charts, read from its administrator endpoint with the signed-in administrator's token.</summary>
public sealed record WriteChoices(bool Read, string Detail, IReadOnlyList<WriteChoiceCheck> Ehrs)
{
    public const string Both = "both";
    public const string Observations = "observations";
    public const string Documents = "documents";
    public const string Nothing = "nothing";

    public bool Ready => Read && Ehrs.All(e => e.Ready);

    /// <summary>The words of the page for the functions API's <c>chartWrites</c>.</summary>
    public static string Describe(string chartWrites) => chartWrites switch
    {
        Both => "Observations and progress-report documents",
        Observations => "Observations only",
        Documents => "Documents only",
        Nothing => "Nothing: write-back is off",
        _ => "Not known: \"" + chartWrites + "\"",
    };

    /// <summary>The smart-app's EHRs and the functions API's registrations, matched on the normalized iss; the smart-app's order first.</summary>
    public static IReadOnlyList<WriteChoiceCheck> Match(IReadOnlyList<EhrOptions> smartApp, IReadOnlyList<FunctionsEhrRegistration> functions)
    {
        ArgumentNullException.ThrowIfNull(smartApp);
        ArgumentNullException.ThrowIfNull(functions);
        var registered = functions.GroupBy(f => EhrOptions.Normalize(f.Iss), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var rows = new List<WriteChoiceCheck>();
        foreach (var ehr in smartApp)
        {
            var name = string.IsNullOrEmpty(ehr.Name) ? ehr.NormalizedIss : ehr.Name;
            rows.Add(registered.Remove(ehr.NormalizedIss, out var registration)
                ? Row(name, ehr.NormalizedIss, true, registration)
                : new WriteChoiceCheck(name, ehr.NormalizedIss, true, false, "Nothing: not registered for write-back", null, null));
        }

        rows.AddRange(registered.Values.Select(r => Row(EhrOptions.Normalize(r.Iss), EhrOptions.Normalize(r.Iss), false, r)));
        return rows;
    }

    private static WriteChoiceCheck Row(string name, string iss, bool inSmartApp, FunctionsEhrRegistration registration) =>
        new(name, iss, inSmartApp, true, Describe(registration.ChartWrites), registration.WriteServiceRequest,
            registration.ChartWrites is Both or Documents ? registration.ReportEverySessions : null)
        {
            ChartWrites = registration.ChartWrites,
        };
}

public sealed record SelfCheckReport(IReadOnlyList<EhrCheck> Ehrs, KeySourceCheck KeySource, IReadOnlyList<KeyCheck> Keys, ServiceCheck Functions, WriteChoices WriteBack)
{
    public bool Healthy => Ehrs.All(e => e.Ready) && KeySource.Readable && Keys.Count > 0 && Keys.All(k => k.Signs) && Functions.Answers && WriteBack.Ready;
}

/// <summary>
/// The installation checks: EHR discovery and capabilities, the signing keys, the functions API's health, and what
/// the functions API writes back into each EHR (asked with the signed-in administrator's access token).
/// </summary>
public sealed class SelfCheck(EhrRegistry ehrs, SigningKeys keys, IHttpClientFactory clients, IOptions<FunctionsOptions> functions, FunctionsApi api, TimeProvider time)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private static readonly JsonWebTokenHandler Handler = new();

    /// <summary>Runs every check; <paramref name="admin"/> is the signed-in administrator (null: no access token, the write-back choices are not read).</summary>
    public async Task<SelfCheckReport> RunAsync(TherapistCaller? admin, CancellationToken cancellationToken)
    {
        var ehrChecks = await Task.WhenAll(ehrs.All.Select(e => CheckEhrAsync(e, cancellationToken)));
        var functionsCheck = await CheckFunctionsAsync(cancellationToken);
        var writeBack = await CheckWriteChoicesAsync(admin, cancellationToken);
        var (source, keyChecks) = await CheckKeysAsync(cancellationToken);
        return new SelfCheckReport(ehrChecks, source, keyChecks, functionsCheck, writeBack);
    }

    /// <summary>The functions API's EHR registrations (administrators only) matched with this app's EHRs; a refusal or failure is said, not thrown.</summary>
    private async Task<WriteChoices> CheckWriteChoicesAsync(TherapistCaller? admin, CancellationToken cancellationToken)
    {
        if (admin is null)
        {
            return new WriteChoices(false,
                "Not read: the page was opened without the inbox's sign-in, so there is no administrator's access token to ask the functions API with.", []);
        }

        using var timeout = new Deadline(Timeout, time, cancellationToken);
        try
        {
            var (status, registrations) = await api.EhrRegistrationsAsync(admin, timeout.Token);
            return registrations is not null
                ? new WriteChoices(true, $"Read from the functions API ({registrations.Count} registered).", WriteChoices.Match(ehrs.All, registrations))
                : new WriteChoices(false, status switch
                {
                    HttpStatusCode.Unauthorized =>
                        "The functions API did not accept the administrator's access token (401): sign out and in again; if that does not help, its Auth:Therapist:Authority and Auth:Audience must name this sign-in's provider and the token's audience.",
                    HttpStatusCode.Forbidden =>
                        "The functions API refused the administrator (403): the access token does not carry its administrator app role (its Auth:Therapist:AdminRole). Assign this user that role for the API, or make it the same as this app's Inbox:AdminRole.",
                    _ => $"The functions API answered {(int)status} to {FunctionsApi.EhrRegistrationsPath}.",
                }, []);
        }
        catch (FunctionsUnavailableException e)
        {
            return new WriteChoices(false, "Not read: " + e.Message, []);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WriteChoices(false, $"Not read: the functions API did not answer within {Timeout.TotalSeconds} seconds.", []);
        }
    }

    /// <summary>What the app needs of an EHR: both launches, asymmetric client authentication, SMART scopes, PKCE S256.</summary>
    public static IReadOnlyList<CapabilityCheck> Needed(SmartConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var capabilities = configuration.Capabilities;
        return
        [
            new("launch-ehr", capabilities.Contains("launch-ehr")),
            new("launch-standalone", capabilities.Contains("launch-standalone")),
            new("client-confidential-asymmetric", capabilities.Contains("client-confidential-asymmetric")),
            new("permission-v2 or permission-v1", capabilities.Contains("permission-v2") || capabilities.Contains("permission-v1")),
            new("PKCE S256", configuration.CodeChallengeMethodsSupported.Contains("S256")),
        ];
    }

    private async Task<EhrCheck> CheckEhrAsync(EhrOptions ehr, CancellationToken cancellationToken)
    {
        var name = string.IsNullOrEmpty(ehr.Name) ? ehr.NormalizedIss : ehr.Name;
        var (body, detail) = await GetAsync(EhrHttp.ClientName, ehr.NormalizedIss + "/.well-known/smart-configuration", cancellationToken);
        if (body is null)
        {
            return new EhrCheck(name, ehr.NormalizedIss, ehr.ClientId, false, detail, []);
        }

        try
        {
            var configuration = JsonSerializer.Deserialize<SmartConfiguration>(body) ?? new SmartConfiguration();
            return new EhrCheck(name, ehr.NormalizedIss, ehr.ClientId, true, detail, Needed(configuration));
        }
        catch (JsonException)
        {
            return new EhrCheck(name, ehr.NormalizedIss, ehr.ClientId, false, "Its SMART configuration is not valid JSON.", []);
        }
    }

    private async Task<ServiceCheck> CheckFunctionsAsync(CancellationToken cancellationToken)
    {
        var url = functions.Value.BaseUrl.TrimEnd('/') + "/api/health";
        var (body, detail) = await GetAsync("", url, cancellationToken);
        return new ServiceCheck(url, body is not null, body is null ? detail : detail + ": " + body);
    }

    private async Task<(string? Body, string Detail)> GetAsync(string client, string url, CancellationToken cancellationToken)
    {
        using var timeout = new Deadline(Timeout, time, cancellationToken);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await clients.CreateClient(client).GetAsync(new Uri(url), timeout.Token);
            var elapsed = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"Answered {(int)response.StatusCode} in {elapsed} ms.");
            }

            return (await response.Content.ReadAsStringAsync(timeout.Token), $"Answered {(int)response.StatusCode} in {elapsed} ms");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"No answer within {Timeout.TotalSeconds} seconds.");
        }
        catch (HttpRequestException e)
        {
            return (null, "Could not be reached: " + e.Message);
        }
    }

    /// <summary>Reads the published keys (from the vault when they are there), then has each sign a test payload.</summary>
    private async Task<(KeySourceCheck Source, IReadOnlyList<KeyCheck> Keys)> CheckKeysAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<PublishedKey> published;
        try
        {
            published = await keys.PublishedAsync(cancellationToken);
        }
        catch (KeyVaultException e)
        {
            return (new KeySourceCheck(keys.Source, false, e.Message), []);
        }

        var checks = await Task.WhenAll(published.Select(k => CheckKeyAsync(k, cancellationToken)));
        return (new KeySourceCheck(keys.Source, true, $"{published.Count} key versions published."), checks);
    }

    /// <summary>Signs a test payload with the key version and verifies it with the published public half alone, as an EHR would.</summary>
    private static async Task<KeyCheck> CheckKeyAsync(PublishedKey key, CancellationToken cancellationToken)
    {
        KeyCheck Result(bool signs, string detail) => new(key.Kid, key.Algorithm, key.Use, key.Current, key.Location, signs, detail);
        try
        {
            var token = await Jwt.SignAsync(key.Key, new Dictionary<string, object> { ["self-check"] = true }, cancellationToken);
            var jwk = key.Key.PublicKey;
            var publicJwk = new JsonWebKey { Kty = jwk.Kty, Kid = jwk.Kid, N = jwk.N, E = jwk.E, Crv = jwk.Crv, X = jwk.X, Y = jwk.Y };
            var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
            {
                IssuerSigningKey = publicJwk,
                ValidateIssuer = false,
                ValidateAudience = false,
                ValidateLifetime = false,
                RequireExpirationTime = false,
                ValidAlgorithms = [key.Algorithm],
            });
            return Result(result.IsValid, result.IsValid ? "Signed and verified a test payload." : "The signature did not verify: " + result.Exception?.Message);
        }
        catch (KeyVaultException e)
        {
            return Result(false, "Could not sign: " + e.Message);
        }
        catch (Exception e) when (e is CryptographicException or SecurityTokenException or ArgumentException or NotSupportedException)
        {
            return Result(false, "Could not sign: " + e.Message);
        }
    }
}

public static class AdminRegistration
{
    public static IServiceCollection AddAdmin(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AdminOptions>().Bind(configuration.GetSection(AdminOptions.Section));
        services.AddSingleton<RegistrationDocumentBuilder>();
        // Transient: it asks the functions API through its typed HTTP client, which is not kept for the app's life.
        services.AddTransient<SelfCheck>();
        return services;
    }

    /// <summary>The registration document, public like the JWKS: it holds only what the EHR admin types in anyway.</summary>
    public static IEndpointRouteBuilder MapRegistrationDocument(this IEndpointRouteBuilder app)
    {
        app.MapGet(RegistrationDocumentBuilder.Path, (RegistrationDocumentBuilder builder) => Results.Json(builder.Build()));
        return app;
    }

    public static bool IsEnabled(this AdminOptions options, IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        return options.Enabled ?? environment.IsDevelopment();
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.IdentityModel.Tokens;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Security;

/// <summary>Both kinds of token, through the real JwtBearer handlers, against issuers served over HTTP.</summary>
public sealed class ApiAuthenticationTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static readonly Uri AuditSearch = new($"/api/fhir/AuditEvent", UriKind.Relative);

    public static TheoryData<string, Func<TestIdentity, string>> RefusedTokens() => new()
    {
        { "signed by an unknown key", id => id.PhysicianSignedByAnUnknownKey() },
        { "alg none, unsigned", id => id.PhysicianUnsigned() },
        { "expired", id => id.Admin(at: TestClock.Now.AddMinutes(-20), change: d => d.Expires = d.NotBefore!.Value.AddMinutes(10)) },
        { "for another audience", id => id.Admin(d => d.Audience = "some-other-api") },
        { "from an unknown issuer", id => id.Admin(d => d.Issuer = "https://evil.example") },
        { "physician token with the therapists' issuer", id => id.Physician(change: d => d.Issuer = id.TherapistAuthority) },
        { "physician token signed with HS256", id => id.Physician(change: d => d.SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(new byte[32]), SecurityAlgorithms.HmacSha256)) },
        { "not a JWT at all", _ => "not-a-token" },
    };

    [Fact]
    public async Task A_request_without_a_token_is_refused_with_401_and_an_OperationOutcome()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.CreateClient();

        using var response = await client.GetAsync(AuditSearch, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        var outcome = await ReadAsync<OperationOutcome>(response);
        Assert.Equal(OperationOutcome.IssueType.Login, outcome.Issue.Single().Code);
    }

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task A_token_that_fails_validation_is_refused_with_401(string why, Func<TestIdentity, string> token)
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(token(identity));

        using var response = await client.GetAsync(AuditSearch, TestContext.Current.CancellationToken);

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"A token {why} must be refused, got {response.StatusCode}.");
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_therapist_or_physician_may_not_read_the_audit_trail()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        foreach (var token in new[] { identity.Therapist(), identity.Physician() })
        {
            using var client = app.ClientWith(token);
            using var response = await client.GetAsync(AuditSearch, TestContext.Current.CancellationToken);

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal(OperationOutcome.IssueType.Forbidden, (await ReadAsync<OperationOutcome>(response)).Issue.Single().Code);
        }
    }

    public static TheoryData<string, Func<TestIdentity, string>> TokensClaimingARole() => new()
    {
        { "physician claiming admin", id => id.Physician(change: d => d.Claims["referral_role"] = "admin") },
        { "physician claiming admin and therapist", id => id.Physician(change: d => d.Claims["referral_role"] = new[] { "admin", "therapist" }) },
        { "therapist claiming admin", id => id.Therapist(change: d => d.Claims["referral_role"] = "admin") },
        { "physician claiming the provider's admin app role", id => id.Physician(change: d => d.Claims["roles"] = new[] { TestIdentity.AdminRole }) },
    };

    [Theory]
    [MemberData(nameof(TokensClaimingARole))]
    public async Task A_role_claim_in_the_token_grants_nothing(string why, Func<TestIdentity, string> token)
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(token(identity));

        using var response = await client.GetAsync(new Uri("/api/fhir/AuditEvent?patient=Patient/helen-park", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"A {why} must get 403, got {response.StatusCode}.");
    }

    [Fact]
    public async Task A_physician_claiming_the_therapist_role_does_not_read_the_task_inbox()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(identity.Physician(change: d => d.Claims["referral_role"] = "therapist"));

        using var response = await client.GetAsync(new Uri("/api/fhir/Task?owner=PractitionerRole/therapist-mld", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task An_administrator_reads_the_audit_trail_and_the_reading_itself_is_audited()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(identity.Admin());

        using var first = await client.GetAsync(AuditSearch, ct);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(Bundle.BundleType.Searchset, (await ReadAsync<Bundle>(first)).Type);

        using var second = await client.GetAsync(new Uri("/api/fhir/AuditEvent?agent=admin-1&_count=200", UriKind.Relative), ct);
        var bundle = await ReadAsync<Bundle>(second);
        var audit = bundle.Entry.Select(e => e.Resource).OfType<AuditEvent>().ToList();
        Assert.NotEmpty(audit);
        Assert.All(audit, e => Assert.Equal("admin-1", e.Agent.Single().Who?.Display));
        Assert.Contains(audit, e => e.Entity.Any(x => x.What?.Reference == "AuditEvent") && e.Action == AuditEvent.AuditEventAction.R);
    }

    [Theory]
    [InlineData("/api/fhir/AuditEvent?date=yesterday", "date")]
    [InlineData("/api/fhir/AuditEvent?_count=0", "_count")]
    [InlineData("/api/fhir/AuditEvent?_count=9999", "_count")]
    [InlineData("/api/fhir/AuditEvent?owner=x", "owner")]
    public async Task A_bad_audit_search_parameter_is_a_400_naming_it(string url, string parameter)
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(identity.Admin());

        using var response = await client.GetAsync(new Uri(url, UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(parameter, (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression.Single());
    }

    [Fact]
    public async Task OData_characters_in_an_agent_search_value_are_data_not_query()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(identity.Admin());
        var injection = Uri.EscapeDataString("x' or PartitionKey ne 'y");

        using var response = await client.GetAsync(new Uri($"/api/fhir/AuditEvent?agent={injection}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await ReadAsync<Bundle>(response)).Entry);
    }

    [Fact]
    public async Task OData_characters_in_a_patient_search_value_are_refused_before_they_reach_storage()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        using var client = app.ClientWith(identity.Admin());
        var injection = Uri.EscapeDataString("x' or PartitionKey ne 'y");

        using var response = await client.GetAsync(new Uri($"/api/fhir/AuditEvent?patient={injection}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("patient", (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression.Single());
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response) where T : Resource =>
        FhirJsonDeserializer.STRICT.Deserialize<T>(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
}

using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Referral.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Referral.Tests.Security;

/// <summary>Both kinds of token, through the real JwtBearer handlers, against issuers served over HTTP.</summary>
public sealed class ApiAuthenticationTests(SharedFunctions functions) : IClassFixture<SharedFunctions>
{
    private readonly TestIdentity identity = functions.Identity;

    private static readonly Uri AuditSearch = new($"/api/fhir/AuditEvent", UriKind.Relative);

    [Fact]
    public async Task A_request_without_a_token_is_refused_with_401_and_an_OperationOutcome()
    {
        var app = functions.App;
        using var client = app.CreateClient();

        using var response = await client.GetAsync(AuditSearch, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        var outcome = await ReadAsync<OperationOutcome>(response);
        Assert.Equal(OperationOutcome.IssueType.Login, outcome.Issue.Single().Code);
    }

    [Fact]
    public async Task A_therapist_or_physician_may_not_read_the_audit_trail()
    {
        var app = functions.App;
        foreach (var token in new[] { identity.Therapist(), identity.Physician() })
        {
            using var client = app.ClientWith(token);
            using var response = await client.GetAsync(AuditSearch, TestContext.Current.CancellationToken);

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal(OperationOutcome.IssueType.Forbidden, (await ReadAsync<OperationOutcome>(response)).Issue.Single().Code);
        }
    }

    [Fact]
    public async Task An_administrator_reads_the_audit_trail_and_the_reading_itself_is_audited()
    {
        var ct = TestContext.Current.CancellationToken;
        var app = functions.App;
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
    public async Task A_bad_audit_search_parameter_is_a_400_naming_it_under_strict_handling(string url, string parameter)
    {
        var app = functions.App;
        using var client = app.ClientWith(identity.Admin());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Prefer", "handling=strict");

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(parameter, (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression.Single());
    }

    [Fact]
    public async Task OData_characters_in_an_agent_search_value_are_data_not_query()
    {
        var app = functions.App;
        using var client = app.ClientWith(identity.Admin());
        var injection = Uri.EscapeDataString("x' or PartitionKey ne 'y");

        using var response = await client.GetAsync(new Uri($"/api/fhir/AuditEvent?agent={injection}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await ReadAsync<Bundle>(response)).Entry);
    }

    [Fact]
    public async Task OData_characters_in_a_patient_search_value_are_refused_before_they_reach_storage()
    {
        var app = functions.App;
        using var client = app.ClientWith(identity.Admin());
        var injection = Uri.EscapeDataString("x' or PartitionKey ne 'y");

        using var response = await client.GetAsync(new Uri($"/api/fhir/AuditEvent?patient={injection}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("patient", (await ReadAsync<OperationOutcome>(response)).Issue.Single().Expression.Single());
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response) where T : Resource =>
        FhirJsonDeserializer.STRICT.Deserialize<T>(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
}

using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Referral.Functions.Conformance;
using Referral.Functions.Health;
using Referral.Tests.Infrastructure;
using static Referral.Tests.Infrastructure.ReferralScenario;

namespace Referral.Tests.Conformance;

/// <summary>
/// Firely's validator is loaded in the background as the API starts, not by the first submit: readiness says
/// "starting" until it is warm, and a submit that comes before then waits for that same load and succeeds.
/// </summary>
public sealed class ValidatorWarmUpTests(AzuriteFixture azurite, TestIdentity identity) : IClassFixture<TestIdentity>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan LoadBound = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task The_API_starts_loading_the_validator_at_start_before_any_request_and_is_ready_once_it_is_loaded()
    {
        await using var app = new FunctionsApp(azurite.ConnectionString, identity);
        _ = app.Server;
        var warmUp = app.Services.GetRequiredService<PackageWarmUp>();

        Assert.True(warmUp.StartedAtStart, "The app started without starting the validator's load.");
        var package = await warmUp.Package.WaitAsync(LoadBound, Ct);
        Assert.Same(await ReferralPackage.LoadAsync(), package);
        Assert.Same(package, app.Services.GetRequiredService<ReferralPackage>());

        using var client = app.CreateClient();
        using var response = await client.GetAsync(Url("/api/health"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = await response.Content.ReadFromJsonAsync<HealthReport>(Ct);
        Assert.Equal(("ok", "ready"), (report?.Status, report?.Validator));
    }

    [Fact]
    public async Task A_submit_arriving_while_the_validator_loads_waits_for_that_one_load_and_is_stored()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loads = 0;
        await using var scenario = new ReferralScenario(azurite, identity, services: services =>
            services.Replace(ServiceDescriptor.Singleton(new PackageWarmUp(async () =>
            {
                Interlocked.Increment(ref loads);
                await release.Task;
                return await ReferralPackage.LoadAsync();
            }))));
        await scenario.SeedTherapistsAsync();
        using var anonymous = scenario.App.CreateClient();

        using (var starting = await anonymous.GetAsync(Url("/api/health"), Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, starting.StatusCode);
            var report = await starting.Content.ReadFromJsonAsync<HealthReport>(Ct);
            Assert.Equal(("starting", "loading", "up"), (report?.Status, report?.Validator, report?.Storage.Tables));
        }

        var submit = scenario.SubmitAsync(scenario.Draft());
        // The submit is held by the load: it has not been answered while the load is held back.
        await Task.Delay(TimeSpan.FromMilliseconds(500), Ct);
        Assert.False(submit.IsCompleted, "The submit was answered before the validator was loaded.");

        release.SetResult();
        var (response, request) = await submit.WaitAsync(LoadBound, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.NotNull(request?.Id);
        Assert.Equal(1, Volatile.Read(ref loads));
        using var ready = await anonymous.GetAsync(Url("/api/health"), Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        response.Dispose();
    }
}

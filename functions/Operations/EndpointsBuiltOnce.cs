using Microsoft.Extensions.Primitives;

namespace Referral.Operations;

/// <summary>
/// Both apps and the sandbox EHR compile this one file (the smart-app and the sandbox link it). ASP.NET Core asks an
/// app's endpoint data sources for their endpoints twice: once for the authorization policy cache, as the app starts,
/// and once for the router, at the first request. A minimal API's data source builds its endpoints anew on every ask
/// (each handler's request delegate and metadata made again; the delegates were compiled from expression trees, most
/// of an app's start, until the Request Delegate Generator made them at build time), and the two lists hold different
/// objects, so the authorization policy cache, keyed by endpoint, never finds the router's. Called once every endpoint
/// is mapped, this wraps each data source that can never change so its endpoints are built once and shared by both.
/// </summary>
internal static class EndpointsBuiltOnce
{
    public static void BuildEndpointsOnce(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var sources = app.DataSources.ToList();
        app.DataSources.Clear();
        foreach (var source in sources)
        {
            // A source whose endpoints may change (Razor Pages' action descriptors, say) keeps telling its users so.
            app.DataSources.Add(source.GetChangeToken().ActiveChangeCallbacks ? source : new Cached(source));
        }
    }

    /// <summary>The endpoints of a source that never changes, built at the first ask and kept.</summary>
    internal sealed class Cached(EndpointDataSource inner) : EndpointDataSource
    {
        private readonly Lazy<IReadOnlyList<Endpoint>> endpoints = new(() => inner.Endpoints, LazyThreadSafetyMode.ExecutionAndPublication);

        public override IReadOnlyList<Endpoint> Endpoints => endpoints.Value;

        public override IChangeToken GetChangeToken() => inner.GetChangeToken();

        // A route group asks again with its own prefix and conventions: that is another list, not this one.
        public override IReadOnlyList<Endpoint> GetGroupedEndpoints(RouteGroupContext context) => inner.GetGroupedEndpoints(context);
    }
}

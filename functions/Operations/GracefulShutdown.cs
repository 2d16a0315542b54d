using System.Globalization;

namespace Referral.Operations;

/// <summary>
/// Both apps compile this one file (the smart-app links it). On SIGTERM (App Service scale-in, a platform update, a
/// slot swap) the host stops taking requests and gives the ones in flight, and the background work in hand, up to
/// <c>Shutdown:Timeout</c> to finish (HostOptions.ShutdownTimeout). The default is chosen per app to outlast its
/// slowest piece of work: the smart-app's longest call to an EHR or the API, the functions app's longest queue
/// message (an EHR write with its 30 s client timeout). App Service on Linux must be told to wait as long
/// (<c>WEBSITES_CONTAINER_STOP_TIME_LIMIT</c>), or it kills the process first.
/// </summary>
internal static class GracefulShutdown
{
    public const string Setting = "Shutdown:Timeout";

    public static TBuilder AddGracefulShutdown<TBuilder>(this TBuilder builder, TimeSpan defaultTimeout)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Read when the host is built, so every configuration source (a test host's settings too) has its say.
        builder.Services.AddOptions<HostOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            var configured = configuration[Setting];
            var timeout = defaultTimeout;
            if (!string.IsNullOrWhiteSpace(configured)
                && (!TimeSpan.TryParse(configured, CultureInfo.InvariantCulture, out timeout) || timeout <= TimeSpan.Zero || timeout > TimeSpan.FromMinutes(10)))
            {
                throw new InvalidOperationException($"{Setting} must be a time span (hh:mm:ss) above zero and at most 10 minutes; it is '{configured}'.");
            }

            options.ShutdownTimeout = timeout;
        });
        return builder;
    }
}

using System.Net;
using System.Net.Sockets;

namespace Referral.Tests.Infrastructure;

public static class Loopback
{
    /// <summary>
    /// Below Linux's ephemeral range (32768-60999 by default), from which every outgoing connection takes its local
    /// port: a port found free there could be taken by a test's own connection to Azurite before the app bound it
    /// (a browser test's API failed to start with "address already in use" on 44463).
    /// </summary>
    private const int First = 20000;

    private const int Last = 32000;

    /// <summary>A port free on 127.0.0.1 now, outside the ephemeral range; only another test picking the same one at once could take it.</summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(First, Last);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use: another.
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Net;
using System.Net.Sockets;

namespace Referral.Tests.Infrastructure;

public static class Loopback
{
    /// <summary>A port free on 127.0.0.1 now; the OS hands out a fresh one each time, so races are rare.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Net;
using System.Net.Sockets;
using WireMock.Exceptions;
using WireMock.Server;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// Starts a fake EHR's WireMock server on a port no earlier fake EHR of this test run had. An EHR is known by its base
/// URL (<c>http://localhost:PORT/fhir</c>), and the shared Azurite keeps every test's referrals: a fake EHR on a port the
/// operating system handed out again would be the same EHR to the store, so a later test would see an earlier test's
/// open referral for the same synthetic patient (the smart-app's duplicate check then asked "send it anyway?"). The
/// ports come from a range below Linux's ephemeral ports (32768-60999), so nothing else is given them meanwhile.
/// </summary>
public static class EhrPorts
{
    private const int First = 20000;
    private const int Last = 32000;

    private static int next = First + Random.Shared.Next(0, 2000);

    public static WireMockServer Start()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Interlocked.Increment(ref next);
            if (port > Last || !IsFree(port))
            {
                continue;
            }

            try
            {
                return WireMockServer.Start(port);
            }
            catch (WireMockException)
            {
                // Taken between the check and the start: the next one.
            }
        }

        throw new InvalidOperationException($"No free port for a fake EHR from {First} to {Last}.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

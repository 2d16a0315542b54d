using WireMock;
using WireMock.ResponseBuilders;
using WireMock.Types;
using WireMock.Util;

namespace Referral.Tests.Infrastructure;

/// <summary>
/// A fake server's answer held back until a task ends (the test's end, say), so a server slower than the app waits
/// never leaves a response pending that would hold the server's stop (WireMock's own delay cannot be cut short).
/// </summary>
internal static class HeldAnswer
{
    /// <summary>A 200 with <paramref name="body"/>, sent once <paramref name="release"/> ends; <paramref name="asked"/> runs as the request arrives.</summary>
    public static IResponseBuilder Until(System.Threading.Tasks.Task release, string contentType, string body, Action? asked = null) =>
        Response.Create().WithCallback(async _ =>
        {
            asked?.Invoke();
            await release;
            var answer = new ResponseMessage { StatusCode = 200, BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String } };
            answer.AddHeader("Content-Type", contentType);
            return answer;
        });
}

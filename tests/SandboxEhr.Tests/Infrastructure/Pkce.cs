using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace SandboxEhr.Tests.Infrastructure;

/// <summary>An RFC 7636 verifier and its S256 challenge.</summary>
public sealed record Pkce(string Verifier, string Challenge)
{
    public static Pkce Create()
    {
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return new Pkce(verifier, Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }
}

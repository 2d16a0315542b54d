using System.Buffers.Text;
using System.Security.Cryptography;

namespace SandboxEhr.Auth;

/// <summary>Unguessable values (codes, launch ids, refresh tokens): 256 bits from the OS generator by default.</summary>
public static class RandomTokens
{
    public static string Create(int bytes = 32) => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(bytes));
}

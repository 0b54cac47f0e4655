using System.Security.Cryptography;
using System.Text;

namespace OtpFailover.Simulator;

/// <summary>
/// Message ids as Meta's Cloud API mints them: <c>wamid.</c> and the Base64 of <c>1C 18</c>, a length byte, the
/// recipient's digits, <c>15 02 00 11 18 12</c> and 18 random hex characters. Decoding one gives the number back,
/// which is why the service never stores them; the stand-ins mint them this way so that tests can see it.
/// </summary>
public static class WhatsAppMessageIds
{
    public static string Mint(string recipient)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        var digits = Encoding.ASCII.GetBytes(recipient.TrimStart('+'));
        var random = Encoding.ASCII.GetBytes(Convert.ToHexString(RandomNumberGenerator.GetBytes(9)));
        byte[] bytes = [0x1C, 0x18, (byte)digits.Length, .. digits, 0x15, 0x02, 0x00, 0x11, 0x18, (byte)random.Length, .. random];
        return $"wamid.{Convert.ToBase64String(bytes)}";
    }
}

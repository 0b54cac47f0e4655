using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OtpFailover.Configuration;

namespace OtpFailover.Callbacks;

/// <summary>
/// A callback's host resolved only to addresses callbacks may not reach, or to none at all; nothing was sent. Either
/// says something about the name a verification gave, not about the receivers that share its circuit.
/// </summary>
public sealed class CallbackAddressRefusedException(string message, bool unresolved = false, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>The name did not resolve (rather than resolving to a refused address).</summary>
    public bool Unresolved { get; } = unresolved;
}

/// <summary>
/// Which addresses callbacks may connect to, judged after DNS, at connect time: the allow-list is by name, and a
/// listed name can resolve (or be re-pointed) to an internal address. Loopback only in local development; private and
/// shared (CGNAT) ranges only with <see cref="CallbackOptions.AllowPrivateNetworks"/>; link-local (where cloud
/// metadata lives), Azure's platform address, multicast, broadcast, unspecified and reserved addresses never.
/// </summary>
public sealed class CallbackNetwork(IOptions<CallbackOptions> options, IConfiguration? configuration = null)
{
    private static readonly IPAddress AzurePlatform = IPAddress.Parse("168.63.129.16");
    private static readonly IPAddress Ec2Metadata = IPAddress.Parse("fd00:ec2::254");

    private bool AllowLoopback => HostEnvironment.IsDevelopment(configuration);

    public bool Allows(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return AllowLoopback;
        }

        return Classify(address) switch
        {
            Range.Public => true,
            Range.Private => options.Value.AllowPrivateNetworks,
            _ => false,
        };
    }

    /// <summary>Connects to the first address of the host that callbacks may reach; refuses when it has none.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var endPoint = context.DnsEndPoint;
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(endPoint.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endPoint.Host, cancellationToken);
        }
        catch (SocketException ex)
        {
            throw new CallbackAddressRefusedException("The callback host does not resolve.", unresolved: true, ex);
        }

        var allowed = addresses.Where(Allows).ToArray();
        if (allowed.Length == 0)
        {
            throw new CallbackAddressRefusedException("The callback host resolves only to addresses callbacks may not reach (loopback, private, link-local, multicast or reserved).");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private enum Range
    {
        Public,
        Private,
        Never,
    }

    private static Range Classify(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return (b[0], b[1]) switch
            {
                (10, _) => Range.Private,
                (172, >= 16 and <= 31) => Range.Private,
                (192, 168) => Range.Private,
                (100, >= 64 and <= 127) => Range.Private, // shared address space (CGNAT)
                (169, 254) => Range.Never, // link-local: cloud metadata (169.254.169.254)
                (0, _) => Range.Never,
                (>= 224, _) => Range.Never, // multicast, reserved, broadcast
                (192, 0) when b[2] is 0 or 2 => Range.Never, // IETF protocol assignments, TEST-NET-1
                (198, >= 18 and <= 19) => Range.Never, // benchmarking
                _ when address.Equals(AzurePlatform) => Range.Never, // Azure's wire server and DNS
                _ => Range.Public,
            };
        }

        if (address.IsIPv6Multicast || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.Equals(IPAddress.IPv6Any) || address.Equals(Ec2Metadata))
        {
            return Range.Never;
        }

        if (address.IsIPv6UniqueLocal)
        {
            return Range.Private; // fc00::/7
        }

        var first = address.GetAddressBytes();
        // Ranges that carry an IPv4 address inside, or are not for use: 2001:db8::/32 (documentation), 64:ff9b::/96
        // (NAT64), 2002::/16 (6to4), 2001::/32 (Teredo). Refused with the rest.
        if ((first[0] == 0x20 && first[1] == 0x01 && first[2] == 0x0d && first[3] == 0xb8) || (first[0] == 0x00 && first[1] == 0x64 && first[2] == 0xff && first[3] == 0x9b)
            || (first[0] == 0x20 && first[1] == 0x02) || (first[0] == 0x20 && first[1] == 0x01 && first[2] == 0x00 && first[3] == 0x00))
        {
            return Range.Never;
        }

        return first[0] is >= 0x20 and <= 0x3f ? Range.Public : Range.Never; // only global unicast (2000::/3)
    }
}

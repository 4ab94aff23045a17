using System.Net;
using System.Net.Sockets;

namespace Worker.Jobs.LinkMetadata.Fetching;

/// <summary>
/// Which addresses a fetch may dial. Everything that is not plainly public unicast is refused: loopback, private,
/// link-local (cloud metadata 169.254.169.254), CGNAT, multicast, reserved, benchmarking and documentation ranges, in
/// IPv4 and IPv6, and the IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the
/// IPv4 address they carry. Teredo and local-use NAT64 are refused outright.
/// </summary>
internal static class AddressPolicy
{
    private static readonly IPNetwork[] BlockedV4 =
    [
        IPNetwork.Parse("0.0.0.0/8"),        // "this network", unspecified
        IPNetwork.Parse("10.0.0.0/8"),       // private
        IPNetwork.Parse("100.64.0.0/10"),    // carrier-grade NAT
        IPNetwork.Parse("127.0.0.0/8"),      // loopback
        IPNetwork.Parse("169.254.0.0/16"),   // link-local, cloud metadata
        IPNetwork.Parse("172.16.0.0/12"),    // private
        IPNetwork.Parse("192.0.0.0/24"),     // IETF protocol assignments
        IPNetwork.Parse("192.0.2.0/24"),     // documentation
        IPNetwork.Parse("192.88.99.0/24"),   // 6to4 relay anycast
        IPNetwork.Parse("192.168.0.0/16"),   // private
        IPNetwork.Parse("198.18.0.0/15"),    // benchmarking
        IPNetwork.Parse("198.51.100.0/24"),  // documentation
        IPNetwork.Parse("203.0.113.0/24"),   // documentation
        IPNetwork.Parse("224.0.0.0/4"),      // multicast
        IPNetwork.Parse("240.0.0.0/4"),      // reserved, broadcast
    ];

    private static readonly IPNetwork[] BlockedV6 =
    [
        IPNetwork.Parse("::/128"),           // unspecified
        IPNetwork.Parse("::1/128"),          // loopback
        IPNetwork.Parse("64:ff9b:1::/48"),   // local-use NAT64
        IPNetwork.Parse("100::/64"),         // discard
        IPNetwork.Parse("2001::/32"),        // Teredo (carries an IPv4 address, obfuscated)
        IPNetwork.Parse("2001:2::/48"),      // benchmarking
        IPNetwork.Parse("2001:10::/28"),     // ORCHID
        IPNetwork.Parse("2001:20::/28"),     // ORCHIDv2
        IPNetwork.Parse("2001:db8::/32"),    // documentation
        IPNetwork.Parse("3fff::/20"),        // documentation
        IPNetwork.Parse("5f00::/16"),        // SRv6 SIDs
        IPNetwork.Parse("fc00::/7"),         // unique local
        IPNetwork.Parse("fe80::/10"),        // link-local
        IPNetwork.Parse("fec0::/10"),        // site-local (deprecated)
        IPNetwork.Parse("ff00::/8"),         // multicast
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork Compatible = IPNetwork.Parse("::/96");
    private static readonly IPNetwork LoopbackV4 = IPNetwork.Parse("127.0.0.0/8");

    /// <summary>Global unicast: every public IPv6 address lies here; anything outside it is reserved or local.</summary>
    private static readonly IPNetwork GlobalUnicastV6 = IPNetwork.Parse("2000::/3");

    /// <param name="allowLoopback">Test-only: admits 127.0.0.0/8 and ::1 (in any spelling), nothing else.</param>
    public static bool IsBlocked(IPAddress address, bool allowLoopback = false)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return IsBlockedV4(address, allowLoopback);
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return true;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return IsBlockedV4(address.MapToIPv4(), allowLoopback);
        }

        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return !allowLoopback;
        }

        if (address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }

        var bytes = address.GetAddressBytes();
        if (Compatible.Contains(address) || Nat64.Contains(address))
        {
            return IsBlockedV4(new IPAddress(bytes.AsSpan(12, 4)), allowLoopback);
        }

        if (SixToFour.Contains(address))
        {
            return IsBlockedV4(new IPAddress(bytes.AsSpan(2, 4)), allowLoopback);
        }

        if (!GlobalUnicastV6.Contains(address))
        {
            return true;
        }

        foreach (var network in BlockedV6)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsBlockedV4(IPAddress address, bool allowLoopback)
    {
        if (allowLoopback && LoopbackV4.Contains(address))
        {
            return false;
        }

        foreach (var network in BlockedV4)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}

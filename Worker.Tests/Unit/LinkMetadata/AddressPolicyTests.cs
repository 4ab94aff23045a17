using System.Net;
using Worker.Jobs.LinkMetadata.Fetching;

namespace Worker.Tests.Unit.LinkMetadata;

[TestFixture]
public sealed class AddressPolicyTests
{
    [TestCase("127.0.0.1")]
    [TestCase("127.255.255.254")]
    [TestCase("0.0.0.0")]
    [TestCase("10.0.0.1")]
    [TestCase("172.16.0.1")]
    [TestCase("172.31.255.255")]
    [TestCase("192.168.1.1")]
    [TestCase("169.254.169.254")]
    [TestCase("100.64.0.1")]
    [TestCase("100.127.255.255")]
    [TestCase("224.0.0.1")]
    [TestCase("239.255.255.250")]
    [TestCase("240.0.0.1")]
    [TestCase("255.255.255.255")]
    [TestCase("192.0.0.8")]
    [TestCase("192.0.2.1")]
    [TestCase("198.51.100.7")]
    [TestCase("203.0.113.9")]
    [TestCase("198.18.0.1")]
    [TestCase("192.88.99.1")]
    [TestCase("::")]
    [TestCase("::1")]
    [TestCase("0:0:0:0:0:0:0:1")]
    [TestCase("fe80::1")]
    [TestCase("fc00::1")]
    [TestCase("fd12:3456::1")]
    [TestCase("fec0::1")]
    [TestCase("ff02::1")]
    [TestCase("2001:db8::1")]
    [TestCase("3fff::1")]
    [TestCase("100::1")]
    [TestCase("2001::1")]
    [TestCase("2001:10::1")]
    [TestCase("64:ff9b:1::1")]
    [TestCase("::ffff:127.0.0.1")]
    [TestCase("::ffff:7f00:1")]
    [TestCase("::ffff:169.254.169.254")]
    [TestCase("::ffff:10.0.0.1")]
    [TestCase("::127.0.0.1")]
    [TestCase("::a9fe:a9fe")]
    [TestCase("64:ff9b::127.0.0.1")]
    [TestCase("64:ff9b::a9fe:a9fe")]
    [TestCase("2002:7f00:1::")]
    [TestCase("2002:a9fe:a9fe::1")]
    [TestCase("2002:c0a8:101::1")]
    [TestCase("::ffff:0:7f00:1")]
    [TestCase("4000::1")]
    [TestCase("e000::1")]
    public void IsBlocked_InternalOrReservedAddress_IsRefused(string address)
    {
        Assert.That(AddressPolicy.IsBlocked(IPAddress.Parse(address)), Is.True);
    }

    [TestCase("8.8.8.8")]
    [TestCase("1.1.1.1")]
    [TestCase("93.184.216.34")]
    [TestCase("172.32.0.1")]
    [TestCase("100.128.0.1")]
    [TestCase("2606:4700:4700::1111")]
    [TestCase("2a00:1450:4001:80b::200e")]
    [TestCase("::ffff:8.8.8.8")]
    [TestCase("64:ff9b::8.8.8.8")]
    [TestCase("2002:808:808::1")]
    public void IsBlocked_PublicAddress_IsAllowed(string address)
    {
        Assert.That(AddressPolicy.IsBlocked(IPAddress.Parse(address)), Is.False);
    }

    [TestCase("127.0.0.1", false)]
    [TestCase("127.1.2.3", false)]
    [TestCase("::1", false)]
    [TestCase("::ffff:127.0.0.1", false)]
    [TestCase("10.0.0.1", true)]
    [TestCase("169.254.169.254", true)]
    [TestCase("::ffff:10.0.0.1", true)]
    [TestCase("192.168.0.1", true)]
    [TestCase("fe80::1", true)]
    public void IsBlocked_AllowLoopback_AdmitsLoopbackOnly(string address, bool blocked)
    {
        Assert.That(AddressPolicy.IsBlocked(IPAddress.Parse(address), allowLoopback: true), Is.EqualTo(blocked));
    }

    [TestCase("http://2130706433/")]
    [TestCase("http://0x7f000001/")]
    [TestCase("http://0x7f.1/")]
    [TestCase("http://017700000001/")]
    [TestCase("http://127.1/")]
    [TestCase("http://0177.0.0.1/")]
    [TestCase("http://[::ffff:127.0.0.1]/")]
    [TestCase("http://[::1]/")]
    [TestCase("http://169.254.169.254/latest/meta-data/")]
    [TestCase("http://[fd00::1]/")]
    [TestCase("http://0/")]
    public void Validate_LiteralInternalAddressInAnySpelling_RefusedBeforeConnecting(string url)
    {
        var refused = Assert.Throws<FetchException>(() => UrlPolicy.Validate(url, new LinkFetcherOptions()));

        Assert.That(refused!.Reason, Is.EqualTo("blocked_address"));
        Assert.That(refused.IsTransient, Is.False);
    }

    [TestCase("ftp://example.com/", "scheme_not_allowed")]
    [TestCase("file:///etc/passwd", "scheme_not_allowed")]
    [TestCase("gopher://example.com/", "scheme_not_allowed")]
    [TestCase("http://user:pass@example.com/", "invalid_url")]
    [TestCase("http://example.com:8080/", "port_not_allowed")]
    [TestCase("https://example.com:22/", "port_not_allowed")]
    [TestCase("not a url", "invalid_url")]
    public void Validate_DisallowedUrl_RefusedWithReason(string url, string reason)
    {
        var refused = Assert.Throws<FetchException>(() => UrlPolicy.Validate(url, new LinkFetcherOptions()));

        Assert.That(refused!.Reason, Is.EqualTo(reason));
    }

    [Test]
    public void Validate_ConfiguredPorts_ReplaceTheDefaults()
    {
        var options = new LinkFetcherOptions { AllowedPorts = [443] };

        Assert.That(UrlPolicy.Validate("https://example.com/", options).Port, Is.EqualTo(443));
        Assert.That(() => UrlPolicy.Validate("http://example.com/", options), Throws.InstanceOf<FetchException>());
    }
}

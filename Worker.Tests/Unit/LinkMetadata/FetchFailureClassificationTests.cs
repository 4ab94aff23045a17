using System.Net.Sockets;
using System.Security.Authentication;
using Worker.Jobs.LinkMetadata.Fetching;

namespace Worker.Tests.Unit.LinkMetadata;

public sealed class FetchFailureClassificationTests
{
    [TestCase(SocketError.HostNotFound, false)]
    [TestCase(SocketError.TryAgain, true)]
    [TestCase(SocketError.NoData, true)]
    public void Classify_ResolverError_DnsFailurePermanentOnlyForNoSuchName(SocketError error, bool transient)
    {
        var failure = LinkFetcher.Classify(new HttpRequestException(HttpRequestError.NameResolutionError, "dns", new SocketException((int)error)));

        Assert.That((failure.Reason, failure.IsTransient), Is.EqualTo(("dns_failure", transient)));
    }

    [Test]
    public void Classify_ConnectionRefused_ConnectFailedTransient()
    {
        var failure = LinkFetcher.Classify(new HttpRequestException(HttpRequestError.ConnectionError, "refused", new SocketException((int)SocketError.ConnectionRefused)));

        Assert.That((failure.Reason, failure.IsTransient), Is.EqualTo(("connect_failed", true)));
    }

    [Test]
    public void Classify_ConnectionReset_ConnectionResetTransient()
    {
        var failure = LinkFetcher.Classify(new HttpRequestException("reset", new IOException("reset", new SocketException((int)SocketError.ConnectionReset))));

        Assert.That((failure.Reason, failure.IsTransient), Is.EqualTo(("connection_reset", true)));
    }

    [Test]
    public void Classify_TlsHandshakeFailed_TlsFailedTransient()
    {
        var failure = LinkFetcher.Classify(new HttpRequestException(HttpRequestError.SecureConnectionError, "tls", new AuthenticationException("bad certificate")));

        Assert.That((failure.Reason, failure.IsTransient), Is.EqualTo(("tls_failed", true)));
    }

    [Test]
    public void Classify_FailureRaisedInTheConnectCallback_KeptAsItIs()
    {
        var blocked = FetchException.Blocked();

        Assert.That(LinkFetcher.Classify(new HttpRequestException("x", blocked)), Is.SameAs(blocked));
    }
}

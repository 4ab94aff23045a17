using Worker.Streams;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class StreamReadersTests
{
    [TestCase("127.0.0.1:6379")]
    [TestCase("redis.internal:6380,user=jobs,password=s3cret,defaultDatabase=3,abortConnect=false")]
    [TestCase("redis.internal:6380,ssl=true,sslHost=redis.internal,password=s3cret")]
    [TestCase("redis-a:6379,redis-b:6379,redis-c:6379")]
    public void SocketUnsupported_PlainEndpointsOrACluster_IsNull(string configuration)
    {
        Assert.That(StreamReaders.SocketUnsupported(configuration), Is.Null);
    }

    [TestCase("sentinel-a:26379,serviceName=jobs", "Sentinel")]
    public void SocketUnsupported_WhatAPlainSocketCannotServe_NamesTheReason(string configuration, string reason)
    {
        Assert.That(StreamReaders.SocketUnsupported(configuration), Does.Contain(reason));
    }

    [TestCase("MOVED 3999 127.0.0.1:6381", "127.0.0.1:6381")]
    [TestCase("ASK 3999 10.0.0.7:7000", "10.0.0.7:7000")]
    [TestCase("MOVED 12 redis-b.internal:6379", "Unspecified/redis-b.internal:6379")]
    [TestCase("MOVED 12 :7002", "127.0.0.1:7002")]
    [TestCase("MOVED 12 [::1]:7003", "[::1]:7003")]
    public void Redirect_ClusterRedirect_NamesTheNodeToReadFrom(string error, string expected)
    {
        var target = SocketStreamReader.Redirect(error, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 6379));

        Assert.That(target?.ToString(), Is.EqualTo(expected));
    }

    [TestCase("NOGROUP No such key 'jobs:{noop}' or consumer group 'workers'")]
    [TestCase("MOVED 12")]
    [TestCase("MOVED 12 127.0.0.1:port")]
    public void Redirect_AnyOtherError_IsNull(string error)
    {
        Assert.That(SocketStreamReader.Redirect(error, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 6379)), Is.Null);
    }
}

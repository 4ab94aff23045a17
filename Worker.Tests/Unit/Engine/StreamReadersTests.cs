using Worker.Streams;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class StreamReadersTests
{
    [TestCase("127.0.0.1:6379")]
    [TestCase("redis.internal:6380,user=jobs,password=s3cret,defaultDatabase=3,abortConnect=false")]
    public void SocketUnsupported_OnePlainEndpoint_IsNull(string configuration)
    {
        Assert.That(StreamReaders.SocketUnsupported(configuration), Is.Null);
    }

    [TestCase("redis.internal:6380,ssl=true", "TLS")]
    [TestCase("sentinel-a:26379,serviceName=jobs", "Sentinel")]
    [TestCase("redis-a:6379,redis-b:6379", "2 endpoints")]
    public void SocketUnsupported_WhatAPlainSocketCannotServe_NamesTheReason(string configuration, string reason)
    {
        Assert.That(StreamReaders.SocketUnsupported(configuration), Does.Contain(reason));
    }
}

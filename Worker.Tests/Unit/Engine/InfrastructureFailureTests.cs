using System.Net.Sockets;
using Npgsql;
using StackExchange.Redis;
using Worker.Jobs;
using Worker.Jobs.LinkMetadata.Fetching;

namespace Worker.Tests.Unit.Engine;

public sealed class InfrastructureFailureTests
{
    [Test]
    public void Is_RedisConnectionFailure_True() =>
        Assert.That(InfrastructureFailure.Is(new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "down", null, CommandStatus.Unknown)), Is.True);

    [Test]
    public void Is_RedisTimeout_True() =>
        Assert.That(InfrastructureFailure.Is(new RedisTimeoutException(CommandFlags.None, "slow", CommandStatus.Sent)), Is.True);

    [Test]
    public void Is_TransientNpgsqlFailureWrappedByEfCore_True() =>
        Assert.That(InfrastructureFailure.Is(new InvalidOperationException("transient", new NpgsqlException("broken", new IOException("reset", new SocketException(104))))), Is.True);

    [Test]
    public void Is_BareSocketException_FalseForItCameFromNeitherClient() =>
        Assert.That(InfrastructureFailure.Is(new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused))), Is.False);

    [Test]
    public void Is_LinkFetchFailureCarryingASocketException_False()
    {
        var fetch = new FetchException("connect_failed", transient: true, "the site could not be reached", inner: new SocketException((int)SocketError.ConnectionRefused));

        Assert.That(InfrastructureFailure.Is(new TransientJobException(fetch.Reason, fetch.Message, inner: fetch)), Is.False);
    }

    [Test]
    public void Is_JobsOwnClassificationAroundARedisError_TheJobsFailure() =>
        Assert.That(InfrastructureFailure.Is(new PermanentJobException("bad", "bad", new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "x", null, CommandStatus.Unknown))), Is.False);

    [Test]
    public void Is_ConnectTimeoutAsTaskCanceled_False() =>
        Assert.That(InfrastructureFailure.Is(new TaskCanceledException("connect", new TimeoutException())), Is.False);
}

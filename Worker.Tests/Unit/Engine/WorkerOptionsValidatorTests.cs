using Microsoft.Extensions.Configuration;
using Moq;
using Worker.Hosting;
using Worker.Jobs;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class WorkerOptionsValidatorTests
{
    private static WorkerOptionsValidator Validator(IDictionary<string, string?>? raw = null)
    {
        var handler = new Mock<IJobHandler>(MockBehavior.Strict);
        handler.SetupGet(h => h.JobType).Returns("noop");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(raw ?? new Dictionary<string, string?>()).Build();
        return new WorkerOptionsValidator([handler.Object], configuration);
    }

    private static WorkerOptions With(JobTypeOptions job) => new() { Jobs = { ["noop"] = job } };

    [Test]
    public void Validate_Defaults_Succeeds()
    {
        Assert.That(Validator().Validate(null, With(new JobTypeOptions())).Succeeded, Is.True);
    }

    [Test]
    public void Validate_SeveralBadValues_ReportsEachWithItsKey()
    {
        var job = new JobTypeOptions { BatchSize = 0, MaxDeliveries = 0, Retry = { MaxAttempts = 0, Factor = 0.5 } };

        var result = Validator().Validate(null, With(job));

        Assert.That(result.Failures, Is.EquivalentTo(new[]
        {
            "Worker:Jobs:noop:BatchSize must be between 1 and 10000 (was 0)",
            "Worker:Jobs:noop:MaxDeliveries must be at least 1 (was 0)",
            "Worker:Jobs:noop:Retry:MaxAttempts must be at least 1 (was 0)",
            "Worker:Jobs:noop:Retry:Factor must be at least 1 (was 0.5)",
        }));
    }

    [TestCase("00:00:00")]
    [TestCase("00:01:00.5000000")]
    public void Validate_ReplicaTimeoutOutOfRange_NamesTheKey(string timeout)
    {
        var options = new WorkerOptions { Redis = { ReplicaTimeout = TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture) } };

        var result = Validator().Validate(null, options);

        Assert.That(result.Failures, Is.EqualTo(new[] { $"Worker:Redis:ReplicaTimeout must be between 00:00:00.001 and 00:01:00 (was {timeout})" }));
    }

    [Test]
    public void Validate_UnknownOrUnreadableRedisKey_NamesIt()
    {
        var raw = new Dictionary<string, string?>
        {
            ["Worker:Redis:WaitForReplicas"] = "false",
            ["Worker:Redis:WaitForReplica"] = "sometimes",
        };

        var result = Validator(raw).Validate(null, new WorkerOptions());

        Assert.That(result.Failures, Is.EquivalentTo(new[]
        {
            "Worker:Redis:WaitForReplicas is not a known setting of RedisWriteOptions",
            "Worker:Redis:WaitForReplica cannot be read as Boolean (was 'sometimes')",
        }));
    }

    [Test]
    public void Validate_IdleConsumerTimeoutShorterThanTenBlockTimes_RefusedButZeroTurnsRemovalOff()
    {
        var tooShort = new JobTypeOptions { BlockTime = TimeSpan.FromSeconds(2), IdleConsumerTimeout = TimeSpan.FromSeconds(10) };

        Assert.That(Validator().Validate(null, With(tooShort)).Failures, Is.EqualTo(new[]
        {
            "Worker:Jobs:noop:IdleConsumerTimeout must be zero (keep every consumer) or at least ten times BlockTime, 00:00:20 (was 00:00:10)",
        }));
        Assert.That(Validator().Validate(null, With(new JobTypeOptions { IdleConsumerTimeout = TimeSpan.Zero })).Succeeded, Is.True);
    }

    [TestCase(0)]
    [TestCase(65)]
    public void Validate_PartitionsOutOfRange_NamesTheKey(int partitions)
    {
        Assert.That(Validator().Validate(null, With(new JobTypeOptions { Partitions = partitions })).Failures, Is.EqualTo(new[]
        {
            $"Worker:Jobs:noop:Partitions must be between 1 and 64 (was {partitions})",
        }));
    }

    [Test]
    public void Validate_RateLimitOutOfRange_NamesTheKey()
    {
        var negative = new JobTypeOptions { RateLimit = { Limit = -1 } };
        var noPeriod = new JobTypeOptions { RateLimit = { Limit = 20, Period = TimeSpan.Zero } };

        Assert.Multiple(() =>
        {
            Assert.That(Validator().Validate(null, With(negative)).Failures, Is.EqualTo(new[]
            {
                "Worker:Jobs:noop:RateLimit:Limit must not be negative (was -1; 0 is no limit)",
            }));
            Assert.That(Validator().Validate(null, With(noPeriod)).Failures, Is.EqualTo(new[]
            {
                "Worker:Jobs:noop:RateLimit:Period must be positive and at most 1.00:00:00 (was 00:00:00)",
            }));
            Assert.That(Validator().Validate(null, With(new JobTypeOptions { RateLimit = { Limit = 0, Period = TimeSpan.Zero } })).Succeeded, Is.True, "no limit: the period is not used");
        });
    }

    [Test]
    public void Validate_UnknownJobType_NamesTheKnownOnes()
    {
        var options = new WorkerOptions { Jobs = { ["mail"] = new JobTypeOptions() } };

        var result = Validator().Validate(null, options);

        Assert.That(result.Failures, Is.EqualTo(new[] { "Worker:Jobs:mail: no handler is registered for job type 'mail' (known: noop)" }));
    }

    [Test]
    public void Validate_CustomStreamWithoutHashTag_RefusedForClusterSafety()
    {
        var result = Validator().Validate(null, With(new JobTypeOptions { Stream = "plain-stream" }));

        Assert.That(result.Failures, Has.One.StartsWith("Worker:Jobs:noop:Stream must contain a hash tag"));
        Assert.That(Validator().Validate(null, With(new JobTypeOptions { Stream = "q:{x}" })).Succeeded, Is.True);
    }

    [Test]
    public void Validate_ConcurrencyZero_IsAllowedAndMeansTheDefault()
    {
        Assert.That(Validator().Validate(null, With(new JobTypeOptions { Concurrency = 0 })).Succeeded, Is.True);
        Assert.That(JobTypeSettings.Resolve("noop", new JobTypeOptions { Concurrency = -4 }).Concurrency, Is.EqualTo(3));
    }

    [Test]
    public void Validate_RawValueTheBinderSkipped_IsReported()
    {
        var validator = Validator(new Dictionary<string, string?>
        {
            ["Worker:Jobs:noop:HandlerTimeout"] = "soon",
            ["Worker:Jobs:noop:Retry:Jiter"] = "true",
        });

        var result = validator.Validate(null, With(new JobTypeOptions()));

        Assert.That(result.Failures, Is.EquivalentTo(new[]
        {
            "Worker:Jobs:noop:HandlerTimeout cannot be read as TimeSpan (was 'soon')",
            "Worker:Jobs:noop:Retry:Jiter is not a known setting of RetryOptions",
        }));
    }
}

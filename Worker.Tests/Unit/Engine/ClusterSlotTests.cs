using Worker.Jobs;

namespace Worker.Tests.Unit.Engine;

/// <summary>
/// Every key a job type's scripts touch must hash to one Redis Cluster slot, or the atomic moves (dead letter,
/// delayed retry, replay) fail with CROSSSLOT on a cluster. Computed here with Redis Cluster's own hash.
/// </summary>
[TestFixture]
public sealed class ClusterSlotTests
{
    [TestCase("link-metadata", null)]
    [TestCase("noop", null)]
    [TestCase("noop", "queue:{mail}:high")]
    public void Keys_OfOneJobType_ShareOneSlot(string jobType, string? stream)
    {
        var settings = JobTypeSettings.Resolve(jobType, new JobTypeOptions { Stream = stream });

        var slots = new[] { settings.StreamKey, settings.DeadLetterKey, settings.DelayedKey }.Select(Slot).Distinct();

        Assert.That(slots.Count(), Is.EqualTo(1));
    }

    [TestCase("noop", null)]
    [TestCase("noop", "queue:{mail}:high")]
    public void Keys_OfOnePartition_ShareOneSlot(string jobType, string? stream)
    {
        foreach (var settings in JobTypeSettings.Resolve(jobType, new JobTypeOptions { Stream = stream, Partitions = 4 }).AllPartitions())
        {
            var slots = new[] { settings.StreamKey, settings.DeadLetterKey, settings.DelayedKey, settings.StartsKey }.Select(Slot).Distinct();
            Assert.That(slots.Count(), Is.EqualTo(1), settings.StreamKey);
        }
    }

    /// <summary>A partition's priority lanes sit in its slot: each lane's scripts touch its own keys, all in that slot.</summary>
    [TestCase(null)]
    [TestCase("queue:{mail}:high")]
    public void Lanes_OfOnePartition_ShareItsSlot(string? stream)
    {
        var streams = JobTypeSettings.Resolve("noop", new JobTypeOptions { Stream = stream, Partitions = 3, Priorities = true }).AllStreams();

        Assert.That(streams, Has.Count.EqualTo(9));
        foreach (var lanes in streams.GroupBy(s => s.Partition))
        {
            var slots = lanes.SelectMany(s => new[] { s.StreamKey, s.DeadLetterKey, s.DelayedKey, s.StartsKey }).Select(Slot).Distinct();
            Assert.That(slots.Count(), Is.EqualTo(1), lanes.First().StreamKey);
            Assert.That(lanes.Select(s => s.Lane), Is.EqualTo(new[] { JobPriority.High, JobPriority.Normal, JobPriority.Low }));
        }
    }

    /// <summary>With the usual three masters (slots split in thirds), noop's three partitions sit on three of them.</summary>
    [Test]
    public void Partitions_OfNoop_HashToSlotsOfDifferentThirds()
    {
        var thirds = JobTypeSettings.Resolve("noop", new JobTypeOptions { Partitions = 3 }).AllPartitions()
            .Select(p => Slot(p.StreamKey) * 3 / 16384);

        Assert.That(thirds.Distinct().Count(), Is.EqualTo(3));
    }

    [Test]
    public void Slot_KnownKeys_MatchRedisClusterKeyslot()
    {
        // Values from CLUSTER KEYSLOT on Redis 7.
        Assert.That(Slot("foo"), Is.EqualTo(12182));
        Assert.That(Slot("{user1000}.following"), Is.EqualTo(Slot("{user1000}.followers")));
        Assert.That(Slot("123456789"), Is.EqualTo(12739));
    }

    private static int Slot(string key)
    {
        var open = key.IndexOf('{');
        if (open >= 0)
        {
            var close = key.IndexOf('}', open + 1);
            if (close > open + 1)
            {
                key = key[(open + 1)..close];
            }
        }

        ushort crc = 0;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(key))
        {
            crc ^= (ushort)(b << 8);
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }

        return crc % 16384;
    }
}

using Worker.Jobs;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class JobTypeSettingsTests
{
    [Test]
    public void Resolve_NoOptions_UsesHashTaggedStreamAndDefaultGroup()
    {
        var settings = JobTypeSettings.Resolve("noop", null);

        Assert.Multiple(() =>
        {
            Assert.That(settings.StreamKey, Is.EqualTo("jobs:{noop}"));
            Assert.That(settings.DeadLetterKey, Is.EqualTo("jobs:{noop}:dlq"));
            Assert.That(settings.DelayedKey, Is.EqualTo("jobs:{noop}:delayed"));
            Assert.That(settings.Group, Is.EqualTo("workers"));
            Assert.That(settings.Concurrency, Is.EqualTo(3));
            Assert.That(settings.HandlerTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(settings.VisibilityTimeout, Is.EqualTo(TimeSpan.FromSeconds(15)));
        });
    }

    [Test]
    public void Resolve_CustomStream_DerivesTheOtherKeysFromIt()
    {
        var settings = JobTypeSettings.Resolve("noop", new JobTypeOptions { Stream = "q:{x}", Group = "g" });

        Assert.That(new[] { settings.StreamKey, settings.DeadLetterKey, settings.DelayedKey, settings.Group },
            Is.EqualTo(new[] { "q:{x}", "q:{x}:dlq", "q:{x}:delayed", "g" }));
    }

    [TestCase("jobs:{noop}", 0, "jobs:{noop}")]
    [TestCase("jobs:{noop}", 1, "jobs:{noop:p1}")]
    [TestCase("queue:{mail}:high", 2, "queue:{mail:p2}:high")]
    [TestCase("plain", 3, "{plain:p3}")]
    [TestCase("odd:{}", 1, "{odd:{}:p1}")]
    public void PartitionStreamKey_EachPartition_GetsItsOwnHashTag(string stream, int partition, string expected) =>
        Assert.That(JobTypeSettings.PartitionStreamKey(stream, partition), Is.EqualTo(expected));

    [Test]
    public void AllPartitions_Three_EachWithItsStreamAndKeysDerivedFromIt()
    {
        var partitions = JobTypeSettings.Resolve("noop", new JobTypeOptions { Partitions = 3 }).AllPartitions();

        Assert.Multiple(() =>
        {
            Assert.That(partitions.Select(p => p.StreamKey), Is.EqualTo(new[] { "jobs:{noop}", "jobs:{noop:p1}", "jobs:{noop:p2}" }));
            Assert.That(partitions.Select(p => p.DeadLetterKey), Is.EqualTo(new[] { "jobs:{noop}:dlq", "jobs:{noop:p1}:dlq", "jobs:{noop:p2}:dlq" }));
            Assert.That(partitions.Select(p => p.Partition), Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(partitions.Select(p => p.Group).Distinct(), Is.EqualTo(new[] { "workers" }));
        });
    }

    /// <summary>The documented rule, so producers in other languages can follow it: FNV-1a 32 of the UTF-8 bytes, mod N.</summary>
    [TestCase("a", 0xe40c292cu)]
    [TestCase("foobar", 0xbf9cf968u)]
    [TestCase("job-42", null)]
    [TestCase("日本", null)]
    public void PartitionOf_Id_IsFnv1aOfItsUtf8BytesModuloTheCount(string id, uint? knownHash)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(id))
        {
            hash = (hash ^ b) * 16777619u;
        }

        if (knownHash is { } known)
        {
            Assert.That(hash, Is.EqualTo(known), "the published FNV-1a test vector");
        }

        Assert.That(Enumerable.Range(1, 7).Select(n => JobTypeSettings.PartitionOf(id, n)), Is.EqualTo(Enumerable.Range(1, 7).Select(n => (int)(hash % (uint)n))));
    }

    [Test]
    public void PartitionOf_LongId_SameRuleBeyondTheStackBuffer()
    {
        var id = new string('x', 300) + "é";
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(id))
        {
            hash = (hash ^ b) * 16777619u;
        }

        Assert.That(JobTypeSettings.PartitionOf(id, 5), Is.EqualTo((int)(hash % 5)));
    }

    [Test]
    public void PartitionOf_ManyIds_SpreadOverThePartitions()
    {
        var counts = Enumerable.Range(0, 3000).Select(i => JobTypeSettings.PartitionOf(Guid.NewGuid().ToString("N"), 3))
            .GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());

        Assert.That(counts.Keys.Order(), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(counts.Values, Is.All.InRange(800, 1200));
    }
}

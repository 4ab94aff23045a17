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
}

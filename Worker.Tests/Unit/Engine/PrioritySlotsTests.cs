using Worker.Jobs;
using Worker.Streams;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class PrioritySlotsTests
{
    [Test]
    public async Task Release_HighNormalAndLowWaiting_HighFirstThenNormalThenLow()
    {
        var slots = new PrioritySlots(1);
        Assert.That(await slots.TakeAsync(JobPriority.Normal, CancellationToken.None), Is.True);
        var low = slots.TakeAsync(JobPriority.Low, CancellationToken.None).AsTask();
        var normal = slots.TakeAsync(JobPriority.Normal, CancellationToken.None).AsTask();
        var high = slots.TakeAsync(JobPriority.High, CancellationToken.None).AsTask();

        slots.Release();
        Assert.That(await Task.WhenAny(high, normal, low), Is.SameAs(high));

        slots.Release();
        Assert.That(await Task.WhenAny(normal, low), Is.SameAs(normal));

        slots.Release();
        Assert.That(await low, Is.True);
    }

    [Test]
    public async Task Release_HighJobsKeepComing_LowOneStartsAfterTenPassedItOver()
    {
        var slots = new PrioritySlots(1);
        await slots.TakeAsync(JobPriority.High, CancellationToken.None);
        var low = slots.TakeAsync(JobPriority.Low, CancellationToken.None).AsTask();
        var highs = 0;
        for (var turn = 0; turn < PrioritySlots.MaxPassedOver + 1; turn++)
        {
            // There is always a high job waiting.
            var high = slots.TakeAsync(JobPriority.High, CancellationToken.None).AsTask();
            slots.Release();
            // Exactly one of the two gets the permit (the other waits for good): whichever completes.
            if (await Task.WhenAny(high, low) == low)
            {
                break;
            }

            Assert.That(await high, Is.True);
            highs++;
        }

        Assert.That(await low, Is.True);
        Assert.That(highs, Is.EqualTo(PrioritySlots.MaxPassedOver));
    }

    [Test]
    public async Task TakeAsync_CancelledWhileWaiting_FalseAndThePermitGoesToTheNext()
    {
        var slots = new PrioritySlots(1);
        await slots.TakeAsync(JobPriority.Normal, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var cancelled = slots.TakeAsync(JobPriority.High, stop.Token).AsTask();
        var next = slots.TakeAsync(JobPriority.Normal, CancellationToken.None).AsTask();

        stop.Cancel();
        Assert.That(await cancelled, Is.False);
        slots.Release();

        Assert.That(await next, Is.True);
        Assert.That(slots.Available, Is.Zero);
    }

    [Test]
    public async Task Release_NobodyWaiting_PermitBackInThePool()
    {
        var slots = new PrioritySlots(2);
        await slots.TakeAsync(JobPriority.Low, CancellationToken.None);

        slots.Release();

        Assert.That(slots.Available, Is.EqualTo(2));
    }
}

using Worker.Streams;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class CreditGateTests
{
    [Test]
    public async Task AcquireAsync_EnoughCredits_TakesUpToTheMaximum()
    {
        var gate = new CreditGate(10);

        Assert.That(await gate.AcquireAsync(1, 4, CancellationToken.None), Is.EqualTo(4));
        Assert.That(await gate.AcquireAsync(1, 100, CancellationToken.None), Is.EqualTo(6));
        Assert.That(gate.TryAcquire(5), Is.Zero);
    }

    [Test]
    public async Task AcquireAsync_BelowTheMinimum_WaitsUntilEnoughAreReleased()
    {
        var gate = new CreditGate(4);
        gate.TryAcquire(4);

        var waiting = gate.AcquireAsync(2, 4, CancellationToken.None).AsTask();
        gate.Release(1);
        Assert.That(waiting.IsCompleted, Is.False, "one credit is below the minimum of two");

        gate.Release(2);
        Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo(3));
    }

    [Test]
    public void AcquireAsync_Cancelled_Throws()
    {
        var gate = new CreditGate(1);
        gate.TryAcquire(1);
        using var cancel = new CancellationTokenSource();

        var waiting = gate.AcquireAsync(1, 1, cancel.Token).AsTask();
        cancel.Cancel();

        Assert.That(async () => await waiting, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Borrow_MoreThanIsFree_NextAcquireWaitsUntilTheDebtIsPaidBack()
    {
        var gate = new CreditGate(4);
        Assert.That(await gate.AcquireAsync(1, 4, CancellationToken.None), Is.EqualTo(4));
        gate.Borrow(3);

        var waiting = gate.AcquireAsync(1, 4, CancellationToken.None).AsTask();
        gate.Release(3);
        Assert.That(waiting.IsCompleted, Is.False, "three released only pay back what was borrowed");
        Assert.That(gate.TryAcquire(4), Is.Zero, "nothing free to take either");

        gate.Release(2);
        Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo(2));
    }

    [Test]
    public async Task AcquireAsync_WithAReserve_TakesOnlyWhatIsFreeBeyondIt()
    {
        var gate = new CreditGate(10);

        Assert.That(await gate.AcquireAsync(1, 10, CancellationToken.None, reserve: 7), Is.EqualTo(3));
        var waiting = gate.AcquireAsync(1, 10, CancellationToken.None, reserve: 7).AsTask();
        Assert.That(waiting.IsCompleted, Is.False, "seven free, all of them held back");

        gate.Release(2);
        Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo(2));
    }
}

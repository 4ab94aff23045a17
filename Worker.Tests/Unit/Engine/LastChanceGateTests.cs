using Worker.Jobs;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class LastChanceGateTests
{
    [Test]
    public async Task EnterAsync_OrdinaryJobs_RunTogether()
    {
        var gate = new LastChanceGate();

        using var a = await gate.EnterAsync(lastChance: false, CancellationToken.None);
        var b = gate.EnterAsync(lastChance: false, CancellationToken.None).AsTask();

        Assert.That(b.IsCompletedSuccessfully, Is.True);
        (await b).Dispose();
    }

    [Test]
    public async Task EnterAsync_LastChance_WaitsUntilEveryRunningJobIsDoneAndRunsAlone()
    {
        var gate = new LastChanceGate();
        var running = await gate.EnterAsync(lastChance: false, CancellationToken.None);

        var lastChance = gate.EnterAsync(lastChance: true, CancellationToken.None).AsTask();
        var later = gate.EnterAsync(lastChance: false, CancellationToken.None).AsTask();
        Assert.That(lastChance.IsCompleted, Is.False, "a job is still running");

        running.Dispose();
        var alone = await lastChance.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(later.IsCompleted, Is.False, "nothing starts beside a last-chance entry");

        alone.Dispose();
        (await later.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Test]
    public async Task EnterAsync_CancelledWhileWaiting_LeavesTheGateUsable()
    {
        var gate = new LastChanceGate();
        var running = await gate.EnterAsync(lastChance: false, CancellationToken.None);
        using var cancel = new CancellationTokenSource();

        var waiting = gate.EnterAsync(lastChance: true, cancel.Token).AsTask();
        await cancel.CancelAsync();

        Assert.That(async () => await waiting, Throws.InstanceOf<OperationCanceledException>());
        running.Dispose();
        (await gate.EnterAsync(lastChance: true, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }
}

using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Worker.Persistence;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Persistence;

/// <summary>The batched bookkeeping writes against the real <c>jobs</c> table.</summary>
[TestFixture]
public sealed class JobStateBatcherTests
{
    private const string Type = "batcher-test";

    private static Task<string?> StatusAsync(string id) =>
        Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = $1 AND id = $2", Type, id);

    private static Task<int> AttemptsAsync(string id) =>
        Infrastructure.ScalarAsync<int>("SELECT attempts FROM jobs WHERE type = $1 AND id = $2", Type, id);

    private static string NewId() => Guid.NewGuid().ToString("N");

    [Test]
    public async Task BeginAttemptAsync_NewAndRepeated_CountsEachStartAndLeavesItRunning()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var id = NewId();

        var first = await batcher.BeginAttemptAsync(Type, id, "1-0", CancellationToken.None);
        var second = await batcher.BeginAttemptAsync(Type, id, "2-0", CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That((first, second), Is.EqualTo((JobStart.Started, JobStart.Started)));
            Assert.That(await StatusAsync(id), Is.EqualTo("running"));
            Assert.That(await AttemptsAsync(id), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task BeginAndMarkSucceeded_DatabaseStopsAnswering_TheCallersTokenEndsTheWaitAndTheRowsAreWrittenLater()
    {
        var postgres = new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres);
        await using var proxy = new TcpProxy(postgres.Host!, postgres.Port);
        (postgres.Host, postgres.Port) = ("127.0.0.1", proxy.Port);
        await using var db = NpgsqlDataSource.Create(postgres.ConnectionString);
        await using var batcher = new JobStateBatcher(db, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var id = NewId();
        proxy.Freeze();
        using var stop = new CancellationTokenSource();

        var begin = batcher.BeginAttemptAsync(Type, id, "1-0", stop.Token);
        var finish = batcher.MarkSucceededAsync(Type, id, "1-0", countAttempt: false, stop.Token);
        await stop.CancelAsync();

        // Nothing reaches PostgreSQL while the proxy is frozen: only the token can end these waits.
        Assert.That(async () => await begin, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await finish, Throws.InstanceOf<OperationCanceledException>());
        proxy.Thaw();
        Assert.That(await Eventually.GetAsync(() => StatusAsync(id), s => s == "succeeded", "the rows written once PostgreSQL answers"), Is.EqualTo("succeeded"));
    }

    [Test]
    public async Task BeginAttemptAsync_AfterSuccess_ReportsAlreadyFinishedAndCountsNothing()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var id = NewId();
        await batcher.BeginAttemptAsync(Type, id, "1-0", CancellationToken.None);
        await batcher.MarkSucceededAsync(Type, id, "1-0", countAttempt: false, CancellationToken.None);

        var again = await batcher.BeginAttemptAsync(Type, id, "1-0", CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(again.AlreadyFinished, Is.True);
            Assert.That(await StatusAsync(id), Is.EqualTo("succeeded"));
            Assert.That(await AttemptsAsync(id), Is.EqualTo(1));
        });
    }

    /// <summary>A begin row lost with a PostgreSQL crash (it commits without waiting for the flush) is healed.</summary>
    [Test]
    public async Task MarkSucceededAsync_RowMissing_InsertsItSucceeded()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var id = NewId();

        await batcher.MarkSucceededAsync(Type, id, "9-0", countAttempt: false, CancellationToken.None);

        Assert.That(await StatusAsync(id), Is.EqualTo("succeeded"));
    }

    [Test]
    public async Task ManyJobsAtOnce_SameJobTwiceInABatch_EveryCallerAnsweredAndOneRowPerJob()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var ids = Enumerable.Range(0, 300).Select(_ => NewId()).ToArray();
        var twice = ids.Concat(ids.Take(50)).ToArray();

        await Task.WhenAll(twice.Select(id => batcher.BeginAttemptAsync(Type, id, "1-0", CancellationToken.None)));
        await Task.WhenAll(twice.Select(id => batcher.MarkSucceededAsync(Type, id, "1-0", countAttempt: false, CancellationToken.None)));

        var rows = await Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE type = $1 AND id = ANY($2) AND status = 'succeeded'", Type, ids);
        Assert.Multiple(async () =>
        {
            Assert.That(rows, Is.EqualTo(ids.Length));
            Assert.That(await AttemptsAsync(ids[0]), Is.EqualTo(2), "a job begun twice counts two starts");
            Assert.That(await AttemptsAsync(ids[^1]), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task MarkSucceededAsync_CountingTheAttempt_InsertsOneAttemptOrAddsOneToAFailedRow()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var (fresh, failedBefore) = (NewId(), NewId());
        await batcher.BeginAttemptAsync(Type, failedBefore, "1-0", CancellationToken.None);
        await Infrastructure.ScalarAsync<int>("UPDATE jobs SET status = 'failed' WHERE type = $1 AND id = $2 RETURNING attempts", Type, failedBefore);

        await Task.WhenAll(
            batcher.MarkSucceededAsync(Type, fresh, "5-0", countAttempt: true, CancellationToken.None),
            batcher.MarkSucceededAsync(Type, failedBefore, "6-0", countAttempt: true, CancellationToken.None));

        Assert.Multiple(async () =>
        {
            Assert.That(await StatusAsync(fresh), Is.EqualTo("succeeded"));
            Assert.That(await AttemptsAsync(fresh), Is.EqualTo(1));
            Assert.That(await StatusAsync(failedBefore), Is.EqualTo("succeeded"));
            Assert.That(await AttemptsAsync(failedBefore), Is.EqualTo(2));
            Assert.That(
                await Infrastructure.ScalarAsync<string>("SELECT stream_entry_id FROM jobs WHERE type = $1 AND id = $2", Type, failedBefore),
                Is.EqualTo("6-0"), "the entry that succeeded");
        });
    }

    [Test]
    public async Task MarkSucceededAsync_CountingTheAttemptOfAJobAlreadyFinished_ChangesNothing()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var id = NewId();
        await batcher.MarkSucceededAsync(Type, id, "1-0", countAttempt: true, CancellationToken.None);

        await batcher.MarkSucceededAsync(Type, id, "2-0", countAttempt: true, CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(await AttemptsAsync(id), Is.EqualTo(1));
            Assert.That(
                await Infrastructure.ScalarAsync<string>("SELECT stream_entry_id FROM jobs WHERE type = $1 AND id = $2", Type, id),
                Is.EqualTo("1-0"));
        });
    }

    [Test]
    public async Task FindSucceededAsync_MixedRows_ReturnsOnlyTheSucceededIdsOfThatType()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var (succeeded, running, missing) = (NewId(), NewId(), NewId());
        await batcher.MarkSucceededAsync(Type, succeeded, "1-0", countAttempt: true, CancellationToken.None);
        await batcher.BeginAttemptAsync(Type, running, "2-0", CancellationToken.None);

        var found = await batcher.FindSucceededAsync(Type, [succeeded, running, missing]);
        var otherType = await batcher.FindSucceededAsync(Type + "-other", [succeeded]);

        Assert.Multiple(() =>
        {
            Assert.That(found, Is.EquivalentTo(new[] { succeeded }));
            Assert.That(otherType, Is.Empty);
        });
    }
}

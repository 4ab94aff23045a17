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
        var finish = batcher.MarkSucceededAsync(Type, id, "1-0", stop.Token);
        await stop.CancelAsync();

        // Nothing reaches PostgreSQL while the proxy is frozen: only the token can end these waits.
        Assert.That(async () => await begin, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await finish, Throws.InstanceOf<OperationCanceledException>());
        proxy.Thaw();
        Assert.That(await Eventually.GetAsync(() => StatusAsync(id), s => s == "succeeded", "the rows written once PostgreSQL answers"), Is.EqualTo("succeeded"));
    }

    [Test]
    public async Task BeginAttemptAsync_AfterSuccess_ReportsAlreadySucceededAndCountsNothing()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var id = NewId();
        await batcher.BeginAttemptAsync(Type, id, "1-0", CancellationToken.None);
        await batcher.MarkSucceededAsync(Type, id, "1-0", CancellationToken.None);

        var again = await batcher.BeginAttemptAsync(Type, id, "1-0", CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(again.AlreadySucceeded, Is.True);
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

        await batcher.MarkSucceededAsync(Type, id, "9-0", CancellationToken.None);

        Assert.That(await StatusAsync(id), Is.EqualTo("succeeded"));
    }

    [Test]
    public async Task ManyJobsAtOnce_SameJobTwiceInABatch_EveryCallerAnsweredAndOneRowPerJob()
    {
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var ids = Enumerable.Range(0, 300).Select(_ => NewId()).ToArray();
        var twice = ids.Concat(ids.Take(50)).ToArray();

        await Task.WhenAll(twice.Select(id => batcher.BeginAttemptAsync(Type, id, "1-0", CancellationToken.None)));
        await Task.WhenAll(twice.Select(id => batcher.MarkSucceededAsync(Type, id, "1-0", CancellationToken.None)));

        var rows = await Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE type = $1 AND id = ANY($2) AND status = 'succeeded'", Type, ids);
        Assert.Multiple(async () =>
        {
            Assert.That(rows, Is.EqualTo(ids.Length));
            Assert.That(await AttemptsAsync(ids[0]), Is.EqualTo(2), "a job begun twice counts two starts");
            Assert.That(await AttemptsAsync(ids[^1]), Is.EqualTo(1));
        });
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using Worker.Persistence;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Persistence;

/// <summary>The effects-once transaction against the real <c>jobs</c> table, under the execution strategy it is given.</summary>
[TestFixture]
public sealed class JobStateStoreTests
{
    private const string Type = "store-test";

    [TestCase(false)]
    [TestCase(true)]
    public async Task ApplyEffectsOnceAsync_DefaultOrRetryingStrategy_AppliesOnceThenSaysAlreadyApplied(bool retrying)
    {
        var options = new DbContextOptionsBuilder<WorkerDbContext>()
            .UseNpgsql(Infrastructure.Postgres, o =>
            {
                if (retrying)
                {
                    // Npgsql's retrying strategy refuses a transaction begun outside it.
                    o.EnableRetryOnFailure();
                }
            })
            .Options;
        var id = Guid.NewGuid().ToString("N");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);

        await using var db = new WorkerDbContext(options);
        var store = new JobStateStore(db, time);
        var first = await store.ApplyEffectsOnceAsync(Type, id, "1-0", Effect(id), CancellationToken.None);
        var second = await store.ApplyEffectsOnceAsync(Type, id, "2-0", Effect(id), CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That((first, second), Is.EqualTo((EffectsOutcome.Applied, EffectsOutcome.AlreadyApplied)));
            Assert.That(await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = $1", id), Is.EqualTo(1));
            Assert.That(await Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = $1 AND id = $2", Type, id), Is.EqualTo("succeeded"));
        });
    }

    private static Func<WorkerDbContext, CancellationToken, Task> Effect(string id) => (db, _) =>
    {
        db.NoopEffects.Add(new NoopEffect { JobId = id, Consumer = "test", AppliedAt = DateTimeOffset.UtcNow });
        return Task.CompletedTask;
    };
}

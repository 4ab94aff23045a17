using Microsoft.EntityFrameworkCore;

namespace Worker.Persistence;

/// <summary>
/// Job state in the <c>jobs</c> table beyond the per-job bookkeeping (begin, success: <see cref="JobStateBatcher"/>):
/// failures, dead letters, progress, and the effects-once guard that shares the transaction of the handler's effects.
/// One <see cref="WorkerDbContext"/> per message.
/// </summary>
internal sealed class JobStateStore(WorkerDbContext db, TimeProvider time)
{
    private const int MaxErrorLength = 2000;
    private const int MaxProgressMessageLength = 500;

    /// <summary>How often the job has started, and on which entry it last did; null when it never started.</summary>
    public async Task<(int Attempts, string? EntryId)?> FindStartsAsync(string type, string id, CancellationToken ct)
    {
        var rows = await db.Database.SqlQuery<StartsRow>($"""
            SELECT attempts AS "Attempts", stream_entry_id AS "EntryId" FROM jobs WHERE type = {type} AND id = {id}
            """).ToListAsync(ct);
        return rows is [var row] ? (row.Attempts, row.EntryId) : null;
    }

    public Task MarkFailedAsync(string type, string id, string error, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var text = Cap(error, MaxErrorLength);
        return db.Database.ExecuteSqlAsync($"""
            UPDATE jobs SET status = 'failed', last_error = {text}, updated_at = {now}
            WHERE type = {type} AND id = {id} AND status NOT IN ('succeeded', 'cancelled')
            """, ct);
    }

    /// <summary>Records a dead letter; inserts the row when the job never ran (malformed entries, delivery limit).</summary>
    public Task MarkDeadLetteredAsync(string type, string id, string entryId, string error, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var text = Cap(error, MaxErrorLength);
        return db.Database.ExecuteSqlAsync($"""
            INSERT INTO jobs (type, id, stream_entry_id, status, attempts, last_error, created_at, updated_at, finished_at)
            VALUES ({type}, {id}, {entryId}, 'dead_lettered', 0, {text}, {now}, {now}, {now})
            ON CONFLICT (type, id) DO UPDATE SET status = 'dead_lettered', last_error = EXCLUDED.last_error,
                updated_at = EXCLUDED.updated_at, finished_at = EXCLUDED.finished_at
            WHERE jobs.status NOT IN ('succeeded', 'cancelled')
            """, ct);
    }

    /// <summary>
    /// Cancels the job: its row says <c>cancelled</c> (inserted when it never started) unless it finished first
    /// (succeeded, dead-lettered). Waits for an effects transaction that holds the row. Returns the row's status after:
    /// <c>cancelled</c>, or the status it had finished with.
    /// </summary>
    public async Task<string> CancelAsync(string type, string id, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var changed = await db.Database.SqlQuery<string>($"""
            INSERT INTO jobs AS j (type, id, status, attempts, created_at, updated_at, finished_at)
            VALUES ({type}, {id}, 'cancelled', 0, {now}, {now}, {now})
            ON CONFLICT (type, id) DO UPDATE SET status = 'cancelled', updated_at = EXCLUDED.updated_at,
                finished_at = EXCLUDED.finished_at
            WHERE j.status NOT IN ('succeeded', 'dead_lettered', 'cancelled')
            RETURNING j.status AS "Value"
            """).ToListAsync(ct);
        if (changed.Count > 0)
        {
            return changed[0];
        }

        return (await db.Database.SqlQuery<string>($"SELECT status AS \"Value\" FROM jobs WHERE type = {type} AND id = {id}").ToListAsync(ct))
            .FirstOrDefault() ?? JobStatusText.Cancelled;
    }

    /// <summary>Records that the worker met a cancelled job (before or while it ran); a job that succeeded first keeps its row.</summary>
    public Task MarkCancelledAsync(string type, string id, string entryId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        return db.Database.ExecuteSqlAsync($"""
            INSERT INTO jobs (type, id, stream_entry_id, status, attempts, created_at, updated_at, finished_at)
            VALUES ({type}, {id}, {entryId}, 'cancelled', 0, {now}, {now}, {now})
            ON CONFLICT (type, id) DO UPDATE SET status = 'cancelled', updated_at = EXCLUDED.updated_at,
                finished_at = COALESCE(jobs.finished_at, EXCLUDED.finished_at)
            WHERE jobs.status <> 'succeeded'
            """, ct);
    }

    public Task ReportProgressAsync(string type, string id, int current, int total, string? message, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var text = message is null ? null : Cap(message, MaxProgressMessageLength);
        return db.Database.ExecuteSqlAsync($"""
            UPDATE jobs SET progress_current = {current}, progress_total = {total}, progress_message = {text}, updated_at = {now}
            WHERE type = {type} AND id = {id}
            """, ct);
    }

    /// <summary>
    /// Runs <paramref name="effects"/> and marks the job succeeded in one transaction, unless a previous delivery
    /// already did: the row lock makes a concurrent second delivery wait, then see <c>succeeded</c> and skip.
    /// Says whether they were applied now, had been already, or the job was cancelled first (a cancel waits for this
    /// transaction, so effects and a cancel never both happen). The transaction runs inside the context's execution
    /// strategy: with a retrying one (Npgsql's <c>EnableRetryOnFailure</c>) a transient failure runs it again whole,
    /// <paramref name="effects"/> included, on a change tracker cleared of the failed try.
    /// </summary>
    public Task<EffectsOutcome> ApplyEffectsOnceAsync(
        string type, string id, string entryId, Func<WorkerDbContext, CancellationToken, Task> effects, CancellationToken ct) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(
            (Store: this, Type: type, Id: id, EntryId: entryId, Effects: effects),
            static (_, s, ct) => s.Store.ApplyEffectsInTransactionAsync(s.Type, s.Id, s.EntryId, s.Effects, ct),
            verifySucceeded: null,
            ct);

    private async Task<EffectsOutcome> ApplyEffectsInTransactionAsync(
        string type, string id, string entryId, Func<WorkerDbContext, CancellationToken, Task> effects, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        var now = time.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO jobs (type, id, stream_entry_id, status, attempts, created_at, updated_at)
            VALUES ({type}, {id}, {entryId}, 'running', 1, {now}, {now})
            ON CONFLICT (type, id) DO NOTHING
            """, ct);
        var status = await db.Database
            .SqlQuery<string>($"SELECT status AS \"Value\" FROM jobs WHERE type = {type} AND id = {id} FOR UPDATE")
            .ToListAsync(ct);
        if (status is [JobStatusText.Succeeded or JobStatusText.Cancelled])
        {
            // Applied by an earlier delivery, or cancelled before its effects: they never apply (again).
            await tx.RollbackAsync(ct);
            return status[0] == JobStatusText.Succeeded ? EffectsOutcome.AlreadyApplied : EffectsOutcome.Cancelled;
        }

        await effects(db, ct);
        await db.SaveChangesAsync(ct);
        await db.Database.ExecuteSqlAsync($"""
            UPDATE jobs SET status = 'succeeded', last_error = NULL, updated_at = {now}, finished_at = {now}
            WHERE type = {type} AND id = {id}
            """, ct);
        await tx.CommitAsync(ct);
        return EffectsOutcome.Applied;
    }

    private sealed record StartsRow(int Attempts, string? EntryId);

    private static string Cap(string text, int max) => text.Length <= max ? text : text[..max];
}

/// <summary>What <see cref="JobStateStore.ApplyEffectsOnceAsync"/> did.</summary>
internal enum EffectsOutcome
{
    Applied,
    AlreadyApplied,
    /// <summary>The job was cancelled before its effects committed: nothing applied.</summary>
    Cancelled,
}

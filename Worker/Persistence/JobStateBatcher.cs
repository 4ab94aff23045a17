using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;

namespace Worker.Persistence;

/// <summary>
/// Coalesces the per-job bookkeeping writes of all slots into multi-row statements: while one batch is in flight the
/// next one gathers, so an idle worker writes at once and a busy one pays one round trip per batch instead of per
/// job. Callers await their own row's result; a failed batch fails each of its callers.
/// <para>
/// A job that finishes before its begin row is due (<see cref="AttemptBegin"/>) has only its success row, which then
/// counts the attempt: one write per short job.
/// </para>
/// <para>
/// Durability: the begin rows (an attempt counted, <c>running</c>) commit asynchronously, without waiting for the WAL
/// flush; the success rows wait for it as usual, and flushing them flushes every begin before them. Only a crash of
/// PostgreSQL itself in the fraction of a second before the next flush can forget a begin: the attempt goes
/// uncounted (poison detection allows one more delivery) and the success write, an upsert, still leaves the right
/// row. A crash of the worker loses nothing: the server has the begin. Effects never ride on these writes; they
/// commit in their own durable transaction (<see cref="JobStateStore.ApplyEffectsOnceAsync"/>).
/// </para>
/// </summary>
internal sealed class JobStateBatcher : IAsyncDisposable
{
    /// <summary>Statements of one kind in flight at once.</summary>
    private const int Writers = 2;

    private const int MaxBatch = 1000;

    /// <summary>Counts an attempt on every row; only rows of jobs that already finished (succeeded, cancelled) come back (usually none).</summary>
    private const string BeginSql = """
        WITH begun AS (
        INSERT INTO jobs AS j (type, id, stream_entry_id, status, attempts, created_at, updated_at)
        SELECT x.type, x.id, x.entry, 'running', 1, $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS x(type, id, entry)
        ON CONFLICT (type, id) DO UPDATE SET
            attempts = j.attempts + CASE WHEN j.status IN ('succeeded', 'cancelled') THEN 0 ELSE 1 END,
            status = CASE WHEN j.status IN ('succeeded', 'cancelled') THEN j.status ELSE 'running' END,
            stream_entry_id = CASE WHEN j.status IN ('succeeded', 'cancelled') THEN j.stream_entry_id ELSE EXCLUDED.stream_entry_id END,
            updated_at = EXCLUDED.updated_at
        RETURNING j.type, j.id, j.status)
        SELECT type, id FROM begun WHERE status IN ('succeeded', 'cancelled')
        """;

    /// <summary>The success of a job whose begin row was written: the attempt is counted already.</summary>
    private const string FinishSql = """
        INSERT INTO jobs AS j (type, id, stream_entry_id, status, attempts, created_at, updated_at, finished_at)
        SELECT x.type, x.id, x.entry, 'succeeded', 1, $4, $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS x(type, id, entry)
        ON CONFLICT (type, id) DO UPDATE SET status = 'succeeded', last_error = NULL, updated_at = EXCLUDED.updated_at,
            finished_at = EXCLUDED.finished_at
        WHERE j.status NOT IN ('succeeded', 'cancelled')
        """;

    /// <summary>
    /// The success of a job that finished before its begin row was due: one write that also counts the attempt (a new
    /// row, usually; an existing one is a job id enqueued again, or a row its effects wrote).
    /// </summary>
    private const string FinishUncountedSql = """
        INSERT INTO jobs AS j (type, id, stream_entry_id, status, attempts, created_at, updated_at, finished_at)
        SELECT x.type, x.id, x.entry, 'succeeded', 1, $4, $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS x(type, id, entry)
        ON CONFLICT (type, id) DO UPDATE SET status = 'succeeded', attempts = j.attempts + 1,
            stream_entry_id = EXCLUDED.stream_entry_id, last_error = NULL, updated_at = EXCLUDED.updated_at,
            finished_at = EXCLUDED.finished_at
        WHERE j.status NOT IN ('succeeded', 'cancelled')
        """;

    /// <summary>Which of one type's job ids already finished (succeeded, cancelled): the look before jobs whose begin row is deferred.</summary>
    private const string SucceededSql = """
        SELECT id FROM jobs WHERE type = $1 AND id = ANY($2) AND status IN ('succeeded', 'cancelled')
        """;

    /// <summary>Session setting of the begin writers' connections: see the remarks on durability above.</summary>
    private const string AsyncCommitSql = "SET synchronous_commit = off";

    private readonly NpgsqlDataSource _db;
    private readonly TimeProvider _time;
    private readonly Channel<BeginRequest> _begins = Channel.CreateUnbounded<BeginRequest>();
    private readonly Channel<FinishRequest> _finishes = Channel.CreateUnbounded<FinishRequest>();
    private readonly Task[] _loops;

    public JobStateBatcher(NpgsqlDataSource db, TimeProvider time)
    {
        (_db, _time) = (db, time);
        _loops = [
            .. Enumerable.Range(0, Writers).Select(_ => Task.Run(BeginLoopAsync)),
            .. Enumerable.Range(0, Writers).Select(_ => Task.Run(FinishLoopAsync)),
        ];
    }

    /// <summary>The attempt's row; the returned task ends early, cancelled, if <paramref name="ct"/> fires first (the row is written either way).</summary>
    public Task<JobStart> BeginAttemptAsync(string type, string id, string entryId, CancellationToken ct)
    {
        var request = new BeginRequest(type, id, entryId);
        var done = request.Watch(ct);
        _begins.Writer.TryWrite(request);
        return done;
    }

    /// <summary>
    /// The success row, counting the attempt too when its begin row was never written (<paramref name="countAttempt"/>);
    /// cancelled early as <see cref="BeginAttemptAsync"/> is.
    /// </summary>
    public Task MarkSucceededAsync(string type, string id, string entryId, bool countAttempt, CancellationToken ct)
    {
        var request = new FinishRequest(type, id, entryId, countAttempt);
        var done = request.Watch(ct);
        _finishes.Writer.TryWrite(request);
        return done;
    }

    /// <summary>The ids among <paramref name="ids"/> of jobs of <paramref name="type"/> that already succeeded.</summary>
    public async Task<HashSet<string>> FindSucceededAsync(string type, string[] ids)
    {
        await using var command = _db.CreateCommand(SucceededSql);
        command.Parameters.Add(new NpgsqlParameter { Value = type, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var succeeded = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            succeeded.Add(reader.GetString(0));
        }

        return succeeded;
    }

    public async ValueTask DisposeAsync()
    {
        _begins.Writer.TryComplete();
        _finishes.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }

    private async Task BeginLoopAsync()
    {
        NpgsqlConnection? connection = null;
        var batch = new List<BeginRequest>(MaxBatch);
        var carried = new List<BeginRequest>();
        var keys = new HashSet<(string, string)>();
        while (carried.Count > 0 || await _begins.Reader.WaitToReadAsync())
        {
            // One row per job in a statement: ON CONFLICT cannot touch a row twice, so a second delivery of the same
            // job waits for the next batch.
            foreach (var request in carried)
            {
                if (keys.Add((request.Type, request.Id)))
                {
                    batch.Add(request);
                }
            }

            carried.RemoveAll(batch.Contains);
            while (batch.Count < MaxBatch && _begins.Reader.TryRead(out var request))
            {
                if (keys.Add((request.Type, request.Id)))
                {
                    batch.Add(request);
                }
                else
                {
                    carried.Add(request);
                }
            }

            connection = await WriteBeginsAsync(connection, batch);
            batch.Clear();
            keys.Clear();
        }

        if (connection is not null)
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>Writes one batch on the loop's own connection (opened, with asynchronous commit, when missing).</summary>
    private async Task<NpgsqlConnection?> WriteBeginsAsync(NpgsqlConnection? connection, List<BeginRequest> batch)
    {
        if (batch.Count == 0)
        {
            return connection;
        }

        try
        {
            if (connection is null)
            {
                connection = await _db.OpenConnectionAsync();
                await using var setting = new NpgsqlCommand(AsyncCommitSql, connection);
                await setting.ExecuteNonQueryAsync();
            }

            await using var command = new NpgsqlCommand(BeginSql, connection);
            AddRows(command, batch.Select(r => (r.Type, r.Id, r.EntryId)));
            HashSet<(string, string)>? succeeded = null;
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    (succeeded ??= []).Add((reader.GetString(0), reader.GetString(1)));
                }
            }

            foreach (var request in batch)
            {
                request.Complete(succeeded?.Contains((request.Type, request.Id)) == true ? JobStart.Succeeded : JobStart.Started);
            }
        }
        catch (Exception e)
        {
            foreach (var request in batch)
            {
                request.Fail(e);
            }

            // The connection may be broken: the next batch opens a fresh one.
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            return null;
        }

        return connection;
    }

    private async Task FinishLoopAsync()
    {
        var batch = new List<FinishRequest>(MaxBatch);
        var keys = new HashSet<(string, string)>();
        var counted = new List<FinishRequest>(MaxBatch);
        var uncounted = new List<FinishRequest>(MaxBatch);
        while (await _finishes.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _finishes.Reader.TryRead(out var request))
            {
                batch.Add(request);
                // One row per job in a statement (ON CONFLICT touches a row once); a second success of the same job
                // is answered by the first one's row.
                if (keys.Add((request.Type, request.Id)))
                {
                    (request.CountAttempt ? uncounted : counted).Add(request);
                }
            }

            try
            {
                // Usually one of the two: fast jobs never wrote a begin, slow ones all did.
                await WriteFinishesAsync(FinishSql, counted);
                await WriteFinishesAsync(FinishUncountedSql, uncounted);
                batch.ForEach(static r => r.Complete(true));
            }
            catch (Exception e)
            {
                batch.ForEach(r => r.Fail(e));
            }

            batch.Clear();
            keys.Clear();
            counted.Clear();
            uncounted.Clear();
        }
    }

    private async Task WriteFinishesAsync(string sql, List<FinishRequest> rows)
    {
        if (rows.Count > 0)
        {
            await using var command = _db.CreateCommand(sql);
            AddRows(command, rows.Select(r => (r.Type, r.Id, r.EntryId)));
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// The parameters both statements take: $1–$3 the rows' type, id and entry id as text arrays, $4 the time. The rows
    /// go in key order: two writers upserting the same jobs (a job begun twice, its begin and its success) then lock
    /// them in the same order and wait for each other, where in arrival order they could deadlock (40P01).
    /// </summary>
    private void AddRows(NpgsqlCommand command, IEnumerable<(string Type, string Id, string EntryId)> rows)
    {
        var list = rows.ToList();
        list.Sort(static (x, y) => string.CompareOrdinal(x.Type, y.Type) is var byType and not 0 ? byType : string.CompareOrdinal(x.Id, y.Id));
        command.Parameters.Add(new NpgsqlParameter { Value = list.Select(r => r.Type).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = list.Select(r => r.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = list.Select(r => r.EntryId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = _time.GetUtcNow() });
    }

    /// <summary>
    /// One job's row, and the completion its caller awaits: the request is its own completion source, and the caller's
    /// token cancels it through a registration its write removes (a <c>WaitAsync(ct)</c> on a separate source cost two
    /// more objects per write, 300 of the 2,265 bytes a job with state allocated).
    /// </summary>
    private abstract class RowRequest<T>(string type, string id, string entryId)
        : TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private CancellationTokenRegistration _cancellation;

        public string Type { get; } = type;

        public string Id { get; } = id;

        public string EntryId { get; } = entryId;

        /// <summary>Before the request is queued, so the writer that completes it sees the registration.</summary>
        public Task<T> Watch(CancellationToken ct)
        {
            if (ct.CanBeCanceled)
            {
                _cancellation = ct.UnsafeRegister(static (request, token) => ((RowRequest<T>)request!).TrySetCanceled(token), this);
            }

            return Task;
        }

        public void Complete(T result)
        {
            _cancellation.Unregister();
            TrySetResult(result);
        }

        public void Fail(Exception e)
        {
            _cancellation.Unregister();
            TrySetException(e);
        }
    }

    private sealed class BeginRequest(string type, string id, string entryId) : RowRequest<JobStart>(type, id, entryId);

    private sealed class FinishRequest(string type, string id, string entryId, bool countAttempt) : RowRequest<bool>(type, id, entryId)
    {
        public bool CountAttempt { get; } = countAttempt;
    }
}

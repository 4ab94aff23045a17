using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;

namespace Worker.Persistence;

/// <summary>
/// Coalesces the per-job bookkeeping writes of all slots into multi-row statements: while one batch is in flight the
/// next one gathers, so an idle worker writes at once and a busy one pays one round trip and one WAL flush per batch
/// instead of per job. Callers await their own row's result; a failed batch fails each of its callers.
/// </summary>
internal sealed class JobStateBatcher : IAsyncDisposable
{
    /// <summary>Statements of one kind in flight at once.</summary>
    private const int Writers = 2;

    private const int MaxBatch = 1000;

    private const string BeginSql = """
        INSERT INTO jobs AS j (type, id, stream_entry_id, status, attempts, created_at, updated_at)
        SELECT x.type, x.id, x.entry, 'running', 1, $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS x(type, id, entry)
        ON CONFLICT (type, id) DO UPDATE SET
            attempts = j.attempts + CASE WHEN j.status = 'succeeded' THEN 0 ELSE 1 END,
            status = CASE WHEN j.status = 'succeeded' THEN j.status ELSE 'running' END,
            stream_entry_id = CASE WHEN j.status = 'succeeded' THEN j.stream_entry_id ELSE EXCLUDED.stream_entry_id END,
            updated_at = EXCLUDED.updated_at
        RETURNING j.type, j.id, j.status, j.attempts
        """;

    private const string FinishSql = """
        UPDATE jobs AS j SET status = 'succeeded', last_error = NULL, updated_at = $3, finished_at = $3
        FROM unnest($1::text[], $2::text[]) AS x(type, id)
        WHERE j.type = x.type AND j.id = x.id AND j.status <> 'succeeded'
        """;

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

    public Task<JobStart> BeginAttemptAsync(string type, string id, string entryId, CancellationToken ct)
    {
        var request = new BeginRequest(type, id, entryId, new(TaskCreationOptions.RunContinuationsAsynchronously));
        _begins.Writer.TryWrite(request);
        return request.Done.Task.WaitAsync(ct);
    }

    public Task MarkSucceededAsync(string type, string id, CancellationToken ct)
    {
        var request = new FinishRequest(type, id, new(TaskCreationOptions.RunContinuationsAsynchronously));
        _finishes.Writer.TryWrite(request);
        return request.Done.Task.WaitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        _begins.Writer.TryComplete();
        _finishes.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }

    private async Task BeginLoopAsync()
    {
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

            await WriteBeginsAsync(batch);
            batch.Clear();
            keys.Clear();
        }
    }

    private async Task WriteBeginsAsync(List<BeginRequest> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            await using var command = _db.CreateCommand(BeginSql);
            command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Type).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.EntryId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = _time.GetUtcNow() });
            var results = new Dictionary<(string, string), JobStart>(batch.Count);
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    results[(reader.GetString(0), reader.GetString(1))] =
                        new JobStart(JobStatusText.Parse(reader.GetString(2)), reader.GetInt32(3));
                }
            }

            foreach (var request in batch)
            {
                if (results.TryGetValue((request.Type, request.Id), out var start))
                {
                    request.Done.TrySetResult(start);
                }
                else
                {
                    request.Done.TrySetException(new InvalidOperationException($"no jobs row came back for {request.Type}/{request.Id}"));
                }
            }
        }
        catch (Exception e)
        {
            foreach (var request in batch)
            {
                request.Done.TrySetException(e);
            }
        }
    }

    private async Task FinishLoopAsync()
    {
        var batch = new List<FinishRequest>(MaxBatch);
        while (await _finishes.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _finishes.Reader.TryRead(out var request))
            {
                batch.Add(request);
            }

            try
            {
                await using var command = _db.CreateCommand(FinishSql);
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Type).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = _time.GetUtcNow() });
                await command.ExecuteNonQueryAsync();
                batch.ForEach(r => r.Done.TrySetResult());
            }
            catch (Exception e)
            {
                batch.ForEach(r => r.Done.TrySetException(e));
            }

            batch.Clear();
        }
    }

    private sealed record BeginRequest(string Type, string Id, string EntryId, TaskCompletionSource<JobStart> Done);

    private sealed record FinishRequest(string Type, string Id, TaskCompletionSource Done);
}

namespace Worker.Streams;

/// <summary>
/// How many entries a consumer holds beyond its running ones: about <c>Prefetch</c> worth of work at the measured job
/// duration, between 1 and <c>BatchSize</c>. Fast jobs then read in large batches without tuning, and slow ones stay
/// spread over the replicas (a replica holds little more than it runs). The duration is a moving average of how long
/// each job held its slot (handler and bookkeeping), weighted a quarter to the newest (a cold first job, ten times
/// slower than the rest, is forgotten within about ten); before the first job ends it is unknown and a consumer holds
/// one entry beyond its slots.
/// </summary>
internal sealed class PrefetchSizer(TimeSpan prefetch, int concurrency, int cap)
{
    private long _averageTicks = -1;

    /// <summary>Entries to hold beyond the running ones, now.</summary>
    public int Size
    {
        get
        {
            var average = Volatile.Read(ref _averageTicks);
            if (average < 0)
            {
                return 1;
            }

            // Slots finish a job every average / concurrency: that many fit in the prefetch window.
            var fits = prefetch.Ticks * (double)concurrency / Math.Max(average, 1);
            return (int)Math.Clamp(Math.Ceiling(fits), 1, cap);
        }
    }

    /// <summary>Records how long one job held its slot. Slots call it at once; a lost update only skips one sample.</summary>
    public void Record(TimeSpan held)
    {
        var average = Volatile.Read(ref _averageTicks);
        Volatile.Write(ref _averageTicks, average < 0 ? held.Ticks : average + ((held.Ticks - average) / 4));
    }
}

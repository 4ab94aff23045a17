namespace Worker.Jobs;

/// <summary>Exponential backoff with jitter: base · factor^(attempt−1), capped, spread over [d/2, d].</summary>
internal static class Backoff
{
    /// <param name="failedAttempt">The number (1-based) of the attempt that just failed.</param>
    public static TimeSpan Delay(RetryOptions options, int failedAttempt, Random random)
    {
        var exponent = Math.Max(0, failedAttempt - 1);
        var ms = options.BaseDelay.TotalMilliseconds * Math.Pow(options.Factor, exponent);
        ms = Math.Min(ms, options.MaxDelay.TotalMilliseconds);
        if (options.Jitter)
        {
            ms = (ms / 2) + (random.NextDouble() * ms / 2);
        }

        return TimeSpan.FromMilliseconds(ms);
    }
}

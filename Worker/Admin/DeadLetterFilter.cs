using System.Globalization;
using Worker.Streams;

namespace Worker.Admin;

/// <summary>The filters of <c>dlq list|replay|purge</c>: error text, a time window on <c>failed_at</c>, explicit ids.</summary>
internal sealed record DeadLetterFilter(string? ErrorText, DateTimeOffset? Since, DateTimeOffset? Until, IReadOnlySet<string> Ids)
{
    public bool Matches(DeadLetter letter) =>
        (Ids.Count == 0 || Ids.Contains(letter.Id) || Ids.Contains(letter.JobId))
        && (ErrorText is null
            || (letter.ErrorType?.Contains(ErrorText, StringComparison.OrdinalIgnoreCase) ?? false)
            || (letter.ErrorMessage?.Contains(ErrorText, StringComparison.OrdinalIgnoreCase) ?? false))
        && (Since is null || letter.FailedAt >= Since)
        && (Until is null || letter.FailedAt <= Until);

    /// <summary>
    /// A time of <c>--since</c> or <c>--until</c>: ISO-8601, or an age like 30m, 2h, 1d before <paramref name="now"/>.
    /// Throws <see cref="ArgumentException"/> saying what it accepts.
    /// </summary>
    public static DateTimeOffset When(string text, DateTimeOffset now)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return at;
        }

        var unit = text[^1];
        if (double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
        {
            TimeSpan? age = unit switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            };
            if (age is { } a)
            {
                return now - a;
            }
        }

        throw new ArgumentException($"'{text}' is neither an ISO-8601 time nor an age like 30m, 2h or 1d");
    }
}

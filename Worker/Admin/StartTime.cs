using System.Globalization;
using System.Text.RegularExpressions;

namespace Worker.Admin;

/// <summary>
/// The <c>--at WHEN</c> and <c>--in DURATION</c> of <c>enqueue</c>: when a delayed job may start. WHEN is an ISO 8601
/// time (<c>2026-12-24T18:00:00Z</c>; without an offset it is UTC) or Unix milliseconds; DURATION a number and a unit
/// (<c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>) or a .NET time span (<c>00:00:30</c>).
/// </summary>
internal static partial class StartTime
{
    public static bool TryParseAt(string text, out DateTimeOffset at, out string problem)
    {
        problem = string.Empty;
        if (text.All(char.IsAsciiDigit) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            at = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at))
        {
            return true;
        }

        problem = $"--at must be an ISO 8601 time such as 2026-12-24T18:00:00Z, or Unix milliseconds (was '{text}')";
        return false;
    }

    public static bool TryParseIn(string text, out TimeSpan delay, out string problem)
    {
        problem = string.Empty;
        if (Amount().Match(text) is { Success: true } m
            && double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            var unit = m.Groups[2].Value switch { "ms" => 0.001, "s" => 1, "m" => 60, "h" => 3600, _ => 86400 };
            var seconds = amount * unit;
            if (seconds <= TimeSpan.MaxValue.TotalSeconds / 2)
            {
                delay = TimeSpan.FromSeconds(seconds);
                return true;
            }
        }
        else if (text.Contains(':') && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out delay) && delay >= TimeSpan.Zero)
        {
            return true;
        }

        delay = TimeSpan.Zero;
        problem = $"--in must be a duration such as 30s, 5m, 2h, 1d, 500ms or 00:00:30 (was '{text}')";
        return false;
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")]
    private static partial Regex Amount();
}

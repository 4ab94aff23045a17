using System.Text.Json.Serialization;

namespace Worker.Jobs.Noop;

/// <summary>
/// Every field is optional. <c>delay_ms</c>: simulated work. <c>fail</c>: "transient" or "permanent".
/// <c>fail_attempts</c>: with "transient", fail only the first N attempts. <c>effect</c>: write one
/// <c>noop_effects</c> row through the effects-once guard. <c>crash</c>: end the process abruptly (poison tests).
/// </summary>
internal sealed record NoopPayload(
    [property: JsonPropertyName("delay_ms")] int DelayMs = 0,
    [property: JsonPropertyName("fail")] string? Fail = null,
    [property: JsonPropertyName("fail_attempts")] int? FailAttempts = null,
    [property: JsonPropertyName("effect")] bool Effect = false,
    [property: JsonPropertyName("crash")] bool Crash = false)
{
    /// <summary>The payload <c>{}</c>: do nothing.</summary>
    public static readonly NoopPayload Empty = new();
}

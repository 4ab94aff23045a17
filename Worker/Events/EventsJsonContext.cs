using System.Text.Json.Serialization;

namespace Worker.Events;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JobEvent))]
internal sealed partial class EventsJsonContext : JsonSerializerContext;

using System.Text.Json.Serialization;

namespace Worker.Jobs.Noop;

[JsonSerializable(typeof(NoopPayload))]
internal sealed partial class NoopJsonContext : JsonSerializerContext;

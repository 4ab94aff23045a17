using System.Text.Json.Serialization;

namespace Worker.Streams;

[JsonSerializable(typeof(string[]))]
internal sealed partial class StreamJsonContext : JsonSerializerContext;

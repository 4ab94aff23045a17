namespace Worker.Configuration;

/// <summary>The <c>ConnectionStrings</c> section: <c>Redis</c> (StackExchange.Redis syntax) and <c>Postgres</c> (Npgsql syntax).</summary>
internal sealed class ConnectionOptions
{
    public const string SectionName = "ConnectionStrings";

    public string? Redis { get; set; }

    public string? Postgres { get; set; }
}

using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;
using Worker.Configuration;

namespace Worker.Hosting;

internal sealed class ConnectionOptionsValidator : IValidateOptions<ConnectionOptions>
{
    public ValidateOptionsResult Validate(string? name, ConnectionOptions options)
    {
        var failures = new List<string>();
        const string root = ConnectionOptions.SectionName;
        if (string.IsNullOrWhiteSpace(options.Redis))
        {
            failures.Add($"{root}:Redis is required (e.g. 127.0.0.1:6379)");
        }
        else
        {
            try
            {
                ConfigurationOptions.Parse(options.Redis);
            }
            catch (ArgumentException e)
            {
                failures.Add($"{root}:Redis is not a valid StackExchange.Redis configuration: {e.Message}");
            }
        }

        if (string.IsNullOrWhiteSpace(options.Postgres))
        {
            failures.Add($"{root}:Postgres is required (e.g. Host=127.0.0.1;Database=worker;Username=worker)");
        }
        else
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.Postgres);
            }
            catch (ArgumentException e)
            {
                failures.Add($"{root}:Postgres is not a valid Npgsql connection string: {e.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

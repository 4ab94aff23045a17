using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Worker.Jobs;

namespace Worker.Hosting;

/// <summary>Builds the host every verb shares: configuration, Serilog, options validated before anything runs.</summary>
internal static class WorkerHost
{
    /// <param name="consumers">True for <c>run</c>; admin verbs get the same services without the consumer pool.</param>
    /// <param name="overrides">Settings above every other source (tests and benchmarks), seen by registration too.</param>
    public static HostApplicationBuilder CreateBuilder(bool consumers, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        builder.Services.AddSerilog((services, log) => ConfigureLogging(log, services, builder, consumers));
        builder.Services.AddSystemd();
        builder.Services.AddWorkerCore(builder.Configuration);
        if (consumers)
        {
            builder.Services.AddJobConsumers(builder.Configuration);
        }

        return builder;
    }

    /// <summary>Runs <paramref name="body"/> with a built host; a configuration error ends with one line per broken key and exit 2.</summary>
    public static async Task<int> RunAsync(HostApplicationBuilder builder, Func<IHost, Task<int>> body)
    {
        try
        {
            using var host = builder.Build();
            host.Services.GetRequiredService<IStartupValidator>().Validate();
            return await body(host);
        }
        catch (Exception e) when (ConfigurationErrors.Describe(e) is { Count: > 0 } errors)
        {
            foreach (var error in errors)
            {
                Console.Error.WriteLine($"configuration error: {error}");
            }

            return ExitCodes.Configuration;
        }
    }

    private static void ConfigureLogging(LoggerConfiguration log, IServiceProvider services, HostApplicationBuilder builder, bool consumers)
    {
        log.MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            // Failed commands surface as exceptions that the worker logs with job context; EF would log them twice.
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore.Database.Command", LogEventLevel.Fatal)
            .ReadFrom.Configuration(builder.Configuration)
            // Sinks and enrichers registered as services (tests add a sink that records what is written).
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            .Enrich.With<JobLogEnricher>();

        // Admin verbs keep stdout for their output (JSON, ids): their log lines go to stderr.
        LogEventLevel? toStdErr = consumers ? null : LogEventLevel.Verbose;
        if (builder.Environment.IsDevelopment())
        {
            log.WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: toStdErr);
        }
        else
        {
            log.WriteTo.Console(new RenderedCompactJsonFormatter(), standardErrorFromLevel: toStdErr);
        }
    }
}

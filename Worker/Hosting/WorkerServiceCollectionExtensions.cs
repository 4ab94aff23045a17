using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Polly;
using Polly.Telemetry;
using StackExchange.Redis;
using Worker.Configuration;
using Worker.Diagnostics;
using Worker.Events;
using Worker.Jobs;
using Worker.Jobs.LinkMetadata;
using Worker.Jobs.Noop;
using Worker.Persistence;
using Worker.Scheduling;
using Worker.Streams;

namespace Worker.Hosting;

internal static class WorkerServiceCollectionExtensions
{
    /// <summary>Margin between the drain timeout and the host's own shutdown timeout: 10 seconds.</summary>
    private static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(10);

    /// <summary>Options, Redis, PostgreSQL, events, the enqueue library and the job handlers: what every verb needs.</summary>
    public static IServiceCollection AddWorkerCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddOptionsWithValidateOnStart<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.SectionName));
        services.AddSingleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>();
        services.AddOptionsWithValidateOnStart<ConnectionOptions>().Bind(configuration.GetSection(ConnectionOptions.SectionName));
        services.AddSingleton<IValidateOptions<ConnectionOptions>, ConnectionOptionsValidator>();

        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var redis = ConfigurationOptions.Parse(sp.GetRequiredService<IOptions<ConnectionOptions>>().Value.Redis!);
            redis.AbortOnConnectFail = false;
            redis.ClientName ??= $"worker-{Environment.MachineName}-{Environment.ProcessId}";
            return ConnectionMultiplexer.Connect(redis);
        });

        services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<ConnectionOptions>>().Value.Postgres!));
        services.AddDbContextPool<WorkerDbContext>((sp, db) => db.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>()));
        services.AddSingleton<JobStateBatcher>();
        services.AddScoped<JobStateStore>();
        services.AddOptions<EventOptions>().Bind(configuration.GetSection(EventOptions.SectionName));
        services.AddMetrics();
        services.AddSingleton<WorkerMetrics>();
        services.AddSingleton<EventSink>();
        services.AddSingleton<JobEventPublisher>();
        services.AddSingleton(sp => new JobTypeCatalog(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.Jobs));
        services.AddSingleton(sp => Options.Create(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.Redis));
        services.AddSingleton<ReplicatedWrites>();
        services.AddSingleton<JobQueue>();

        services.AddJobHandler<NoopHandler>();
        services.AddLinkMetadata(configuration);
        return services;
    }

    /// <summary>The consumer pool, with a host shutdown timeout that leaves room for the drain.</summary>
    public static IServiceCollection AddJobConsumers(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddWorkerObservability(configuration);
        services.AddOptionsWithValidateOnStart<RetentionOptions>().Bind(configuration.GetSection(RetentionOptions.SectionName))
            .Validate(o => o.DeadLetters >= TimeSpan.Zero && o.FinishedJobs >= TimeSpan.Zero, $"{RetentionOptions.SectionName}:DeadLetters and FinishedJobs must be zero (keep) or positive")
            .Validate(o => o.Interval > TimeSpan.Zero, $"{RetentionOptions.SectionName}:Interval must be positive");
        services.AddHostedService<RetentionService>();
        services.AddSingleton<LastChanceGate>();
        // The brief in-process retry: one pipeline per job type, keyed by the type.
        services.AddResiliencePipelines<string>(pipelines =>
        {
            var jobTypes = pipelines.ServiceProvider.GetRequiredService<JobTypeCatalog>();
            var metrics = pipelines.ServiceProvider.GetRequiredService<WorkerMetrics>();
            foreach (var handler in pipelines.ServiceProvider.GetServices<IJobHandler>())
            {
                var settings = jobTypes.Resolve(handler.JobType);
                pipelines.AddResiliencePipeline(handler.JobType, (builder, context) =>
                {
                    builder.TimeProvider = context.ServiceProvider.GetRequiredService<TimeProvider>();
                    JobExecutor.AddInlineRetry(builder, settings, metrics);
                });
            }
        });

        // Polly logs each attempt and retry at Warning, with the stack: a brief in-process retry is routine, and the
        // job's failure is logged where its fate is decided.
        services.Configure<TelemetryOptions>(o => o.SeverityProvider = args =>
            args.Source.StrategyName == "inline-retry" ? ResilienceEventSeverity.Debug : args.Event.Severity);
        services.AddSingleton<ConsumerPoolService>();
        services.AddHostedService(sp => sp.GetRequiredService<ConsumerPoolService>());
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<ScheduleService>(
            sp, (IReadOnlyDictionary<string, ScheduleOptions>)sp.GetRequiredService<IOptions<WorkerOptions>>().Value.Schedules));
        services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) =>
            host.ShutdownTimeout = worker.Value.DrainTimeout + ShutdownMargin);
        return services;
    }

    /// <summary>Metrics (OpenTelemetry, Prometheus text on <c>/metrics</c>) and the health endpoints, on <c>Worker:Http:Port</c>.</summary>
    private static IServiceCollection AddWorkerObservability(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptionsWithValidateOnStart<HttpOptions>().Bind(configuration.GetSection(HttpOptions.SectionName))
            .Validate(o => o.Port is >= 0 and <= 65535, $"{HttpOptions.SectionName}:Port must be between 0 (off) and 65535")
            .Validate(o => o.StuckAfter > TimeSpan.Zero, $"{HttpOptions.SectionName}:StuckAfter must be positive")
            .Validate(o => o.LivenessTimeout > TimeSpan.Zero, $"{HttpOptions.SectionName}:LivenessTimeout must be positive")
            .Validate(o => o.StatsInterval > TimeSpan.Zero, $"{HttpOptions.SectionName}:StatsInterval must be positive");
        services.AddSingleton<StreamStatsSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<StreamStatsSampler>());

        var http = configuration.GetSection(HttpOptions.SectionName).Get<HttpOptions>() ?? new HttpOptions();
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("worker", serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}"));
        var metrics = telemetry.WithMetrics(m => m.AddMeter(WorkerMetrics.MeterName));

        // Spans only when they go somewhere: without a listener, starting one costs nothing on the hot path.
        if (configuration["Worker:Telemetry:OtlpEndpoint"] is { Length: > 0 } endpoint)
        {
            // The job spans, and under them the HTTP fetches and the database commands (both libraries emit spans).
            telemetry.WithTracing(t => t
                .AddSource(WorkerActivity.SourceName, "System.Net.Http", "Npgsql")
                .AddOtlpExporter(o => o.Endpoint = new Uri(endpoint)));
        }

        if (http.Port > 0)
        {
            metrics.WithMetrics(m => m.AddPrometheusHttpListener(o =>
            {
                o.Port = http.Port;
                // The exporter builds a Uri from Host, which rejects the wildcard a pod needs: set the prefix itself.
                o.ConfigureHttpListener = (_, listener) =>
                {
                    listener.Prefixes.Clear();
                    // The root: the health listener's longer prefix still takes /health/ requests.
                    listener.Prefixes.Add(http.Prefix);
                };
                o.ScrapeEndpointPath = "/metrics";
            }));
            services.AddHealthChecks()
                .AddCheck<ConsumerLoopsHealthCheck>("loops", tags: [HealthChecks.Live])
                .AddCheck<RedisHealthCheck>("redis", tags: [HealthChecks.Ready])
                .AddCheck<PostgresHealthCheck>("postgres", tags: [HealthChecks.Ready])
                .AddCheck<ProgressHealthCheck>("progress", tags: [HealthChecks.Ready]);
            services.AddHostedService<HealthServer>();
        }

        return services;
    }
}

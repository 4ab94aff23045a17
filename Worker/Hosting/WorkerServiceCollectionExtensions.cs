using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;
using Worker.Events;
using Worker.Jobs;
using Worker.Jobs.Noop;
using Worker.Persistence;
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
        services.AddSingleton<JobEventPublisher>();
        services.AddSingleton<JobQueue>();

        services.AddJobHandler<NoopHandler>();
        return services;
    }

    /// <summary>The consumer pool, with a host shutdown timeout that leaves room for the drain.</summary>
    public static IServiceCollection AddJobConsumers(this IServiceCollection services)
    {
        services.AddSingleton<ConsumerPoolService>();
        services.AddHostedService(sp => sp.GetRequiredService<ConsumerPoolService>());
        services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) =>
            host.ShutdownTimeout = worker.Value.DrainTimeout + ShutdownMargin);
        return services;
    }

    public static IServiceCollection AddJobHandler<THandler>(this IServiceCollection services)
        where THandler : class, IJobHandler
    {
        services.AddSingleton<IJobHandler, THandler>();
        return services;
    }
}

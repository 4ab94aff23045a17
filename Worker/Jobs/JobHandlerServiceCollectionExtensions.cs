using Microsoft.Extensions.DependencyInjection;

namespace Worker.Jobs;

internal static class JobHandlerServiceCollectionExtensions
{
    public static IServiceCollection AddJobHandler<THandler>(this IServiceCollection services)
        where THandler : class, IJobHandler
    {
        services.AddSingleton<IJobHandler, THandler>();
        return services;
    }
}

using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Worker.Diagnostics;

namespace Worker.Tests.Support;

/// <summary>The worker's instruments for a part built by hand, on a meter factory of their own.</summary>
internal static class TestMetrics
{
    private static readonly IMeterFactory Factory =
        new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    public static WorkerMetrics Create() => new(Factory);
}

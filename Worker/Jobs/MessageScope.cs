using Microsoft.Extensions.DependencyInjection;
using Worker.Persistence;

namespace Worker.Jobs;

/// <summary>
/// The DI scope of one message, created on first use: a handler that asks for services, or a job that records a
/// failure, progress or effects, gets its own scope as usual; a job that succeeds without either pays nothing for one
/// (its bookkeeping writes go to <see cref="JobStateBatcher"/>). Disposed after the outcome.
/// </summary>
internal sealed class MessageScope(IServiceScopeFactory scopes) : IAsyncDisposable
{
    private AsyncServiceScope? _scope;
    private JobStateStore? _store;

    public IServiceProvider Services => (_scope ??= scopes.CreateAsyncScope()).ServiceProvider;

    /// <summary>The job state store of this message, with its pooled DbContext.</summary>
    public JobStateStore Store => _store ??= Services.GetRequiredService<JobStateStore>();

    public ValueTask DisposeAsync() => _scope is { } scope ? scope.DisposeAsync() : ValueTask.CompletedTask;
}

using Microsoft.Extensions.DependencyInjection;
using Worker.Persistence;

namespace Worker.Jobs;

/// <summary>
/// The DI scope of one message, created on first use: a handler that asks for services (or a job whose state is
/// kept) gets its own scope as usual, and a job that needs neither pays nothing for one. Disposed after the outcome.
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

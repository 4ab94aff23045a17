using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Worker.Hosting;

/// <summary>
/// Serves the health checks (Microsoft.Extensions.Diagnostics.HealthChecks, <see cref="HealthChecks"/>) on the small
/// listener the metrics already use, not a web host. <c>/health/live</c> runs the checks tagged live: every consumer
/// loop has beaten within the liveness timeout. <c>/health/ready</c> those tagged ready: Redis and PostgreSQL answer,
/// and no job type is stuck. 200 or 503, with a JSON body giving each failing check's reasons.
/// </summary>
internal sealed partial class HealthServer(IOptions<HttpOptions> options, HealthCheckService checks, ILogger<HealthServer> logger)
    : BackgroundService
{
    private readonly HttpListener _listener = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        _listener.Prefixes.Add($"{settings.Prefix}health/");
        try
        {
            _listener.Start();
        }
        catch (HttpListenerException e)
        {
            LogListenFailed(logger, e, settings.Prefix);
            return;
        }

        LogListening(logger, settings.Prefix);
        using var registration = stoppingToken.Register(() => _listener.Stop());
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            _ = Task.Run(() => AnswerAsync(context), CancellationToken.None);
        }
    }

    public override void Dispose()
    {
        _listener.Close();
        base.Dispose();
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            var path = context.Request.Url?.AbsolutePath.TrimEnd('/');
            var (ok, reasons) = path switch
            {
                "/health/live" => await RunAsync(HealthChecks.Live),
                "/health/ready" => await RunAsync(HealthChecks.Ready),
                _ => (false, new List<string> { "not found" }),
            };
            context.Response.StatusCode = path is "/health/live" or "/health/ready" ? (ok ? 200 : 503) : 404;
            context.Response.ContentType = "application/json";
            var body = JsonSerializer.SerializeToUtf8Bytes(
                new HealthReport(ok ? "ok" : "failing", reasons), HealthJsonContext.Default.HealthReport);
            await context.Response.OutputStream.WriteAsync(body);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            try
            {
                context.Response.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Runs the checks of one endpoint (by tag); the reasons of those that fail, in registration order.</summary>
    private async Task<(bool, List<string>)> RunAsync(string tag)
    {
        var report = await checks.CheckHealthAsync(r => r.Tags.Contains(tag));
        var reasons = new List<string>();
        foreach (var (name, entry) in report.Entries)
        {
            if (entry.Status == HealthStatus.Healthy)
            {
                continue;
            }

            if (entry.Data.TryGetValue(HealthChecks.ReasonsKey, out var lines) && lines is List<string> list)
            {
                reasons.AddRange(list);
            }
            else
            {
                reasons.Add($"{name}: {entry.Description ?? entry.Exception?.GetType().Name ?? entry.Status.ToString()}");
            }
        }

        return (report.Status == HealthStatus.Healthy, reasons);
    }

    [LoggerMessage(EventId = 3001, EventName = "HealthListening", Level = LogLevel.Information, Message = "Health and metrics on {Prefix}")]
    private static partial void LogListening(ILogger logger, string prefix);

    [LoggerMessage(EventId = 3002, EventName = "HealthListenFailed", Level = LogLevel.Error,
        Message = "Could not listen on {Prefix}; health endpoints are off (set Worker:Http:Port)")]
    private static partial void LogListenFailed(ILogger logger, Exception error, string prefix);
}

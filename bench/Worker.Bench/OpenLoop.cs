using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Worker.Bench;

/// <summary>
/// An open-loop producer's pacing: the i-th call is made at i / rate s, never earlier, whether or not the earlier ones
/// were picked up. It sleeps with the kernel's microsecond timer: Task.Delay's timer oversleeps by up to 3 ms on this
/// VM, so a producer either bunched jobs into bursts (running ahead) or fell behind. Runs on the calling thread.
/// </summary>
internal static class OpenLoop
{
    public static void Run(int rate, int count, Action call)
    {
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            TimeSpan wait;
            while ((wait = (interval * i) - clock.Elapsed) > TimeSpan.Zero)
            {
                usleep((uint)Math.Ceiling(wait.TotalMicroseconds));
            }

            call();
        }
    }

    [DllImport("libc")]
    private static extern int usleep(uint microseconds);
}

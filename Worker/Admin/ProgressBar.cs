namespace Worker.Admin;

/// <summary>
/// A one-line progress bar on a terminal; silent when stderr is redirected (scripts, CI). With an unknown total
/// (<c>null</c>: standard input) it shows the count only.
/// </summary>
internal sealed class ProgressBar(int? total, string label)
{
    private const int Width = 30;

    private readonly bool _visible = !Console.IsErrorRedirected && total is not 0;

    public void Report(int done)
    {
        if (!_visible)
        {
            return;
        }

        if (total is { } all)
        {
            var filled = Math.Min(Width, done * Width / all);
            Console.Error.Write($"\r{label} [{new string('#', filled)}{new string('.', Width - filled)}] {done}/{all}");
        }
        else
        {
            Console.Error.Write($"\r{label} {done}");
        }
    }

    public void Done()
    {
        if (_visible)
        {
            Console.Error.WriteLine();
        }
    }
}

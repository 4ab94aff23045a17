using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Worker.Hosting;

/// <summary>Turns option validation and binding failures into lines that name the configuration key.</summary>
internal static partial class ConfigurationErrors
{
    public static IReadOnlyList<string> Describe(Exception exception)
    {
        var lines = new List<string>();
        Collect(exception, lines);
        return lines;
    }

    private static void Collect(Exception exception, List<string> lines)
    {
        switch (exception)
        {
            case OptionsValidationException validation:
                lines.AddRange(validation.Failures);
                break;
            case AggregateException aggregate:
                foreach (var inner in aggregate.InnerExceptions)
                {
                    Collect(inner, lines);
                }

                break;
            case InvalidOperationException when BindFailure().Match(exception.Message) is { Success: true } match:
                lines.Add($"{match.Groups["key"].Value} cannot be read as {match.Groups["type"].Value.Replace("System.", string.Empty, StringComparison.Ordinal)}");
                break;
        }
    }

    [GeneratedRegex("Failed to convert configuration value(?: '[^']*')? at '(?<key>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex BindFailure();
}

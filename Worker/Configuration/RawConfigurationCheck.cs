using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Worker.Configuration;

/// <summary>
/// Reads a configuration section against the options type it binds to. The binder silently skips dictionary values it
/// cannot convert (so <c>Worker:Jobs:noop:HandlerTimeout=soon</c> would quietly keep the default) and ignores unknown
/// keys (a typo such as <c>Concurency</c>); this check reports both, naming the key.
/// </summary>
internal static class RawConfigurationCheck
{
    /// <summary>The failures of a section that binds to several options types at once (each key must belong to one).</summary>
    public static List<string> Failures(IConfigurationSection section, params Type[] optionsTypes)
    {
        var failures = new List<string>();
        foreach (var child in section.GetChildren())
        {
            var owner = optionsTypes.FirstOrDefault(t => t.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is not null);
            if (owner is null)
            {
                failures.Add($"{child.Path} is not a known setting");
                continue;
            }

            CheckValue(child, owner.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)!, failures);
        }

        return failures;
    }

    public static void Check(IConfigurationSection section, Type optionsType, List<string> failures)
    {
        foreach (var child in section.GetChildren())
        {
            var property = optionsType.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null)
            {
                failures.Add($"{child.Path} is not a known setting of {optionsType.Name}");
                continue;
            }

            CheckValue(child, property, failures);
        }
    }

    private static void CheckValue(IConfigurationSection child, PropertyInfo property, List<string> failures)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        if (child.Value is null)
        {
            if (type.IsClass && type != typeof(string) && !type.IsGenericType)
            {
                Check(child, type, failures);
            }

            return;
        }

        if (child.Value.Length == 0 || type == typeof(string) || type.IsGenericType)
        {
            return;
        }

        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromString(null, CultureInfo.InvariantCulture, child.Value);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException)
        {
            failures.Add($"{child.Path} cannot be read as {type.Name} (was '{child.Value}')");
        }
    }
}

using System.Text.RegularExpressions;
using Worker.Tests.Support;

namespace Worker.Tests.Unit.Structure;

/// <summary>
/// The folders of <c>Worker/</c> depend one way: a folder depends on another when one of its files names that
/// folder's namespace (<c>Worker.Streams</c>, <c>Worker.Jobs.LinkMetadata</c>, or <c>Streams.X</c> from inside
/// <c>Worker</c>). Hosting and Admin compose,
/// Streams is the transport, Jobs the contract, the executor and the handlers; Persistence, Events, Configuration and
/// Diagnostics name no other folder.
/// </summary>
[TestFixture]
public sealed class FolderDependencyTests
{
    private static readonly string[] Leaves = ["Configuration", "Diagnostics", "Events", "Persistence"];

    [Test]
    public void WorkerFolders_HaveNoDependencyCycle()
    {
        var graph = FolderGraph(Path.Combine(Repository.Root, "Worker"));

        Assert.That(graph.Keys, Is.SupersetOf(Leaves.Append("Streams").Append("Jobs")), "the folders were not found");
        Assert.That(FindCycle(graph), Is.Null, "folders that depend on each other in a circle");
    }

    [TestCase("Configuration")]
    [TestCase("Diagnostics")]
    [TestCase("Events")]
    [TestCase("Persistence")]
    public void LeafFolder_NamesNoOtherFolder(string folder)
    {
        var graph = FolderGraph(Path.Combine(Repository.Root, "Worker"));

        Assert.That(graph[folder], Is.Empty, $"{folder} depends on other folders");
    }

    [Test]
    public void Streams_DoesNotNameHostingOrScheduling()
    {
        var graph = FolderGraph(Path.Combine(Repository.Root, "Worker"));

        Assert.That(graph["Streams"], Has.None.AnyOf("Hosting", "Scheduling", "Admin"));
        Assert.That(graph["Jobs"], Has.None.AnyOf("Hosting", "Scheduling", "Admin", "Streams"));
    }

    [Test]
    public void FindCycle_ReportsTheCircle()
    {
        var graph = new Dictionary<string, HashSet<string>>
        {
            ["A"] = ["B"],
            ["B"] = ["C"],
            ["C"] = ["A"],
            ["D"] = ["A"],
        };

        Assert.That(FindCycle(graph), Is.EqualTo("A -> B -> C -> A"));
        graph["C"].Clear();
        Assert.That(FindCycle(graph), Is.Null);
    }

    /// <summary>Each top-level folder of <paramref name="project"/>, with the other folders its files name.</summary>
    private static Dictionary<string, HashSet<string>> FolderGraph(string project)
    {
        var folders = Directory.GetDirectories(project).Select(Path.GetFileName).OfType<string>()
            .Where(f => f is not ("bin" or "obj" or "Properties")).ToHashSet(StringComparer.Ordinal);
        // Worker.Streams..., or Streams.X written from inside Worker (a partly qualified name, a cref).
        var names = string.Join("|", folders);
        var reference = new Regex(@"\bWorker\.(" + names + @")\b|(?<![\w.])(" + names + @")\.[A-Z]");
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            var named = graph[folder] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(Path.Combine(project, folder), "*.cs", SearchOption.AllDirectories))
            {
                foreach (Match match in reference.Matches(File.ReadAllText(file)))
                {
                    named.Add(match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value);
                }
            }

            named.Remove(folder);
        }

        return graph;
    }

    /// <summary>One circle of the graph as <c>A -> B -> A</c>, or null when there is none.</summary>
    private static string? FindCycle(Dictionary<string, HashSet<string>> graph)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        string? Visit(string node)
        {
            if (path.IndexOf(node) is var at and >= 0)
            {
                return string.Join(" -> ", path.Skip(at).Append(node));
            }

            if (!done.Add(node))
            {
                return null;
            }

            path.Add(node);
            foreach (var next in graph.GetValueOrDefault(node, []).Order(StringComparer.Ordinal))
            {
                if (Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            return null;
        }

        return graph.Keys.Order(StringComparer.Ordinal).Select(Visit).FirstOrDefault(c => c is not null);
    }
}

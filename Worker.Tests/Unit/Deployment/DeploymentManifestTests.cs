using System.Text.Json;
using Worker.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Worker.Tests.Unit.Deployment;

/// <summary>
/// The deployment files parse, and the facts that must agree across them do: the grace periods exceed the drain
/// budget, the probes hit the health endpoints, the autoscaler watches the real stream.
/// </summary>
[TestFixture]
public sealed class DeploymentManifestTests
{
    private static readonly string Root = Repository.Root;

    private static IEnumerable<string> Files(string pattern) =>
        Directory.EnumerateFiles(Path.Combine(Root, "deploy"), pattern, SearchOption.AllDirectories);

    private static List<YamlMappingNode> Documents(string relative)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Root, relative))));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = int.TryParse(key, out var index) ? ((YamlSequenceNode)node).Children[index] : ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    /// <summary>Drain timeout plus the host's 10 s margin, from the shipped appsettings.json.</summary>
    private static TimeSpan HostShutdownBudget()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "Worker", "appsettings.json")));
        return TimeSpan.Parse(settings.RootElement.GetProperty("Worker").GetProperty("DrainTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            + TimeSpan.FromSeconds(10);
    }

    [Test]
    public void Yaml_EveryManifest_ParsesWithKindOrGroups()
    {
        var files = Files("*.yaml").ToList();

        Assert.That(files, Has.Count.GreaterThanOrEqualTo(9));
        foreach (var file in files)
        {
            var documents = Documents(Path.GetRelativePath(Root, file));
            Assert.That(documents, Is.Not.Empty, file);
            Assert.That(documents.All(d => d.Children.ContainsKey(new YamlScalarNode("kind")) || d.Children.ContainsKey(new YamlScalarNode("groups"))), Is.True, file);
        }
    }

    [Test]
    public void Json_DashboardAndConfigMapSettings_Parse()
    {
        foreach (var file in Files("*.json"))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            Assert.That(document.RootElement.GetProperty("panels").GetArrayLength(), Is.GreaterThan(0), file);
        }

        var configMap = Documents("deploy/kubernetes/configmap.yaml")[0];
        using var settings = JsonDocument.Parse(Scalar(configMap, "data", "appsettings.json"));
        Assert.That(settings.RootElement.GetProperty("Worker").GetProperty("Http").GetProperty("Port").GetInt32(), Is.EqualTo(9090));
    }

    [Test]
    public void Deployment_GraceProbesAndSecurity_AlignWithTheWorker()
    {
        var deployment = Documents("deploy/kubernetes/deployment.yaml")[0];
        var spec = At(deployment, "spec", "template", "spec");
        var container = At(spec, "containers", "0");

        Assert.Multiple(() =>
        {
            Assert.That(TimeSpan.FromSeconds(int.Parse(Scalar(spec, "terminationGracePeriodSeconds"))), Is.GreaterThan(HostShutdownBudget()));
            Assert.That(Scalar(container, "livenessProbe", "httpGet", "path"), Is.EqualTo("/health/live"));
            Assert.That(Scalar(container, "readinessProbe", "httpGet", "path"), Is.EqualTo("/health/ready"));
            Assert.That(Scalar(container, "ports", "0", "containerPort"), Is.EqualTo("9090"));
            Assert.That(Scalar(container, "securityContext", "readOnlyRootFilesystem"), Is.EqualTo("true"));
            Assert.That(Scalar(spec, "securityContext", "runAsNonRoot"), Is.EqualTo("true"));
        });
    }

    [Test]
    public void Keda_ScaledObject_WatchesTheLinkMetadataStreamAndGroup()
    {
        var scaled = Documents("deploy/kubernetes/keda-scaledobject.yaml").Single(d => Scalar(d, "kind") == "ScaledObject");
        var trigger = At(scaled, "spec", "triggers", "0");

        Assert.That(Scalar(trigger, "metadata", "stream"), Is.EqualTo(Worker.Jobs.JobTypeSettings.DefaultStreamKey("link-metadata")));
        Assert.That(Scalar(trigger, "metadata", "consumerGroup"), Is.EqualTo(Worker.Jobs.JobTypeSettings.DefaultGroup));
    }

    [Test]
    public void Keda_ClusterScaledObject_ReplacesTheSingleOneAndWatchesTheStreamOnEveryNode()
    {
        var single = Documents("deploy/kubernetes/keda-scaledobject.yaml").Single(d => Scalar(d, "kind") == "ScaledObject");
        var cluster = Documents("deploy/kubernetes/keda-scaledobject-cluster.yaml").Single(d => Scalar(d, "kind") == "ScaledObject");
        var trigger = At(cluster, "spec", "triggers", "0");
        var kustomization = Documents("deploy/kubernetes/kustomization.yaml")[0];
        var resources = ((YamlSequenceNode)At(kustomization, "resources")).Children.Select(r => ((YamlScalarNode)r).Value).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(Scalar(trigger, "type"), Is.EqualTo("redis-cluster-streams"));
            Assert.That(Scalar(trigger, "metadata", "addresses").Split(','), Has.Length.GreaterThan(1));
            Assert.That(Scalar(trigger, "metadata", "stream"), Is.EqualTo(Worker.Jobs.JobTypeSettings.DefaultStreamKey("link-metadata")));
            Assert.That(Scalar(trigger, "metadata", "consumerGroup"), Is.EqualTo(Worker.Jobs.JobTypeSettings.DefaultGroup));
            Assert.That(Scalar(trigger, "metadata", "lagCount"), Is.EqualTo(Scalar(single, "spec", "triggers", "0", "metadata", "lagCount")));
            Assert.That(Scalar(cluster, "spec", "scaleTargetRef", "name"), Is.EqualTo(Scalar(single, "spec", "scaleTargetRef", "name")));
            Assert.That(resources, Does.Not.Contain("keda-scaledobject-cluster.yaml"), "one ScaledObject per workload: an alternative, not an addition");
        });
    }

    [Test]
    public void NetworkPolicy_WebEgress_ExcludesPrivateAndMetadataRanges()
    {
        var policy = Documents("deploy/kubernetes/networkpolicy.yaml")[0];
        var excepts = ((YamlSequenceNode)At(policy, "spec", "egress")).Children
            .SelectMany(rule => ((YamlMappingNode)rule).Children.TryGetValue(new YamlScalarNode("to"), out var to) ? ((YamlSequenceNode)to).Children : [])
            .Where(peer => ((YamlMappingNode)peer).Children.ContainsKey(new YamlScalarNode("ipBlock")))
            .SelectMany(peer => ((YamlSequenceNode)At(peer, "ipBlock", "except")).Children.Select(c => ((YamlScalarNode)c).Value))
            .ToList();

        Assert.That(excepts, Is.SupersetOf(new[] { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "fc00::/7", "fe80::/10" }));
    }

    [Test]
    public void SystemdUnit_NotifyTypeAndStopTimeout_CoverTheDrain()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "deploy", "systemd", "worker.service"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var sections = lines.Where(l => l.StartsWith('[')).ToList();
        string Value(string key) => lines.Single(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];

        Assert.Multiple(() =>
        {
            Assert.That(sections, Is.EqualTo(new[] { "[Unit]", "[Service]", "[Install]" }));
            Assert.That(Value("Type"), Is.EqualTo("notify"));
            Assert.That(TimeSpan.FromSeconds(int.Parse(Value("TimeoutStopSec").TrimEnd('s'))), Is.GreaterThan(HostShutdownBudget()));
            Assert.That(Value("ExecStart"), Is.EqualTo("/opt/worker/Worker run"));
            Assert.That(Value("NoNewPrivileges"), Is.EqualTo("yes"));
        });
    }

    [Test]
    public void Dockerfile_RunsAsNonRootWithTheWorkerEntrypoint()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "Dockerfile"));

        Assert.That(lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).Count(), Is.GreaterThanOrEqualTo(2), "multi-stage");
        Assert.That(lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal)), Is.Not.EqualTo("USER root"));
        Assert.That(lines, Has.Some.StartsWith("ENTRYPOINT [\"/app/Worker\"]"));
    }

    [Test]
    public void Dockerfile_CopiesWhatTheProjectImportsBeforeTheRestore()
    {
        // No Docker engine here to build the image: this catches the restore step failing on a missing import.
        var lines = File.ReadAllLines(Path.Combine(Root, "Dockerfile"));
        var restore = Array.FindIndex(lines, l => l.StartsWith("RUN dotnet restore", StringComparison.Ordinal));
        var copied = lines[..restore].Where(l => l.StartsWith("COPY ", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]).ToList();
        var imports = System.Xml.Linq.XDocument.Load(Path.Combine(Root, "Worker", "Worker.csproj")).Descendants("Import")
            .Select(i => "Worker/" + (string)i.Attribute("Project")!).ToList();

        Assert.That(restore, Is.GreaterThan(0), "a restore step");
        Assert.That(imports, Is.Not.Empty);
        Assert.That(copied, Is.SupersetOf(imports));
    }
}

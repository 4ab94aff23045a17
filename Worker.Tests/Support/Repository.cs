namespace Worker.Tests.Support;

/// <summary>The checkout the tests run from: the folder of <c>worker.sln</c> above the test binaries.</summary>
internal static class Repository
{
    public static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "worker.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("worker.sln not found above the test directory");
    }
}

using Worker.Tests.Support;

namespace Worker.Tests.Integration;

/// <summary>Checks once that the real servers answer, and says how to start them when they do not.</summary>
[SetUpFixture]
public sealed class IntegrationSetUp
{
    [OneTimeSetUp]
    public async Task ServersAnswer()
    {
        try
        {
            await Infrastructure.Db.PingAsync();
        }
        catch (Exception e)
        {
            Assert.Fail($"Redis at {TestEnvironment.Redis} does not answer ({e.Message}): run ./scripts/test");
        }

        try
        {
            var jobsTable = await Infrastructure.ScalarAsync<string?>("SELECT to_regclass('jobs')::text");
            Assert.That(jobsTable, Is.EqualTo("jobs"), "the jobs table is missing: ./scripts/test runs 'Worker migrate' first");
        }
        catch (Npgsql.NpgsqlException e)
        {
            Assert.Fail($"PostgreSQL at {TestEnvironment.Postgres} does not answer ({e.Message}): run ./scripts/test");
        }
    }

    [OneTimeTearDown]
    public void Close() => Infrastructure.Dispose();
}

using System.Text;
using StackExchange.Redis;
using Worker.Jobs;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class JobEnvelopeTests
{
    private static StreamEntry Entry(params (string Name, string Value)[] fields) =>
        new("1700000000000-7", fields.Select(f => new NameValueEntry(f.Name, f.Value)).ToArray());

    [Test]
    public void TryParse_MinimalEntry_JobIdDefaultsToEntryIdAndAttemptToOne()
    {
        var ok = JobEnvelope.TryParse(Entry(("type", "noop"), ("payload", "{}")), out var envelope, out _, out _);

        Assert.That(ok, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(envelope.JobId, Is.EqualTo("1700000000000-7"));
            Assert.That(envelope.Attempt, Is.EqualTo(1));
            Assert.That(envelope.EnqueuedAt, Is.Null);
        });
    }

    [Test]
    public void TryParse_AllFields_ReadsThem()
    {
        var ok = JobEnvelope.TryParse(
            Entry(("type", "noop"), ("payload", "{\"a\":1}"), ("job_id", "j-1"), ("enqueued_at", "1700000000123"),
                ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("attempt", "2")),
            out var envelope, out _, out _);

        Assert.That(ok, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(envelope.JobId, Is.EqualTo("j-1"));
            Assert.That(envelope.Attempt, Is.EqualTo(2));
            Assert.That(envelope.EnqueuedAt, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(1700000000123)));
            Assert.That(envelope.TraceParent, Does.StartWith("00-0af7"));
        });
    }

    [TestCase(null, "{}", "malformed_entry")]
    [TestCase("noop", null, "malformed_entry")]
    [TestCase("noop", "{oops", "malformed_payload")]
    [TestCase("noop", "", "malformed_payload")]
    public void TryParse_BrokenEntry_GivesStableReason(string? type, string? payload, string reason)
    {
        var fields = new List<(string, string)>();
        if (type is not null)
        {
            fields.Add(("type", type));
        }

        if (payload is not null)
        {
            fields.Add(("payload", payload));
        }

        var ok = JobEnvelope.TryParse(Entry([.. fields]), out _, out var actual, out var message);

        Assert.That(ok, Is.False);
        Assert.That(actual, Is.EqualTo(reason));
        Assert.That(message, Is.Not.Empty);
    }

    /// <summary>As Redis delivers them: names and values as raw bytes, numbers as the client's parsed integers.</summary>
    [Test]
    public void TryParse_RawBytesAndIntegerValues_ReadsThem()
    {
        var payload = "{\"text\":\"" + new string('x', 600) + "\"}";
        var entry = new StreamEntry("1700000000000-7", [
            new NameValueEntry(Encoding.UTF8.GetBytes("type"), Encoding.UTF8.GetBytes("noop")),
            new NameValueEntry(Encoding.UTF8.GetBytes("payload"), Encoding.UTF8.GetBytes(payload)),
            new NameValueEntry(Encoding.UTF8.GetBytes("enqueued_at"), 1700000000123L),
            new NameValueEntry(Encoding.UTF8.GetBytes("attempt"), 3),
            new NameValueEntry(Encoding.UTF8.GetBytes("a_field_name_longer_than_sixteen_bytes"), "ignored"),
        ]);

        var ok = JobEnvelope.TryParse(entry, out var envelope, out var reason, out _);

        Assert.That(ok, Is.True, reason);
        Assert.Multiple(() =>
        {
            Assert.That(envelope.Type, Is.EqualTo("noop"));
            Assert.That(envelope.Payload, Is.EqualTo(payload));
            Assert.That(envelope.Attempt, Is.EqualTo(3));
            Assert.That(envelope.EnqueuedAt, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(1700000000123)));
        });
    }

    [TestCase("{\"a\":1} {\"b\":2}")]
    [TestCase("[1,2")]
    [TestCase("{\"long\":\"unterminated")]
    public void TryParse_PayloadThatIsNotOneJsonDocument_MalformedPayload(string payload)
    {
        var padded = payload.Length < 300 ? payload + new string(' ', 300) : payload;
        foreach (var candidate in new[] { payload, padded })
        {
            var ok = JobEnvelope.TryParse(Entry(("type", "noop"), ("payload", candidate)), out _, out var reason, out _);

            Assert.That((ok, reason), Is.EqualTo((false, "malformed_payload")), $"payload of {candidate.Length} bytes");
        }
    }

    [Test]
    public void TryParse_EnqueuedAtOutOfRange_IgnoredRatherThanThrowing()
    {
        var ok = JobEnvelope.TryParse(
            Entry(("type", "noop"), ("payload", "{}"), ("enqueued_at", "999999999999999999")), out var envelope, out _, out _);

        Assert.That(ok, Is.True);
        Assert.That(envelope.EnqueuedAt, Is.Null);
    }

    [Test]
    public void FieldsForAttempt_RetryOfDefaultIdJob_PinsJobIdAndSetsAttempt()
    {
        JobEnvelope.TryParse(Entry(("type", "noop"), ("payload", "{}"), ("attempt", "1")), out var envelope, out _, out _);

        var fields = envelope.FieldsForAttempt(2).ToDictionary(f => f.Name.ToString(), f => f.Value.ToString());

        Assert.That(fields, Is.EquivalentTo(new Dictionary<string, string>
        {
            ["type"] = "noop", ["payload"] = "{}", ["job_id"] = "1700000000000-7", ["attempt"] = "2",
        }));
    }

    [Test]
    public void TryParse_RunAt_ReadAsUnixMilliseconds()
    {
        var ok = JobEnvelope.TryParse(Entry(("type", "noop"), ("payload", "{}"), ("run_at", "1700000000123")), out var envelope, out _, out _);

        Assert.That(ok, Is.True);
        Assert.That(envelope.RunAt, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(1700000000123)));
    }

    [TestCase("soon")]
    [TestCase("-5")]
    [TestCase("99999999999999999")]
    public void TryParse_RunAtNotUnixMilliseconds_MalformedNamingTheField(string runAt)
    {
        var ok = JobEnvelope.TryParse(Entry(("type", "noop"), ("payload", "{}"), ("run_at", runAt)), out _, out var reason, out var message);

        Assert.That(ok, Is.False);
        Assert.That((reason, message), Is.EqualTo(("malformed_entry", "the 'run_at' field is not Unix milliseconds")));
    }

    [TestCase("high", "High")]
    [TestCase("low", "Low")]
    [TestCase(null, "Normal")]
    public void TryParse_Priority_Read(string? priority, string expected)
    {
        var fields = priority is null
            ? Entry(("type", "noop"), ("payload", "{}"))
            : Entry(("type", "noop"), ("payload", "{}"), ("priority", priority));

        Assert.That(JobEnvelope.TryParse(fields, out var envelope, out _, out _), Is.True);
        Assert.That(envelope.Priority.ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void TryParse_PriorityNotKnown_MalformedNamingTheField()
    {
        var ok = JobEnvelope.TryParse(Entry(("type", "noop"), ("payload", "{}"), ("priority", "urgent")), out _, out var reason, out var message);

        Assert.That(ok, Is.False);
        Assert.That((reason, message), Is.EqualTo(("malformed_entry", "the 'priority' field is not high, normal or low")));
    }
}

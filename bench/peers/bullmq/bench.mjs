// BullMQ side of ./bench/run: the same scenarios as bench/Worker.Bench, through BullMQ's public API only.
//   node bench.mjs drain N [WARMUP] | enqueue N | latency RATE SECONDS [WARMUP]      (Redis from BENCH_REDIS=host:port)
// drain with WARMUP > 0 first drains WARMUP jobs of another queue with another Worker in the same process (a warm
// process, as bench/Worker.Bench does for ours); latency with WARMUP > 0 first produces for WARMUP s unmeasured.
// Prints one JSON line. Parameters follow BullMQ's own benchmark: no-op processor, concurrency 100, addBulk in
// batches of 1,000, completed jobs removed.
import { Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { Worker as Thread } from 'node:worker_threads';

const [host, port] = (process.env.BENCH_REDIS ?? '127.0.0.1:6379').split(':');
const connection = { host, port: Number(port), maxRetriesPerRequest: null };
const [scenario = 'drain', a1, a2, a3] = process.argv.slice(2);
const name = `bench-${randomUUID()}`;
const queue = new Queue(name, { connection });
const jobOptions = { removeOnComplete: true, removeOnFail: true };

async function fill(n, into = queue) {
  const started = performance.now();
  for (let done = 0; done < n; done += 1000) {
    const size = Math.min(1000, n - done);
    await into.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: {}, opts: jobOptions })));
  }
  return (performance.now() - started) / 1000;
}

async function drainOnce(queueName, into, n) {
  await fill(n, into);
  let completed = 0;
  const started = performance.now();
  const finished = new Promise((resolve) => {
    const worker = new Worker(queueName, async () => {}, { connection, concurrency: 100 });
    worker.on('completed', () => { if (++completed === n) resolve(worker); });
  });
  const worker = await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  return seconds;
}

async function drain(n, warmup) {
  if (warmup > 0) {
    const warmName = `${name}-warmup`;
    const warmQueue = new Queue(warmName, { connection });
    await drainOnce(warmName, warmQueue, warmup);
    await warmQueue.obliterate({ force: true });
    await warmQueue.close();
  }
  const seconds = await drainOnce(name, queue, n);
  return { scenario: warmup > 0 ? 'drain_warm' : 'drain', n, jobs_per_s: n / seconds, seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

async function enqueue(n) {
  const seconds = await fill(n);
  return { scenario: 'enqueue', n, jobs_per_s: n / seconds, seconds };
}

async function latency(rate, seconds, warmup) {
  const samples = [];
  const worker = new Worker(name, async (job) => {
    samples.push(Number(process.hrtime.bigint() - BigInt(job.data.t)) / 1e6);
  }, { connection, concurrency: 100 });
  await worker.waitUntilReady();
  await queue.add('warmup', { t: process.hrtime.bigint().toString() }, jobOptions);
  const produce = (forSeconds) => new Promise((resolve, reject) => {
    const producer = new Thread(new URL('./producer.mjs', import.meta.url), { workerData: { name, connection, jobOptions, rate, seconds: forSeconds } });
    producer.once('message', resolve);
    producer.once('error', reject);
  });
  const waitFor = async (count) => {
    const deadline = performance.now() + 30000;
    while (samples.length < count && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  };
  await waitFor(1);
  if (warmup > 0) {
    await produce(warmup);
    await waitFor(rate * warmup + 1);
  }
  samples.length = 0;
  await produce(seconds);
  await waitFor(rate * seconds);
  await worker.close();
  samples.sort((x, y) => x - y);
  const p = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { scenario: 'latency', n: samples.length, p50_ms: p(0.5), p99_ms: p(0.99), max_ms: samples[samples.length - 1] };
}

try {
  const result = scenario === 'drain' ? await drain(Number(a1 ?? 50000), Number(a2 ?? 0))
    : scenario === 'enqueue' ? await enqueue(Number(a1 ?? 50000))
    : await latency(Number(a1 ?? 1000), Number(a2 ?? 30), Number(a3 ?? 0));
  console.log(JSON.stringify(result));
} finally {
  await queue.obliterate({ force: true });
  await queue.close();
}

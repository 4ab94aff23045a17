// Reads the JSON lines of one ./bench/run (each tagged with "side": "ours" or the peer's name) and prints the
// markdown table: median of the runs per scenario and side, and the ratio ours / peer (peer / ours for latency).
import { readFileSync } from 'node:fs';

const rows = readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const pick = (scenario, side, field) => median(rows.filter((r) => r.scenario === scenario && r.side === side).map((r) => r[field]));
const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}x` : 'n/a');

const n = fmt(pick('drain', 'ours', 'n')); // 50,000, or fewer in a BENCH_QUICK run
const lines = [
  '| scenario | ours | peer | ratio |',
  '|---|---|---|---|',
  `| drain ${n} no-op jobs, one cold process (jobs/s) | ${fmt(pick('drain', 'ours', 'jobs_per_s'))} | BullMQ ${fmt(pick('drain', 'bullmq', 'jobs_per_s'))} | ${ratio(pick('drain', 'ours', 'jobs_per_s'), pick('drain', 'bullmq', 'jobs_per_s'))} |`,
  `| drain ${n} no-op jobs, one warm process (jobs/s) | ${fmt(pick('drain_warm', 'ours', 'jobs_per_s'))} | BullMQ ${fmt(pick('drain_warm', 'bullmq', 'jobs_per_s'))} | ${ratio(pick('drain_warm', 'ours', 'jobs_per_s'), pick('drain_warm', 'bullmq', 'jobs_per_s'))} |`,
  `| enqueue ${n} in batches of 1,000 (jobs/s) | ${fmt(pick('drain', 'ours', 'enqueue_jobs_per_s'))} | BullMQ ${fmt(pick('enqueue', 'bullmq', 'jobs_per_s'))} | ${ratio(pick('drain', 'ours', 'enqueue_jobs_per_s'), pick('enqueue', 'bullmq', 'jobs_per_s'))} |`,
  `| pickup latency p50 at 1,000 jobs/s (ms) | ${fmt(pick('latency', 'ours', 'p50_ms'), 3)} | BullMQ ${fmt(pick('latency', 'bullmq', 'p50_ms'), 3)} | ${ratio(pick('latency', 'bullmq', 'p50_ms'), pick('latency', 'ours', 'p50_ms'))} |`,
  `| pickup latency p99 (ms) | ${fmt(pick('latency', 'ours', 'p99_ms'), 3)} | BullMQ ${fmt(pick('latency', 'bullmq', 'p99_ms'), 3)} | ${ratio(pick('latency', 'bullmq', 'p99_ms'), pick('latency', 'ours', 'p99_ms'))} |`,
  `| pickup latency p50 / p99, the producer another process writing on its own thread (C) (ms) | ${fmt(pick('latency_external', 'ours', 'p50_ms'), 3)} / ${fmt(pick('latency_external', 'ours', 'p99_ms'), 3)} | | |`,
  `| pickup latency max (ms) | ${fmt(pick('latency', 'ours', 'max_ms'), 1)} | BullMQ ${fmt(pick('latency', 'bullmq', 'max_ms'), 1)} | ${ratio(pick('latency', 'bullmq', 'max_ms'), pick('latency', 'ours', 'max_ms'))} |`,
  `| pickup floor p50 / p99 / max: the same producer into a bare blocking read, no worker (ms) | ${fmt(pick('latency_floor', 'floor', 'p50_ms'), 3)} / ${fmt(pick('latency_floor', 'floor', 'p99_ms'), 3)} / ${fmt(pick('latency_floor', 'floor', 'max_ms'), 1)} | | |`,
  `| pickup floor in C p50 / p99 / max: a producer thread, Redis and a blocking reader thread on plain sockets (ms) | ${fmt(pick('latency_floor_c', 'floor', 'p50_ms'), 3)} / ${fmt(pick('latency_floor_c', 'floor', 'p99_ms'), 3)} / ${fmt(pick('latency_floor_c', 'floor', 'max_ms'), 1)} | | |`,
  `| drain with job state in PostgreSQL, cold (jobs/s) | ${fmt(pick('drain_persist', 'ours', 'jobs_per_s'))} | BullMQ (no database) ${fmt(pick('drain', 'bullmq', 'jobs_per_s'))} | ${ratio(pick('drain_persist', 'ours', 'jobs_per_s'), pick('drain', 'bullmq', 'jobs_per_s'))} |`,
  `| drain with job state in PostgreSQL, warm (jobs/s) | ${fmt(pick('drain_persist_warm', 'ours', 'jobs_per_s'))} | BullMQ (no database) ${fmt(pick('drain_warm', 'bullmq', 'jobs_per_s'))} | ${ratio(pick('drain_persist_warm', 'ours', 'jobs_per_s'), pick('drain_warm', 'bullmq', 'jobs_per_s'))} |`,
  `| link extraction, 89 corpus pages (pages/s) | ${fmt(pick('extract', 'ours', 'pages_per_s'))} | metascraper ${fmt(pick('extract', 'metascraper', 'pages_per_s'))} | ${ratio(pick('extract', 'ours', 'pages_per_s'), pick('extract', 'metascraper', 'pages_per_s'))} |`,
  `| link extraction (MB/s) | ${fmt(pick('extract', 'ours', 'mb_per_s'), 1)} | metascraper ${fmt(pick('extract', 'metascraper', 'mb_per_s'), 1)} | ${ratio(pick('extract', 'ours', 'mb_per_s'), pick('extract', 'metascraper', 'mb_per_s'))} |`,
  `| CPU per job, drain cold / warm: worker, Redis (µs) | ${fmt(pick('drain', 'ours', 'worker_cpu_us_per_job'), 1)}, ${fmt(pick('drain', 'ours', 'redis_cpu_us_per_job'), 1)} / ${fmt(pick('drain_warm', 'ours', 'worker_cpu_us_per_job'), 1)}, ${fmt(pick('drain_warm', 'ours', 'redis_cpu_us_per_job'), 1)} | | |`,
  `| CPU per job with state, cold / warm: worker, Redis (µs) | ${fmt(pick('drain_persist', 'ours', 'worker_cpu_us_per_job'), 1)}, ${fmt(pick('drain_persist', 'ours', 'redis_cpu_us_per_job'), 1)} / ${fmt(pick('drain_persist_warm', 'ours', 'worker_cpu_us_per_job'), 1)}, ${fmt(pick('drain_persist_warm', 'ours', 'redis_cpu_us_per_job'), 1)} | | |`,
  `| bytes allocated per job, drain cold / warm / with state cold | ${fmt(pick('drain', 'ours', 'alloc_bytes_per_job'))} / ${fmt(pick('drain_warm', 'ours', 'alloc_bytes_per_job'))} / ${fmt(pick('drain_persist', 'ours', 'alloc_bytes_per_job'))} | | |`,
  `| peak RSS, drain, cold / warm (MB) | ${fmt(pick('drain', 'ours', 'peak_rss_mb'))} / ${fmt(pick('drain_warm', 'ours', 'peak_rss_mb'))} | BullMQ ${fmt(pick('drain', 'bullmq', 'peak_rss_mb'))} / ${fmt(pick('drain_warm', 'bullmq', 'peak_rss_mb'))} | |`,
  `| peak RSS, drain with PostgreSQL state, cold / warm (MB) | ${fmt(pick('drain_persist', 'ours', 'peak_rss_mb'))} / ${fmt(pick('drain_persist_warm', 'ours', 'peak_rss_mb'))} | | |`,
];
console.log(lines.join('\n'));

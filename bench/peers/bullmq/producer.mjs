// The latency scenario's open-loop producer, on a thread of its own: the i-th job is added at i / rate s, never
// earlier, whether or not the earlier ones were picked up. Atomics.wait sleeps for fractions of a millisecond;
// setTimeout's millisecond timer would bunch the jobs into bursts. Mirrors OpenLoopAsync in bench/Worker.Bench.
import { parentPort, workerData } from 'node:worker_threads';
import { Queue } from 'bullmq';

const { name, connection, jobOptions, rate, seconds } = workerData;
const queue = new Queue(name, { connection });
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const interval = 1000 / rate;
const started = performance.now();
for (let i = 0; i < rate * seconds; i++) {
  let wait;
  while ((wait = started + i * interval - performance.now()) > 0) Atomics.wait(sleeper, 0, 0, wait);
  await queue.add('noop', { t: process.hrtime.bigint().toString() }, jobOptions);
}
await queue.close();
parentPort.postMessage('done');

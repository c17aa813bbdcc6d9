// Preloaded into the labnet process by the soak (`node --import <this> labnet.js start ...`, through
// NODE_OPTIONS), never part of labnet itself. It appends process.memoryUsage() as one JSON line to
// $LABNET_SOAK_MEMORY_LOG every second (RSS split into JS heap used, external, arrayBuffers, and the
// heap's new and old space reserved), and, when
// $LABNET_SOAK_HEAP_DIR is set, writes a V8 heap snapshot there on SIGUSR2 (v8.writeHeapSnapshot, which
// collects garbage first, so the snapshot holds only what is still reachable) and then appends
// `{"snapshot": path}` to the log: the soak waits for that line.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

const log = process.env.LABNET_SOAK_MEMORY_LOG;
const heapDir = process.env.LABNET_SOAK_HEAP_DIR;

// The main thread only: a worker thread (the mail store's delivery writer) loads this too, and its own
// small heap must not be logged as the process's.
if (log && isMainThread) {
  const sample = (): void => {
    const m = process.memoryUsage();
    // The heap's reserved size by space: young objects (new_space) or long-lived ones (old_space).
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, x.space_size]));
    const line = {
      t: Date.now(),
      rss: m.rss,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      newSpace: spaces.new_space ?? 0,
      oldSpace: spaces.old_space ?? 0,
    };
    appendFileSync(log, `${JSON.stringify(line)}\n`);
  };
  setInterval(sample, 1000).unref();
  if (heapDir) {
    let n = 0;
    process.on('SIGUSR2', () => {
      const path = writeHeapSnapshot(join(heapDir, `labnet-${process.pid}-${++n}.heapsnapshot`));
      sample();
      appendFileSync(log, `${JSON.stringify({ t: Date.now(), snapshot: path })}\n`);
    });
  }
}

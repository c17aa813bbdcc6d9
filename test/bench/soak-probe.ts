// Preloaded into the labnet process by the soak (`node --import <this> labnet.js start ...`, through
// NODE_OPTIONS), never part of labnet itself. It appends process.memoryUsage() as one JSON line to
// $LABNET_SOAK_MEMORY_LOG every second (RSS split into JS heap used, external, arrayBuffers, and the
// heap's new and old space reserved, with the free room inside old space's pages), one line `{"t", "major": heapUsed, "oldSpace"}` after every full
// (mark-compact) collection, read from the GC's performance entry (the live heap: heapUsed sampled
// every second is mostly garbage waiting for the next collection), and, when
// $LABNET_SOAK_HEAP_DIR is set, writes a V8 heap snapshot there on SIGUSR2 (v8.writeHeapSnapshot, which
// collects garbage first, so the snapshot holds only what is still reachable) and then appends
// `{"snapshot": path}` to the log: the soak waits for that line. $LABNET_SOAK_V8_FLAGS (the soak's
// --v8-flags, e.g. "--trace-gc") are set with v8.setFlagsFromString in this process only.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

const log = process.env.LABNET_SOAK_MEMORY_LOG;
const heapDir = process.env.LABNET_SOAK_HEAP_DIR;
const v8Flags = process.env.LABNET_SOAK_V8_FLAGS;

// The main thread only: a worker thread (the mail store's delivery writer) loads this too, and its own
// small heap must not be logged as the process's.
if (log && isMainThread) {
  if (v8Flags) for (const f of v8Flags.split(' ').filter(Boolean)) setFlagsFromString(f);
  const oldSpace = (): number => getHeapSpaceStatistics().find((x) => x.space_name === 'old_space')?.space_size ?? 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    // The heap's reserved size by space: young objects (new_space) or long-lived ones (old_space).
    const stats = getHeapSpaceStatistics();
    const spaces = Object.fromEntries(stats.map((x) => [x.space_name, x.space_size]));
    // Free room inside old space's reserved pages (its free lists once swept): fragmentation.
    const oldFree = stats.find((x) => x.space_name === 'old_space')?.space_available_size ?? 0;
    const line = {
      t: Date.now(),
      rss: m.rss,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      newSpace: spaces.new_space ?? 0,
      oldSpace: spaces.old_space ?? 0,
      oldFree,
    };
    appendFileSync(log, `${JSON.stringify(line)}\n`);
  };
  setInterval(sample, 1000).unref();
  // After each full collection: the heap in use then is (nearly) the live heap. The entry comes a
  // little after the collection, so a few KB allocated since may be in it.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      const h = getHeapStatistics();
      appendFileSync(log, `${JSON.stringify({ t: Date.now(), major: h.used_heap_size, oldSpace: oldSpace(), ms: e.duration })}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
  if (heapDir) {
    let n = 0;
    process.on('SIGUSR2', () => {
      const path = writeHeapSnapshot(join(heapDir, `labnet-${process.pid}-${++n}.heapsnapshot`));
      sample();
      appendFileSync(log, `${JSON.stringify({ t: Date.now(), snapshot: path })}\n`);
    });
  }
}

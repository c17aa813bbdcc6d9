// `make bench BENCH=startup`: the start-up targets for `labnet start` with every service that is
// on by default: start to ready under a second, and idle memory under 80 MB RSS. Each start spawns the
// CLI (listening on 127.0.0.1, every port 0), times spawn to the "labnet ready" line, and reads VmRSS
// from /proc a few seconds after ready. Two kinds of start: the first in a fresh data directory (it makes
// the lab CA and the server key) and a later one that finds them.
// Options: --runs N (default 5), --settle-ms 3000 (wait after ready before reading RSS).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, writeConfig, zeroPorts } from '../support/lab-process.js';
import { arg, median, rssKb } from '../support/bench-util.js';

const RUNS = Number(arg('runs', '5'));
const SETTLE_MS = Number(arg('settle-ms', '3000'));
const READY_LIMIT_MS = 1000;
const RSS_LIMIT_MB = 80;

/** One start: ms from spawn to the ready line, and RSS once it has been idle SETTLE_MS. */
async function measure(dataDir: string): Promise<{ readyMs: number; rssMb: number }> {
  const config = writeConfig(dataDir, { listen: '127.0.0.1', dataDir, services: zeroPorts() });
  const t0 = performance.now();
  const proc = spawn(process.execPath, [CLI, 'start', '--config', config, '--log-level', 'warn'], { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 15 s:\n${out}\n${err}`)), 15_000);
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('labnet ready')) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
      void exited.then(() => reject(new Error(`labnet exited before ready:\n${out}\n${err}`)));
    });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const kb = rssKb(proc.pid!);
    if (kb === 0) throw new Error(`no VmRSS for ${proc.pid}`);
    return { readyMs, rssMb: kb / 1024 };
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  const rows: Array<{ kind: string; ready: number[]; rss: number[] }> = [
    { kind: 'first start (makes CA and key)', ready: [], rss: [] },
    { kind: 'later start (reuses them)', ready: [], rss: [] },
  ];
  for (let run = 0; run < RUNS; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'labnet-bench-startup-'));
    try {
      for (const row of rows) {
        const r = await measure(dir);
        row.ready.push(r.readyMs);
        row.rss.push(r.rssMb);
        console.log(`  run ${run + 1} ${row.kind}: ready in ${r.readyMs.toFixed(0)} ms, idle RSS ${r.rssMb.toFixed(1)} MB`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\n${RUNS} runs each; idle RSS read ${SETTLE_MS} ms after ready`);
  console.log('start                              ready median / max (target < 1000 ms)   idle RSS median / max (target < 80 MB)');
  for (const row of rows) {
    const readyMax = Math.max(...row.ready);
    const rssMax = Math.max(...row.rss);
    console.log(
      `${row.kind.padEnd(34)} ${median(row.ready).toFixed(0).padStart(6)} / ${readyMax.toFixed(0).padStart(4)} ms ${(readyMax < READY_LIMIT_MS ? 'ok' : 'MISSED').padStart(8)}` +
        `                  ${median(row.rss).toFixed(1).padStart(5)} / ${rssMax.toFixed(1)} MB ${(rssMax < RSS_LIMIT_MB ? 'ok' : 'MISSED').padStart(7)}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

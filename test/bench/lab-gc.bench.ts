// What the live lab's kept history costs V8's garbage collector under HTTP load (issue 13): labnet
// builds side by side (this one; `--before DIR`, a built worktree of an older commit; the pre-lab
// baseline in /work/baseline; this build with the lab off), each with --trace-gc on, each loaded by
// wrk (13-byte keep-alive GET) until the lab's history is full (--fill, default 30 s: the recording
// budget lets 1,000 lines a second in after a burst of 5,000, the transcripts hold 50 x 2,000 and the
// window 20,000; 30 s may not fill them all), then
// measured (--measure, default 20 s, --runs N, order rotated): scavenges a second, their mean and
// total pause time, mark-compact time, and CPU microseconds per request (from /proc: steadier than
// requests/s on a shared machine). Options: --before DIR|none, --baseline DIR|none, --runs 2,
// --fill 30s, --measure 20s, --connections 50.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { arg, median } from '../support/bench-util.js';

const RUNS = Number(arg('runs', '2'));
const FILL = arg('fill', '30s');
const MEASURE = arg('measure', '20s');
const CONNECTIONS = arg('connections', '50');
const BEFORE = arg('before', 'none');
const BASELINE = arg('baseline', existsSync('/work/baseline/build/labnet.js') ? '/work/baseline' : 'none');
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function cpuMicros(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function wrk(url: string, duration: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${duration}`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', () => {
      const m = /(\d+) requests in/.exec(out);
      if (!m) reject(new Error(`wrk output without a request count:\n${out}`));
      else resolve(Number(m[1]));
    });
  });
}

/** --trace-gc lines in `text`: scavenges and their pause ms, mark-compact (and minor mark-sweep) ms. */
function gcOf(text: string): { scavenges: number; scavengeMs: number; markMs: number; marks: number } {
  let scavenges = 0;
  let scavengeMs = 0;
  let markMs = 0;
  let marks = 0;
  for (const line of text.split('\n')) {
    const m = /ms: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep|Minor Mark-Compact)\b.*?MB, ([\d.]+) \/ ([\d.]+) ms/.exec(line);
    if (!m) continue;
    if (m[1] === 'Scavenge' || m[1].startsWith('Minor')) {
      scavenges++;
      scavengeMs += Number(m[2]);
    } else {
      marks++;
      markMs += Number(m[2]);
    }
  }
  return { scavenges, scavengeMs, markMs, marks };
}

interface Server {
  name: string;
  lab: LabProcess;
  port: number;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'labnet-gc-'));
  writeFileSync(join(root, 'hello.txt'), 'Hello, world\n');
  // --trace-gc is not allowed in NODE_OPTIONS: a preloaded script turns it on.
  const preload = join(root, 'trace-gc.cjs');
  writeFileSync(preload, "require('node:v8').setFlagsFromString('--trace-gc');\n");
  const env = { NODE_OPTIONS: `--require ${preload}` };
  const http = (extra: Record<string, unknown> = {}) => ({ services: { http: { documentRoot: root, transport: 'raw', https: false } }, ...extra });
  const servers: Server[] = [];
  const portOf = (lab: LabProcess): number => lab.port('http');
  try {
    const now = await startLabProcess({ only: ['http'], config: http(), env });
    servers.push({ name: 'this build', lab: now, port: portOf(now) });
    for (const [name, dir] of [
      ['before', BEFORE],
      ['baseline', BASELINE],
    ] as const) {
      if (dir === 'none') continue;
      const older = (await import(join(dir, 'build', 'test', 'support', 'lab-process.js'))) as { startLabProcess: typeof startLabProcess };
      const lab = await older.startLabProcess({
        only: ['http'],
        config: { services: { http: name === 'baseline' ? { documentRoot: root } : { documentRoot: root, https: false } } },
        env,
      });
      servers.push({ name, lab, port: portOf(lab) });
    }
    const off = await startLabProcess({ only: ['http'], config: http({ lab: { enabled: false } }), env });
    servers.push({ name: 'this, lab off', lab: off, port: portOf(off) });
    console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
    for (const s of servers) await wrk(`http://127.0.0.1:${s.port}/hello.txt`, FILL);
    const rows = new Map<string, Array<{ cpu: number; perSec: number; meanMs: number; msPerSec: number; markMsPerSec: number; rps: number }>>();
    const secs = Number(MEASURE.replace(/s$/, ''));
    for (let run = 0; run < RUNS; run++) {
      const order = servers.map((_, i) => servers[(i + run) % servers.length]);
      for (const s of order) {
        const outMark = s.lab.stdout().length;
        const errMark = s.lab.stderr().length;
        const c0 = cpuMicros(s.lab.proc.pid!);
        const requests = await wrk(`http://127.0.0.1:${s.port}/hello.txt`, MEASURE);
        const cpu = (cpuMicros(s.lab.proc.pid!) - c0) / requests;
        const g = gcOf(s.lab.stdout().slice(outMark) + s.lab.stderr().slice(errMark));
        const r = {
          cpu,
          rps: requests / secs,
          perSec: g.scavenges / secs,
          meanMs: g.scavenges > 0 ? g.scavengeMs / g.scavenges : 0,
          msPerSec: g.scavengeMs / secs,
          markMsPerSec: g.markMs / secs,
        };
        rows.set(s.name, [...(rows.get(s.name) ?? []), r]);
        console.log(
          `  run ${run + 1} ${s.name}: ${r.rps.toFixed(0)} req/s, ${cpu.toFixed(1)} µs CPU/req, ${r.perSec.toFixed(1)} scavenges/s of ${r.meanMs.toFixed(2)} ms (${r.msPerSec.toFixed(1)} ms/s), mark-compact ${r.markMsPerSec.toFixed(1)} ms/s`,
        );
      }
    }
    console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
    console.log(
      `\nmedians (${RUNS} runs of ${MEASURE}, after ${FILL} of fill)\nserver            req/s   CPU µs/req  scavenges/s  mean ms  scavenge ms/s  mark ms/s`,
    );
    for (const [name, rs] of rows) {
      const m = (f: (x: (typeof rs)[number]) => number): number => median(rs.map(f));
      console.log(
        `${name.padEnd(16)} ${m((x) => x.rps)
          .toFixed(0)
          .padStart(6)}   ${m((x) => x.cpu)
          .toFixed(1)
          .padStart(9)}  ${m((x) => x.perSec)
          .toFixed(1)
          .padStart(11)}  ${m((x) => x.meanMs)
          .toFixed(2)
          .padStart(7)}  ${m((x) => x.msPerSec)
          .toFixed(1)
          .padStart(13)}  ${m((x) => x.markMsPerSec)
          .toFixed(1)
          .padStart(9)}`,
      );
    }
  } finally {
    for (const s of servers) {
      await s.lab.stop();
      s.lab.cleanup();
    }
    rmSync(root, { recursive: true, force: true });
  }
}

await main();

// The hostile suite's helpers: attacks run against the real process (build/labnet.js) from
// 127.0.0.1, while a watcher on another loopback address (127.0.0.2) keeps a session open and measures
// how long each of its commands waits for an answer.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { LineClient } from '../support/line-client.js';

export const ATTACKER = '127.0.0.1';
export const WATCHER = '127.0.0.2';

/** A line client from a chosen local address (the watcher's 127.0.0.2). */
export function connectFrom(port: number, localAddress: string): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new LineClient(s)));
    s.once('error', reject);
  });
}

/** Resident memory of a process in kB (VmRSS). */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * A second client from 127.0.0.2 on an SMTP port: NOOP every `everyMs`, the longest wait for an answer
 * recorded, until stopped. It must never wait long while an attack runs.
 */
export class Watcher {
  maxLatencyMs = 0;
  answers = 0;
  failures: string[] = [];
  private running = true;
  private loop: Promise<void> = Promise.resolve();

  private constructor(private readonly client: LineClient) {}

  static async smtp(port: number, everyMs = 200): Promise<Watcher> {
    const c = await connectFrom(port, WATCHER);
    const greeting = await c.line();
    if (!greeting?.startsWith('220')) throw new Error(`watcher greeting: ${greeting}`);
    const w = new Watcher(c);
    w.loop = w.run('NOOP', '250', everyMs);
    return w;
  }

  private async run(command: string, expect: string, everyMs: number): Promise<void> {
    while (this.running) {
      const t0 = performance.now();
      this.client.write(`${command}\r\n`);
      let line: string | null;
      try {
        line = await this.client.line(30_000);
      } catch (err) {
        this.failures.push(String(err));
        return;
      }
      const ms = performance.now() - t0;
      this.maxLatencyMs = Math.max(this.maxLatencyMs, ms);
      if (line?.startsWith(expect) !== true) {
        this.failures.push(`unexpected: ${line}`);
        return;
      }
      this.answers++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.client.end();
  }
}

/** Connections the kernel holds for listening ports on 127.0.0.1 that the process has not accepted yet. */
function acceptQueue(ports: readonly number[]): number {
  let n = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[3] !== '0A') continue;
    const port = Number.parseInt(f[1].split(':')[1], 16);
    if (ports.includes(port)) n += Number.parseInt(f[4].split(':')[1], 16);
  }
  return n;
}

/**
 * Waits until the process has accepted every connection queued on `ports` (a connect completes in the
 * kernel before the process sees it, and listeners are served in no fixed order).
 */
export async function acceptedAll(ports: readonly number[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (acceptQueue(ports) > 0) {
    if (Date.now() > deadline) throw new Error(`connections still queued on ${ports.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The watcher's loop as a script of its own (no project imports), for `Watcher.smtpProcess`. */
const WATCHER_SCRIPT = `
const net = require('node:net');
const [port, from, everyMs] = process.argv.slice(1).map((v, i) => (i === 1 ? v : Number(v)));
let buf = '', max = 0, answers = 0, failures = [], waiting, running = true;
const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
s.setEncoding('latin1');
s.on('data', (d) => { buf += d; const i = buf.indexOf('\\n'); if (i >= 0 && waiting) { const line = buf.slice(0, i); buf = buf.slice(i + 1); const w = waiting; waiting = undefined; w(line); } });
s.on('error', (e) => failures.push(String(e)));
const next = () => new Promise((r) => { const i = buf.indexOf('\\n'); if (i >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); r(l); } else waiting = r; });
process.stdin.on('data', () => { running = false; });
(async () => {
  const greeting = await next();
  if (!greeting.startsWith('220')) failures.push('greeting ' + greeting);
  process.stdout.write('ready\\n');
  while (running) {
    const t0 = performance.now();
    s.write('NOOP\\r\\n');
    const l = await next();
    max = Math.max(max, performance.now() - t0);
    if (!l.startsWith('250')) { failures.push('unexpected ' + l); break; }
    answers++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  s.end();
  process.stdout.write(JSON.stringify({ maxLatencyMs: max, answers, failures }) + '\\n', () => process.exit(0));
})();
`;

/**
 * The watcher in a process of its own: what it measures is the server's answer time, not the test
 * process's own work (it may be busy sending the attack).
 */
export async function watcherProcess(port: number, everyMs = 200): Promise<{ stop(): Promise<{ maxLatencyMs: number; answers: number; failures: string[] }> }> {
  const child = spawn(process.execPath, ['-e', WATCHER_SCRIPT, String(port), WATCHER, String(everyMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  // Its "ready" line, or its exit, or 15 s: whichever comes first.
  await new Promise<void>((resolve, reject) => {
    const fail = (): void => {
      cleanup();
      reject(new Error(`watcher did not start: ${out}`));
    };
    const timer = setTimeout(fail, 15_000);
    const onData = (): void => {
      if (!out.includes('ready\n')) return;
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', fail);
    };
    child.stdout.on('data', onData);
    child.once('exit', fail);
    onData();
  });
  return {
    async stop() {
      child.stdin.write('stop\n');
      await new Promise((r) => child.once('exit', r));
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line
        ? (JSON.parse(line) as { maxLatencyMs: number; answers: number; failures: string[] })
        : { maxLatencyMs: Infinity, answers: 0, failures: [out] };
    },
  };
}

// `make bench BENCH=lab`: what the live lab costs the services. The real `labnet start` process (HTTP,
// SMTP, IMAP) is driven three ways, interleaved round by round:
//   off     lab.enabled: false (nothing records the dialogue)
//   0       the lab records every session, nobody watches
//   20      the same with 20 browser event streams (SSE clients, logged in as an instructor, so they
//           follow everything) reading in a separate process
// and measured: SMTP with Postfix's smtp-source (-s 20 -m M -l 4096) in messages/s, IMAP with 10
// sessions of raw commands (UID FETCH of flags, FETCH of envelopes, NOOP) in commands/s. The target
// (issue 15): with 20 streams each throughput within 10% of the run with none. Printed too: the hub's
// own time per item written to one stream (its fan-out cost), and the CPU the 20 streams added per
// event, read from /proc.
// The lab records under its default recording budget (lab.history.linesPerSecond, 5,000 lines a second)
// unless --lines-per-second says otherwise; --lines-per-second 0 records and streams every line, the
// whole cost of following everything at full speed.
// Options: --runs N (default 3), --messages M (default 1500), --imap-commands C per session (default
// 1500), --lines-per-second L (default: the config's default).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { arg, median } from '../support/bench-util.js';

const RUNS = Number(arg('runs', '3'));
const MESSAGES = Number(arg('messages', '1500'));
const IMAP_COMMANDS = Number(arg('imap-commands', '1500'));
const STREAMS = 20;
const LINES_PER_SECOND = arg('lines-per-second', '');
const SMTP_SOURCE = '/usr/sbin/smtp-source';
const USERS = [
  { name: 'alice', password: 'alice-pw' },
  { name: 'teach', password: 'teach-pw' },
];

/** The 20 followers, in their own process so their reading does not compete inside the driver. */
const FOLLOWERS = `
const http = require('node:http');
const [port, cookie, n] = process.argv.slice(1);
let bytes = 0, events = 0, open = 0;
for (let i = 0; i < Number(n); i++) {
  http.get({ host: '127.0.0.1', port: Number(port), path: '/lab/events', headers: { Cookie: cookie, Accept: 'text/event-stream' }, agent: false }, (res) => {
    open++;
    if (open === Number(n)) process.stdout.write('ready\\n');
    res.on('data', (d) => { bytes += d.length; for (let k = d.indexOf(10); k >= 0; k = d.indexOf(10, k + 1)) if (d[k + 1] === 10) events++; });
  });
}
process.on('SIGTERM', () => { process.stdout.write(JSON.stringify({ bytes, events }) + '\\n'); process.exit(0); });
`;

function cpuMs(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function loginCookie(port: number, user: string, password: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/lab/login`, {
    method: 'POST',
    body: `user=${user}&password=${password}`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: `http://127.0.0.1:${port}` },
    redirect: 'manual',
  });
  const set = res.headers.get('set-cookie');
  if (res.status !== 303 || !set) throw new Error(`login failed: ${res.status}`);
  return set.split(';')[0];
}

async function startFollowers(port: number, cookie: string): Promise<{ stop(): Promise<{ bytes: number; events: number }> }> {
  const proc: ChildProcess = spawn(process.execPath, ['-e', FOLLOWERS, String(port), cookie, String(STREAMS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!out.includes('ready')) {
    if (Date.now() > deadline) throw new Error('the followers did not connect');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    async stop() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { bytes: number; events: number }) : { bytes: 0, events: 0 };
    },
  };
}

function smtpSource(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(SMTP_SOURCE, ['-s', '20', '-m', String(MESSAGES), '-l', '4096', '-f', 'bench@lab.test', '-t', 'alice@lab.test', `127.0.0.1:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 300_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`smtp-source exited ${code}: ${out.slice(0, 1000)}`));
      else resolve(MESSAGES / ((performance.now() - t0) / 1000));
    });
  });
}

/** One IMAP session: LOGIN, SELECT, then `commands` commands one after another. */
async function imapSession(port: number, commands: number): Promise<void> {
  const s: Socket = connect(port, '127.0.0.1');
  s.setEncoding('latin1');
  let buf = '';
  let waiting: { tag: string; resolve: () => void; reject: (e: Error) => void } | undefined;
  s.on('data', (d: string) => {
    buf += d;
    if (!waiting) return;
    const i = buf.indexOf(`\r\n${waiting.tag} `);
    const j = buf.startsWith(`${waiting.tag} `) ? 0 : i >= 0 ? i + 2 : -1;
    if (j < 0) return;
    const end = buf.indexOf('\r\n', j);
    if (end < 0) return;
    const line = buf.slice(j, end);
    buf = buf.slice(end + 2);
    const w = waiting;
    waiting = undefined;
    if (/^\S+ OK/.test(line)) w.resolve();
    else w.reject(new Error(`IMAP: ${line}`));
  });
  await new Promise<void>((r, j) => {
    s.once('connect', () => r());
    s.once('error', j);
  });
  let n = 0;
  const run = (cmd: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const tag = `t${++n}`;
      waiting = { tag, resolve, reject };
      s.write(`${tag} ${cmd}\r\n`);
    });
  await run(`LOGIN alice ${USERS[0].password}`);
  await run('SELECT INBOX');
  const mix = ['UID FETCH 1:50 (FLAGS UID)', 'FETCH 1:5 (ENVELOPE)', 'NOOP'];
  for (let i = 0; i < commands; i++) await run(mix[i % mix.length]);
  await run('LOGOUT').catch(() => {});
  s.destroy();
}

async function imapRun(port: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 10 }, () => imapSession(port, IMAP_COMMANDS)));
  return (10 * IMAP_COMMANDS) / ((performance.now() - t0) / 1000);
}

interface Stats {
  recorded: number;
  thinned: number;
  fannedOut: number;
  fanoutNs: number;
  flushedItems: number;
  gaps: number;
  missedEvents: number;
}

async function stats(port: number, cookie: string): Promise<Stats> {
  const r = await fetch(`http://127.0.0.1:${port}/lab/api/stats`, { headers: { Cookie: cookie } });
  return (await r.json()) as Stats;
}

function startLab(enabled: boolean): Promise<LabProcess> {
  return startLabProcess({
    only: ['http', 'smtp', 'imap'],
    config: {
      users: USERS,
      instructors: ['teach'],
      lab: { enabled, ...(LINES_PER_SECOND !== '' ? { history: { linesPerSecond: Number(LINES_PER_SECOND) } } : {}) },
      limits: { maxConnectionsPerAddress: 1000 },
      services: { http: { port: 0, httpsPort: 0 }, smtp: { port: 0, submissionPort: 0, smtpsPort: 0 }, imap: { port: 0, imapsPort: 0 } },
    },
    timeoutMs: 30_000,
  });
}

async function main(): Promise<void> {
  const on = await startLab(true);
  const off = await startLab(false);
  try {
    const http = on.port('http');
    const cookie = await loginCookie(http, 'teach', USERS[1].password);
    // Messages for IMAP to fetch, in both labs.
    await smtpSource(on.port('smtp'));
    await smtpSource(off.port('smtp'));
    type Mode = 'off' | '0' | '20';
    const results: Record<Mode, { smtp: number[]; imap: number[]; smtpCpu: number[]; imapCpu: number[] }> = {
      off: { smtp: [], imap: [], smtpCpu: [], imapCpu: [] },
      '0': { smtp: [], imap: [], smtpCpu: [], imapCpu: [] },
      '20': { smtp: [], imap: [], smtpCpu: [], imapCpu: [] },
    };
    const costs: number[] = [];
    const events: number[] = [];
    /** Runs SMTP then IMAP against one lab, recording throughput and the lab process's CPU per unit. */
    const measure = async (mode: Mode, lab: LabProcess): Promise<void> => {
      const pid = lab.proc.pid!;
      let c0 = cpuMs(pid);
      results[mode].smtp.push(await smtpSource(lab.port('smtp')));
      results[mode].smtpCpu.push((cpuMs(pid) - c0) / MESSAGES);
      c0 = cpuMs(pid);
      results[mode].imap.push(await imapRun(lab.port('imap')));
      results[mode].imapCpu.push(((cpuMs(pid) - c0) * 1000) / (10 * IMAP_COMMANDS));
    };
    for (let round = 0; round < RUNS; round++) {
      await measure('off', off);
      await measure('0', on);
      const followers = await startFollowers(http, cookie);
      const before = await stats(http, cookie);
      await measure('20', on);
      const after = await stats(http, cookie);
      const got = await followers.stop();
      const fanned = after.fannedOut - before.fannedOut;
      costs.push((after.fanoutNs - before.fanoutNs) / Math.max(1, fanned));
      events.push(after.recorded - before.recorded);
      const r = (mode: Mode): string => `${results[mode].smtp.at(-1)!.toFixed(0)}/${results[mode].imap.at(-1)!.toFixed(0)}`;
      console.log(
        `   round ${round + 1}: SMTP msg/s / IMAP cmd/s: off ${r('off')}, no stream ${r('0')}, ${STREAMS} streams ${r('20')}; ` +
          `${after.recorded - before.recorded} events (${after.thinned - before.thinned} not recorded, over the budget), ${fanned} items written to streams, followers read ${(got.bytes / 1e6).toFixed(1)} MB in ${got.events} events, ` +
          `gaps ${after.gaps - before.gaps}, missed ${after.missedEvents}`,
      );
    }
    const m = (xs: number[]): number => median(xs);
    console.log('\n   lab                   SMTP msg/s  CPU ms/msg   IMAP cmd/s  CPU us/cmd');
    for (const k of ['off', '0', '20'] as const) {
      const label = k === 'off' ? 'off (not recording)' : k === '0' ? 'on, no stream' : `on, ${STREAMS} streams`;
      const x = results[k];
      console.log(
        `   ${label.padEnd(20)} ${m(x.smtp).toFixed(0).padStart(10)}  ${m(x.smtpCpu).toFixed(2).padStart(10)}   ${m(x.imap).toFixed(0).padStart(10)}  ${m(x.imapCpu).toFixed(0).padStart(10)}`,
      );
    }
    const smtpRatio = m(results['20'].smtp) / m(results['0'].smtp);
    const imapRatio = m(results['20'].imap) / m(results['0'].imap);
    console.log(
      `\n   with ${STREAMS} streams / none: SMTP ${smtpRatio.toFixed(3)}x, IMAP ${imapRatio.toFixed(3)}x (target >= 0.90: ${smtpRatio >= 0.9 && imapRatio >= 0.9 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `   recording (no stream) / lab off: SMTP ${(m(results['0'].smtp) / m(results.off.smtp)).toFixed(3)}x, IMAP ${(m(results['0'].imap) / m(results.off.imap)).toFixed(3)}x`,
    );
    const perEvent20 = (m(results['20'].imapCpu) - m(results['0'].imapCpu)) / 1;
    console.log(
      `   fan-out cost per item written to one stream (hub time, median of rounds): ${(m(costs) / 1000).toFixed(2)} us; ${m(events)} events per round`,
    );
    console.log(`   CPU the ${STREAMS} streams added per IMAP command (from /proc, noisy): ${perEvent20.toFixed(0)} us`);
    console.log('   (figures from a shared machine are noisy; compare ratios from one run)');
  } finally {
    await on.stop();
    await off.stop();
    on.cleanup();
    off.cleanup();
  }
}

await main();

// `make bench BENCH=lab`: what the live lab costs the services. The real `labnet start` process (HTTP,
// SMTP, IMAP) is driven three ways, interleaved round by round:
//   off     lab.enabled: false (nothing records the dialogue)
//   0       the lab records every session, nobody watches
//   20      the same with 20 browser event streams (SSE clients, logged in as an instructor, so they
//           follow everything) read by lab-followers.ts in a process of its own at nice 19 (they stand
//           for 20 browsers on 20 other machines; on a 2-core box they would otherwise take the CPU
//           labnet and smtp-source need), in a session and scheduling group of their own (see
//           startFollowers). They still frame every event, decode every distinct batch, count every
//           line and check the event numbers; lines missing, gap markers and streams left behind are
//           printed.
// and measured: SMTP with Postfix's smtp-source (-s 20 -m M -l 4096) in messages/s, IMAP with 10
// sessions of raw commands (UID FETCH of flags, FETCH of envelopes, NOOP) in commands/s. The target
// (issue 15): with 20 streams each throughput within 10% of the run with none. Printed too: labnet's
// CPU per message and per command (from /proc) with and without streams, the hub's own CPU per item
// written to one stream (its fan-out cost), the octets each follower read per SMTP message, and the
// followers' CPU per message and per line.
// The lab records under its default recording budget (lab.history.linesPerSecond, 1,000 lines a second
// after a burst of lab.history.burstLines, 5,000)
// unless --lines-per-second says otherwise; --lines-per-second 0 records and streams every line, the
// whole cost of following everything at full speed.
// Options: --runs N (default 3), --messages M (default 1500), --imap-commands C per session (default
// 1500), --lines-per-second L (default: the config's default), --follower-nice N (default 19, for the
// followers and their scheduling group; 0 runs them at labnet's priority), --follower-cpu C (cap the followers at C cores in a
// cgroup of their own, as root where the cgroup CPU controller is writable; default: no cap; they may
// then fall behind, which the gap and loss counts show).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { arg, median } from '../support/bench-util.js';

const RUNS = Number(arg('runs', '3'));
const MESSAGES = Number(arg('messages', '1500'));
const IMAP_COMMANDS = Number(arg('imap-commands', '1500'));
const STREAMS = 20;
const LINES_PER_SECOND = arg('lines-per-second', '');
/** The followers' CPU priority (nice value; 0: the same as labnet's). */
const FOLLOWER_NICE = Number(arg('follower-nice', '19'));
/** A CPU cap for the followers in cores (a cgroup of their own, where this machine lets us make one); 0: none. */
const FOLLOWER_CPU = Number(arg('follower-cpu', '0'));

/**
 * Puts a process in a CPU-capped cgroup of its own (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us);
 * returns the cgroup's directory to remove afterwards, or why it could not.
 */
function capCpu(pid: number, cores: number): { dir: string } | { error: string } {
  const period = 100_000;
  const quota = Math.max(1000, Math.round(cores * period));
  const tries = [
    { root: '/sys/fs/cgroup', probe: 'cgroup.subtree_control', set: (d: string) => writeFileSync(join(d, 'cpu.max'), `${quota} ${period}`) },
    {
      root: '/sys/fs/cgroup/cpu',
      probe: 'cpu.cfs_quota_us',
      set: (d: string) => {
        writeFileSync(join(d, 'cpu.cfs_period_us'), String(period));
        writeFileSync(join(d, 'cpu.cfs_quota_us'), String(quota));
      },
    },
  ];
  const errors: string[] = [];
  for (const t of tries) {
    if (!existsSync(join(t.root, t.probe))) continue;
    const dir = join(t.root, `labnet-lab-bench-${process.pid}`);
    try {
      mkdirSync(dir);
      t.set(dir);
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      return { dir };
    } catch (err) {
      errors.push(`${dir}: ${(err as Error).message}`);
      try {
        rmdirSync(dir);
      } catch {
        // not made, or not empty: nothing more to do
      }
    }
  }
  return { error: errors.length > 0 ? errors.join('; ') : 'no cgroup CPU controller here' };
}
/**
 * Sets the nice value of a process's autogroup (/proc/PID/autogroup, Linux with CONFIG_SCHED_AUTOGROUP);
 * returns why not when it cannot (no autogroups here: then nice alone applies, as before).
 */
function autogroupNice(pid: number, nice: number): string | undefined {
  const path = `/proc/${pid}/autogroup`;
  try {
    if (!existsSync(path) || readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() !== '1') return undefined;
    writeFileSync(path, String(nice));
    return undefined;
  } catch (err) {
    return `not set (${(err as Error).message}): nice ${nice} inside it only`;
  }
}
const SMTP_SOURCE = '/usr/sbin/smtp-source';
const USERS = [
  { name: 'alice', password: 'alice-pw' },
  { name: 'teach', password: 'teach-pw' },
];

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

interface FollowerReport {
  bytes: number;
  events: number;
  lines: number;
  gaps: number;
  gapEvents: number;
  disorder: number;
  cpuMs: number;
  /** Batches decoded (a batch byte-identical to one decoded for another stream is not decoded again). */
  decodes: number;
  /** Each stream's lines in the window asked about (`until`). */
  inWindow?: number[];
  behind?: number;
}

interface Followers {
  pid: number;
  ask(cmd: string): Promise<FollowerReport>;
  stop(): Promise<void>;
}

/** The followers (lab-followers.ts) in their own process, at nice FOLLOWER_NICE. */
async function startFollowers(port: number, cookie: string): Promise<Followers> {
  const script = join(import.meta.dirname, 'lab-followers.js');
  // A session of their own (detached: setsid), so with the kernel's autogroup scheduling (Linux
  // sched_autogroup_enabled, on by default on desktops and many servers) their CPU is not charged to the
  // group labnet and smtp-source run in: nice alone ranks tasks only inside one group, and on a busy
  // machine every millisecond the followers took came out of labnet's share. Their group gets the same
  // nice (below). They still exit when this process closes their stdin or dies.
  const proc: ChildProcess = spawn('nice', ['-n', String(FOLLOWER_NICE), process.execPath, script, String(port), cookie, String(STREAMS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  const groupNice = autogroupNice(proc.pid!, FOLLOWER_NICE);
  if (groupNice !== undefined) console.log(`   (followers' scheduling group: ${groupNice})`);
  let out = '';
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      lines.push(out.slice(0, nl));
      out = out.slice(nl + 1);
    }
    if (lines.length > 0) waiter?.();
  });
  proc.once('exit', () => waiter?.());
  // The next line the followers print; woken by their output or their exit, with a 90 s bound.
  const next = async (): Promise<string> => {
    if (lines.length === 0 && proc.exitCode === null) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        waiter = r;
        timer = setTimeout(r, 90_000);
      });
      waiter = undefined;
      clearTimeout(timer);
    }
    if (lines.length === 0) throw new Error('the followers did not answer');
    return lines.shift()!;
  };
  let cgroup: string | undefined;
  if (FOLLOWER_CPU > 0) {
    const capped = capCpu(proc.pid!, FOLLOWER_CPU);
    if ('dir' in capped) cgroup = capped.dir;
    else console.log(`   (no CPU cap for the followers: ${capped.error}; nice ${FOLLOWER_NICE} only)`);
  }
  if ((await next()) !== 'ready') throw new Error('the followers did not connect');
  return {
    pid: proc.pid!,
    async ask(cmd) {
      const answer = next();
      proc.stdin!.write(`${cmd}\n`);
      return JSON.parse(await answer) as FollowerReport;
    },
    async stop() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.stdin!.end();
      await exited;
      if (cgroup) rmdirSync(cgroup);
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
    p.on('close', (code) => {
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
  caughtUp: number;
  catchUpNs: number;
  gaps: number;
  missedEvents: number;
  seq: number;
  lines: number;
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
      // Every round delivers MESSAGES more to one user: past a few runs that is the default quota.
      mailStore: { quota: { maxMessages: 0, maxBytes: 0 } },
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
    /** Items written to streams by catch-ups (a stream that fell behind, from the history) and their CPU. */
    let caughtUp = 0;
    let catchUpNs = 0;
    const bytesPerMessage: number[] = [];
    const followerCpuPerMessage: number[] = [];
    const followerCpuPerLine: number[] = [];
    /** Items written to streams per SMTP message (an item to 20 streams counts 20). */
    const fannedPerMessage: number[] = [];
    let lost = 0;
    let gaps = 0;
    let gapEvents = 0;
    let disorder = 0;
    /** Runs SMTP then IMAP against one lab, recording throughput and the lab process's CPU per unit. */
    const measure = async (mode: Mode, lab: LabProcess, between?: () => Promise<void>): Promise<void> => {
      const pid = lab.proc.pid!;
      let c0 = cpuMs(pid);
      results[mode].smtp.push(await smtpSource(lab.port('smtp')));
      results[mode].smtpCpu.push((cpuMs(pid) - c0) / MESSAGES);
      await between?.();
      c0 = cpuMs(pid);
      results[mode].imap.push(await imapRun(lab.port('imap')));
      results[mode].imapCpu.push(((cpuMs(pid) - c0) * 1000) / (10 * IMAP_COMMANDS));
    };
    for (let round = 0; round < RUNS; round++) {
      // The three variants alternate within each round (the machine's load drifts; medians over rounds),
      // streams before or after none in turn, so a drift does not always favour the same one.
      await measure('off', off);
      if (round % 2 === 0) await measure('0', on);
      const followers = await startFollowers(http, cookie);
      const before = await stats(http, cookie);
      const r0 = await followers.ask('report');
      let smtpBytes = 0;
      let smtpCpu = 0;
      await measure('20', on, async () => {
        // What the SMTP part cost the followers (they may still be reading: counted where they are).
        const r1 = await followers.ask('report');
        smtpBytes = r1.bytes - r0.bytes;
        smtpCpu = r1.cpuMs - r0.cpuMs;
        fannedPerMessage.push(((await stats(http, cookie)).fannedOut - before.fannedOut) / MESSAGES);
      });
      const after = await stats(http, cookie);
      const got = await followers.ask(`until ${before.seq} ${after.seq}`);
      await followers.stop();
      const fanned = after.fannedOut - before.fannedOut;
      costs.push((after.fanoutNs - before.fanoutNs) / Math.max(1, fanned));
      const roundCaughtUp = (after.caughtUp ?? 0) - (before.caughtUp ?? 0);
      caughtUp += roundCaughtUp;
      catchUpNs += (after.catchUpNs ?? 0) - (before.catchUpNs ?? 0);
      bytesPerMessage.push(smtpBytes / STREAMS / MESSAGES);
      followerCpuPerMessage.push(smtpCpu / MESSAGES);
      // Lines the hub recorded while the followers followed, against what each stream counted.
      const hubLines = after.lines - before.lines;
      const short = (got.inWindow ?? []).reduce((a, n) => a + Math.max(0, hubLines - n), 0);
      lost += short;
      gaps += got.gaps - r0.gaps;
      gapEvents += got.gapEvents - r0.gapEvents;
      disorder += got.disorder;
      const linesRead = got.lines - r0.lines;
      followerCpuPerLine.push(((got.cpuMs - r0.cpuMs) * 1000) / Math.max(1, linesRead));
      if (round % 2 === 1) await measure('0', on);
      const r = (mode: Mode): string => `${results[mode].smtp.at(-1)!.toFixed(0)}/${results[mode].imap.at(-1)!.toFixed(0)}`;
      console.log(
        `   round ${round + 1}: SMTP msg/s / IMAP cmd/s: off ${r('off')}, no stream ${r('0')}, ${STREAMS} streams ${r('20')}; ` +
          `${hubLines} lines (${after.thinned - before.thinned} not recorded, over the budget), ${fanned} items written to streams (${roundCaughtUp} of them caught up from the history), ` +
          `followers read ${((got.bytes - r0.bytes) / 1e6).toFixed(1)} MB in ${got.events - r0.events} events, ${linesRead} lines ` +
          `(${(got.inWindow ?? []).join('/')} per stream; ${got.decodes - r0.decodes} batches decoded), lines missing ${short}, gap markers ${got.gaps - r0.gaps}, ` +
          `hub gaps ${after.gaps - before.gaps}, ${got.behind ?? 0} streams still behind, missed ${after.missedEvents}`,
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
    console.log('   (CPU: the labnet process only, from /proc)');
    const smtpRatio = m(results['20'].smtp) / m(results['0'].smtp);
    const imapRatio = m(results['20'].imap) / m(results['0'].imap);
    console.log(
      `\n   with ${STREAMS} streams (followers at nice ${FOLLOWER_NICE}${FOLLOWER_CPU > 0 ? `, capped at ${FOLLOWER_CPU} cores` : ''}) / none: SMTP ${smtpRatio.toFixed(3)}x, IMAP ${imapRatio.toFixed(3)}x (target >= 0.90: ${smtpRatio >= 0.9 && imapRatio >= 0.9 ? 'met' : 'NOT met'})`,
    );
    // Each round measures none and 20 streams next to each other: the ratio within a round cancels the
    // machine's drift between rounds (which on a shared box is larger than the effect measured).
    const paired = (k: 'smtp' | 'imap' | 'smtpCpu' | 'imapCpu'): number[] => results['20'][k].map((x, i) => x / results['0'][k][i]);
    const show = (xs: number[]): string => `${m(xs).toFixed(3)}x (${xs.map((x) => x.toFixed(2)).join(' ')})`;
    console.log(`   the same as a median of each round's ratio: SMTP ${show(paired('smtp'))}, IMAP ${show(paired('imap'))}`);
    console.log(`   labnet CPU, median of each round's ratio: SMTP ${show(paired('smtpCpu'))} per message, IMAP ${show(paired('imapCpu'))} per command`);
    console.log(
      `   labnet CPU with ${STREAMS} streams / none: SMTP ${(m(results['20'].smtpCpu) / m(results['0'].smtpCpu)).toFixed(3)}x per message, IMAP ${(m(results['20'].imapCpu) / m(results['0'].imapCpu)).toFixed(3)}x per command`,
    );
    console.log(
      `   recording (no stream) / lab off: SMTP ${(m(results['0'].smtp) / m(results.off.smtp)).toFixed(3)}x, IMAP ${(m(results['0'].imap) / m(results.off.imap)).toFixed(3)}x`,
    );
    console.log(`   fan-out cost per item written to one stream (hub CPU in flushes, median of rounds): ${(m(costs) / 1000).toFixed(2)} us`);
    console.log(
      `   catch-ups (streams that fell behind, sent from the history): ${caughtUp} items written, ${(catchUpNs / 1e6).toFixed(0)} ms hub CPU${caughtUp > 0 ? `, ${(catchUpNs / 1000 / caughtUp).toFixed(2)} us per item` : ''}`,
    );
    // The whole process's difference (encoding, socket writes, the kernel's loopback sends, GC), per
    // item written to one stream: a difference of two noisy medians, so it can come out below zero.
    const extraMsPerMessage = m(results['20'].smtpCpu) - m(results['0'].smtpCpu);
    console.log(
      `   labnet CPU with ${STREAMS} streams minus none, per item written to one stream (SMTP, ${m(fannedPerMessage).toFixed(0)} items per message): ${((extraMsPerMessage * 1000) / Math.max(1, m(fannedPerMessage))).toFixed(2)} us`,
    );
    console.log(
      `   per follower: ${m(bytesPerMessage).toFixed(0)} octets per SMTP message; the followers' process: ${(m(followerCpuPerMessage) / STREAMS).toFixed(3)} ms CPU per SMTP message per follower, ${m(followerCpuPerLine).toFixed(2)} us per line per follower`,
    );
    console.log(
      `   loss over ${RUNS} rounds: ${lost} lines missing, ${gaps} gap markers (${gapEvents} events skipped), ${disorder} lines out of order or doubled${lost + gaps + disorder === 0 ? ' (none)' : ''}`,
    );
    console.log('   (figures from a shared machine are noisy; compare ratios from one run)');
  } finally {
    await on.stop();
    await off.stop();
    on.cleanup();
    off.cleanup();
  }
}

await main();

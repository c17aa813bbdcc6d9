// POP3 benchmark: log in, LIST, then RETR every one of 1,000 messages of about 4.3 KB in one session,
// labnet (the real `labnet start` process) against Dovecot's pop3 (a private instance on a loopback
// port: passwd-file auth, Maildir in a temp directory, the same messages). Both are driven by the
// same small Node client, one command at a time as ordinary clients do (and, as a second figure, with
// the RETRs pipelined). Prints medians, the ratio, and each server's CPU time per session.
// `--lab on` also runs HTTP in the labnet process, so the live lab records the POP3 sessions (the lab
// is served by HTTP and off without it): the lab's recording cost, against the default run.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { pop3Connect } from '../support/pop3-wire.js';
import { preDeliver } from '../pop3/helpers.js';
import { arg, freePort } from '../support/bench-util.js';

const MESSAGES = Number(process.env.POP3_BENCH_MESSAGES ?? 1000);
const RUNS = Number(process.env.POP3_BENCH_RUNS ?? 15);
const WARMUP = 3;
const LAB_ON = arg('lab', 'off') === 'on';
const USER = 'alice';
const PASSWORD = 'alice-lab';

function makeMessages(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 1; i <= n; i++) {
    const head =
      `Return-Path: <bob@lab.test>\r\nFrom: Bob <bob@lab.test>\r\nTo: Alice <alice@lab.test>\r\n` +
      `Subject: benchmark message ${i}\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <bench.${i}@lab.test>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
    let body = '';
    let line = 0;
    while (head.length + body.length < 4300) {
      // A dot line now and then, so dot-stuffing is exercised on both sides.
      body += line % 20 === 7 ? `.line ${line} of message ${i}\r\n` : `line ${line} of message ${i}: the quick brown fox jumps over the lazy dog\r\n`;
      line++;
    }
    out.push(Buffer.from(head + body, 'latin1'));
  }
  return out;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await pop3Connect(port);
      const greeting = await c.line();
      c.close();
      if (greeting.startsWith('+OK')) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`nothing answered on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Dovecot {
  port: number;
  proc: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

async function startDovecot(messages: readonly Buffer[]): Promise<Dovecot> {
  const dir = mkdtempSync(join(tmpdir(), 'pop3-bench-dovecot-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const root = process.getuid?.() === 0;
  // Dovecot never runs mail processes as root: as root use nobody, otherwise ourselves.
  const uid = root ? 65534 : process.getuid!();
  const gid = root ? 65534 : process.getgid!();
  const me = userInfo().username;
  const maildir = join(dir, 'mail', USER);
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, d), { recursive: true });
  const t0 = 1_764_000_000;
  const names = messages.map((m, i) => `${t0 + i}.M${i}P1.bench,S=${m.length}`);
  messages.forEach((m, i) => writeFileSync(join(maildir, 'new', names[i]), m));
  mkdirSync(join(dir, 'home', USER), { recursive: true });
  if (root) {
    for (const p of [join(dir, 'mail'), maildir, join(dir, 'home'), join(dir, 'home', USER)]) chownSync(p, uid, gid);
    for (const d of ['cur', 'new', 'tmp']) chownSync(join(maildir, d), uid, gid);
    for (const n of names) chownSync(join(maildir, 'new', n), uid, gid);
  }
  writeFileSync(join(dir, 'passwd'), `${USER}:{PLAIN}${PASSWORD}::::::\n`);
  const conf = [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `log_path = ${dir}/dovecot.log`,
    'protocols = pop3',
    'listen = 127.0.0.1',
    'ssl = no',
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain',
    `mail_location = maildir:${dir}/mail/%u`,
    'first_valid_uid = 1',
    ...(root ? [] : [`default_login_user = ${me}`, `default_internal_user = ${me}`]),
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN username_format=%n ${dir}/passwd`,
    '}',
    'userdb {',
    '  driver = static',
    `  args = uid=${uid} gid=${gid} home=${dir}/home/%u`,
    '}',
    'service pop3-login {',
    '  inet_listener pop3 {',
    '    address = 127.0.0.1',
    `    port = ${port}`,
    '  }',
    '}',
    'service anvil {',
    '  chroot =',
    '}',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'dovecot.conf'), conf);
  const proc = spawn('dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await waitForPort(port, 15_000);
  } catch (e) {
    proc.kill('SIGKILL');
    let log = '';
    try {
      log = readFileSync(join(dir, 'dovecot.log'), 'utf8');
    } catch {
      // no log
    }
    throw new Error(`dovecot did not start: ${(e as Error).message}\n${err}\n${log}`, { cause: e });
  }
  return {
    port,
    proc,
    dir,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Timing {
  totalMs: number;
  listMs: number;
  octets: number;
  /** CPU the server used for the session (all its processes, Linux /proc), ms; NaN elsewhere. */
  cpuMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function procStat(pid: number): { ppid: number; cpuTicks: number } | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime stime cutime cstime: reaped children (Dovecot's per-session pop3 process) count too.
    return { ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

/** CPU time of a process and all its descendants, in ms. */
function treeCpuMs(root: number): number {
  let children: Map<number, number[]>;
  try {
    children = new Map();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const st = procStat(Number(d));
      if (!st) continue;
      const list = children.get(st.ppid) ?? [];
      list.push(Number(d));
      children.set(st.ppid, list);
    }
  } catch {
    return Number.NaN;
  }
  let ticks = 0;
  const walk = (pid: number): void => {
    ticks += procStat(pid)?.cpuTicks ?? 0;
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return ticks * TICK_MS;
}

/** One session: USER/PASS, LIST, RETR 1..n, QUIT. Checks every reply and the octets received. */
async function session(port: number, serverPid: number, expected: readonly Buffer[], pipelined = false): Promise<Timing> {
  const cpu0 = treeCpuMs(serverPid);
  const t0 = performance.now();
  const c = await pop3Connect(port);
  const ok = (s: string, what: string): void => {
    if (!s.startsWith('+OK')) throw new Error(`${what}: ${s}`);
  };
  ok(await c.line(), 'greeting');
  ok(await c.cmd(`USER ${USER}`), 'USER');
  ok(await c.cmd(`PASS ${PASSWORD}`), 'PASS');
  const l0 = performance.now();
  const list = await c.multi('LIST');
  ok(list.status, 'LIST');
  const listMs = performance.now() - l0;
  const n = list.data.toString().split('\r\n').filter(Boolean).length;
  if (n !== expected.length) throw new Error(`LIST gave ${n} messages, expected ${expected.length}`);
  let octets = 0;
  // PIPELINING (RFC 2449 section 6.6, announced by both servers): all RETRs in one write.
  if (pipelined) c.socket.write(Array.from({ length: n }, (_, i) => `RETR ${i + 1}\r\n`).join(''));
  for (let i = 1; i <= n; i++) {
    let r: { status: string; data: Buffer };
    if (pipelined) {
      const status = await c.line();
      r = { status, data: status.startsWith('+OK') ? await c.multiline() : Buffer.alloc(0) };
    } else {
      r = await c.multi(`RETR ${i}`);
    }
    ok(r.status, `RETR ${i}`);
    if (!r.data.equals(expected[i - 1])) throw new Error(`RETR ${i}: content differs (${r.data.length} octets, expected ${expected[i - 1].length})`);
    octets += r.data.length;
  }
  ok(await c.cmd('QUIT'), 'QUIT');
  const totalMs = performance.now() - t0;
  c.close();
  await c.closed;
  // Let Dovecot reap its pop3 process so its CPU shows up in the master's cutime.
  await new Promise((r) => setTimeout(r, 100));
  return { totalMs, listMs, octets, cpuMs: treeCpuMs(serverPid) - cpu0 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main(): Promise<void> {
  const messages = makeMessages(MESSAGES);
  const avg = messages.reduce((n, m) => n + m.length, 0) / messages.length;
  console.log(
    `pop3 bench: ${MESSAGES} messages of ${Math.round(avg)} octets on average, ${RUNS} runs each (after ${WARMUP} warm-up runs), lab ${LAB_ON ? 'on' : 'off'}`,
  );

  const dataDir = mkdtempSync(join(tmpdir(), 'pop3-bench-labnet-'));
  await preDeliver(
    dataDir,
    messages.map((data) => ({ user: USER, data })),
  );
  let lab: LabProcess | undefined;
  let dovecot: Dovecot | undefined;
  try {
    lab = await startLabProcess({ dataDir, only: LAB_ON ? ['pop3', 'http'] : ['pop3'], config: { services: { pop3: { port: 0, pop3sPort: 0 } } } });
    dovecot = await startDovecot(messages);
    const labPort = lab.port('pop3');
    const ours: Timing[] = [];
    const theirs: Timing[] = [];
    // Warm-up: Dovecot builds its index, labnet's JIT compiles the hot paths.
    const labPid = lab.proc.pid!;
    const dovecotPid = dovecot.proc.pid!;
    for (let w = 0; w < WARMUP; w++) {
      await session(labPort, labPid, messages);
      await session(dovecot.port, dovecotPid, messages);
    }
    for (let r = 0; r < RUNS; r++) {
      // Alternate so that background load hits both alike.
      ours.push(await session(labPort, labPid, messages));
      theirs.push(await session(dovecot.port, dovecotPid, messages));
    }
    const min = (xs: number[]): number => Math.min(...xs);
    const row = (name: string, ts: Timing[]): string => {
      const total = ts.map((t) => t.totalMs);
      return (
        `${name.padEnd(8)} median ${median(total).toFixed(1).padStart(7)} ms (min ${min(total).toFixed(1)})   ` +
        `LIST median ${median(ts.map((t) => t.listMs)).toFixed(2)} ms   server CPU median ${median(ts.map((t) => t.cpuMs)).toFixed(0)} ms   ` +
        `runs: ${total.map((x) => x.toFixed(0)).join(' ')}`
      );
    };
    console.log(row('labnet', ours));
    console.log(row('dovecot', theirs));
    const ratio = median(ours.map((t) => t.totalMs)) / median(theirs.map((t) => t.totalMs));
    const ratioMin = min(ours.map((t) => t.totalMs)) / min(theirs.map((t) => t.totalMs));
    const cpuRatio = median(ours.map((t) => t.cpuMs)) / median(theirs.map((t) => t.cpuMs));
    console.log(`ratio labnet/dovecot: ${ratio.toFixed(2)}x on medians, ${ratioMin.toFixed(2)}x on best runs  (target <= 1.00x)`);
    console.log(`server CPU per session labnet/dovecot: ${cpuRatio.toFixed(2)}x (10 ms clock ticks; all processes of each server)`);

    // The same with the 1,000 RETRs pipelined (a second figure; the target is on the run above).
    const ourPipe: Timing[] = [];
    const theirPipe: Timing[] = [];
    for (let r = 0; r < RUNS; r++) {
      ourPipe.push(await session(labPort, labPid, messages, true));
      theirPipe.push(await session(dovecot.port, dovecotPid, messages, true));
    }
    console.log('pipelined RETRs:');
    console.log(row('labnet', ourPipe));
    console.log(row('dovecot', theirPipe));
    const pipeRatio = median(ourPipe.map((t) => t.totalMs)) / median(theirPipe.map((t) => t.totalMs));
    console.log(`ratio labnet/dovecot pipelined: ${pipeRatio.toFixed(2)}x on medians`);
  } finally {
    await lab?.stop();
    lab?.cleanup();
    await dovecot?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

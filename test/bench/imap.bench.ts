// IMAP benchmark: labnet (the real process) against Dovecot 2.3 (a private instance on a loopback
// port, configured here), both with the same 10,000 messages of about 4.3 KB in INBOX, driven by
// Python's imaplib. Steps: SELECT, UID FETCH 1:* (FLAGS), FETCH 1:* (ENVELOPE), UID SEARCH TEXT word,
// 100 full bodies (one UID FETCH each), measured after a warm-up of 2,000 single-message fetches
// (the cold first 100 are printed too); then the RSS that 200 idle IDLE sessions add to labnet.
// Targets (issue 5): each step <= 1.5x Dovecot (SEARCH TEXT <= 1.0x), 200 IDLE sessions < 40 MB.
// QRESYNC (issue 19): a QRESYNC SELECT of a 10,000-message folder after 1 % changed <= 1.0x Dovecot
// (IMAP_BENCH_ONLY=qresync runs just that case), timed as the first SELECT of a new connection and
// again on that warm connection. imaptest's stress mix (issue 19): IMAP_BENCH_ONLY=stress runs just it,
// IMAP_BENCH_STRESS_ARGS passes extra imaptest flags to both servers (e.g. "qresync"). IMAP_BENCH_LAB=on also runs
// HTTP in the labnet process, so the live lab records the IMAP sessions (the lab is off without HTTP).
// IMAP_BENCH_QRESYNC=off leaves out the QRESYNC folder (10,000 more messages in both servers) and its
// case: the setup of the builds before issue 19, for before/after comparisons with them.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, startLabProcess } from '../support/lab-process.js';
import { freePort, median, rssKb } from '../support/bench-util.js';
import { RawImap } from '../imap/raw-client.js';

const MESSAGES = Number(process.env.IMAP_BENCH_MESSAGES ?? 10_000);
const RUNS = Number(process.env.IMAP_BENCH_RUNS ?? 5);
const IDLE_SESSIONS = 200;
const LAB_ON = process.env.IMAP_BENCH_LAB === 'on';
const QRESYNC = process.env.IMAP_BENCH_QRESYNC !== 'off';
const WORD = 'zebracorn';

// ---- the message set: deterministic, ~4.3 KB each, the search word in 1 % of the bodies ----

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua network packet router switch lease address mailbox protocol'.split(
    ' ',
  );

function makeMessage(i: number): Buffer {
  const r = rng(i + 1);
  const pick = (): string => WORDS[Math.floor(r() * WORDS.length)];
  const lines: string[] = [];
  let size = 0;
  while (size < 3850) {
    const words: string[] = [];
    for (let w = 0; w < 11; w++) words.push(pick());
    const line = words.join(' ');
    lines.push(line);
    size += line.length + 2;
  }
  if (i % 100 === 7) lines.splice(Math.floor(lines.length / 2), 0, `the ${WORD} appears here`);
  const day = 1 + (i % 28);
  const head = [
    `Return-Path: <sender${i % 50}@example.org>`,
    `Received: from client.example.org ([192.0.2.${i % 250}]) by labnet.lab.test with ESMTP id B${i}; Mon, ${day} Sep 2025 10:00:00 +0000`,
    `From: Sender ${i % 50} <sender${i % 50}@example.org>`,
    'To: Alice <alice@lab.test>',
    i % 3 === 0 ? 'Cc: Bob <bob@lab.test>, carol@lab.test' : '',
    `Subject: Benchmark message ${i} about ${pick()} and ${pick()}`,
    `Date: Mon, ${day} Sep 2025 10:${String(i % 60).padStart(2, '0')}:00 +0000`,
    `Message-ID: <bench-${i}@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
  ].filter((l) => l.length > 0);
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${lines.join('\r\n')}\r\n`);
}

function fillMaildir(dir: string, msgs: Buffer[]): void {
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  const t = Math.floor(Date.now() / 1000) - msgs.length;
  msgs.forEach((m, i) => writeFileSync(join(dir, 'cur', `${t + i}.M${i}P1.bench,S=${m.length}:2,`), m));
}

/** CPU ms used by a process, including its waited-for children (Dovecot's exited imap processes). */
function cpuMs(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return 0;
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const parents = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(e), ppid);
    } catch {
      // gone
    }
  }
  const walk = (p: number): void => {
    for (const [child, parent] of parents)
      if (parent === p) {
        out.push(child);
        walk(child);
      }
  };
  walk(pid);
  return out;
}

// ---- Dovecot ----

interface Dovecot {
  port: number;
  masterPid: number;
  stop(): void;
}

async function startDovecot(dir: string, msgs: Buffer[]): Promise<Dovecot> {
  const port = await freePort();
  const home = join(dir, 'home', 'alice');
  fillMaildir(join(home, 'Maildir'), msgs);
  if (QRESYNC) fillMaildir(join(home, 'Maildir', `.${QRESYNC_BOX}`), msgs);
  for (const d of ['run', 'state']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'passwd'), 'alice:{PLAIN}alice-lab\n');
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_process_limit = 1000
default_client_limit = 4000
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${dir}/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${dir}/home/%n
}
mail_location = maildir:~/Maildir
protocol imap {
  mail_max_userip_connections = 1000
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
`,
  );
  execFileSync('chown', ['-R', 'dovecot:dovecot', join(dir, 'home')]);
  // The master daemonizes; its child keeps inherited pipes open, so give it none.
  execFileSync('dovecot', ['-c', conf], { stdio: 'ignore' });
  const pidFile = join(dir, 'run', 'master.pid');
  for (let i = 0; i < 50 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
  const masterPid = Number(readFileSync(pidFile, 'utf8').trim());
  return {
    port,
    masterPid,
    stop() {
      try {
        process.kill(masterPid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

// ---- driving ----

type Times = Record<string, number[]> & { _messages: number; _search_hits: number; _body_octets: number };

function measure(port: number, runs: number): Times {
  const script = join(PROJECT_ROOT, 'test', 'bench', 'imap_bench_client.py');
  const r = spawnSync('python3', [script, '127.0.0.1', String(port), 'alice', 'alice-lab', String(runs), WORD], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`bench client failed: ${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Times;
}

/** Opens one session that logs in, selects INBOX and enters IDLE. */
function idleSession(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    let stage = 0;
    const timer = setTimeout(() => reject(new Error('IDLE session setup timed out')), 60_000);
    sock.setEncoding('latin1');
    sock.on('error', reject);
    sock.on('data', (d: string) => {
      buf += d;
      if (stage === 0 && buf.includes('* OK')) {
        stage = 1;
        buf = '';
        sock.write('a LOGIN alice alice-lab\r\n');
      } else if (stage === 1 && /\r\na OK|^a OK/.test(buf)) {
        stage = 2;
        buf = '';
        sock.write('b SELECT INBOX\r\n');
      } else if (stage === 2 && /\r\nb OK|^b OK/.test(buf)) {
        stage = 3;
        buf = '';
        sock.write('c IDLE\r\n');
      } else if (stage === 3 && buf.includes('+ ')) {
        stage = 4;
        clearTimeout(timer);
        resolve(sock);
      } else if (/(^|\r\n)[abc] (NO|BAD)/.test(buf)) {
        clearTimeout(timer);
        reject(new Error(buf));
      }
    });
  });
}

async function idleRss(port: number, pids: () => number[]): Promise<{ before: number; after: number }> {
  const sum = (): number => pids().reduce((n, p) => n + rssKb(p), 0);
  await new Promise((r) => setTimeout(r, 1000));
  const before = sum();
  const socks: Socket[] = [];
  for (let i = 0; i < IDLE_SESSIONS; i += 20) {
    socks.push(...(await Promise.all(Array.from({ length: Math.min(20, IDLE_SESSIONS - i) }, () => idleSession(port)))));
  }
  await new Promise((r) => setTimeout(r, 2000));
  const after = sum();
  for (const s of socks) s.destroy();
  return { before, after };
}

/**
 * The labnet side's config: the mailbox holds 20,000 messages (INBOX and the QRESYNC folder), which is
 * the mail store's default per-user quota: without lifting it every APPEND of the stress mix is NO
 * [OVERQUOTA] (the Dovecot side has no quota either).
 */
const BENCH_LAB_CONFIG = {
  limits: { maxConnectionsPerAddress: 1000 },
  mailStore: { quota: { maxMessages: 0, maxBytes: 0 } },
  services: { imap: { port: 0, maxSessionsPerUser: 1000 } },
};

// ---- imaptest's stress mix (issue 19): both servers, the same random command mix, zero errors ----

/**
 * Dovecot's imaptest (built by hand, not a CI dependency: IMAPTEST=path, default the tools checkout).
 * Its stress mode runs CLIENTS sessions on one mailbox, each looping LOGIN, SELECT, FETCH, STORE,
 * EXPUNGE, APPEND... and checking every answer against what the others did.
 */
const IMAPTEST = process.env.IMAPTEST ?? '/work/tools/imaptest/src/imaptest';
const STRESS_CLIENTS = Number(process.env.IMAP_BENCH_STRESS_CLIENTS ?? 10);
const STRESS_SECS = Number(process.env.IMAP_BENCH_STRESS_SECS ?? 20);
/** Extra imaptest arguments for both servers, e.g. "qresync" or "checkpoint=5" (space separated). */
const STRESS_ARGS = (process.env.IMAP_BENCH_STRESS_ARGS ?? '').split(' ').filter((a) => a !== '');

/** An mbox of small varied messages for imaptest to APPEND. */
function stressMbox(path: string): void {
  const out: string[] = [];
  for (let i = 0; i < 200; i++) {
    const body = Array.from({ length: 1 + (i % 37) }, (_, j) => `line ${j} of message ${i} ${'x'.repeat((i * 7 + j) % 60)}`).join('\r\n');
    out.push(
      `From sender${i}@example.org Mon Jan  1 00:00:00 2024\r\nFrom: Sender ${i} <sender${i}@example.org>\r\nTo: alice@lab.test\r\nSubject: stress ${i}\r\nMessage-ID: <s${i}@example.org>\r\nDate: Mon, 1 Jan 2024 00:00:${String(i % 60).padStart(2, '0')} +0000\r\n\r\n${body}\r\n\r\n`,
    );
  }
  writeFileSync(path, out.join(''));
}

/** One imaptest stress run: commands per second (every command of the totals row) and its errors. */
function stressRun(port: number, mbox: string): { cps: number; errors: number; sample: string } {
  const r = spawnSync(
    IMAPTEST,
    [
      `host=127.0.0.1`,
      `port=${port}`,
      'user=alice',
      'pass=alice-lab',
      `mbox=${mbox}`,
      `clients=${STRESS_CLIENTS}`,
      `secs=${STRESS_SECS}`,
      'box=stress',
      ...STRESS_ARGS,
    ],
    { encoding: 'utf8', timeout: (STRESS_SECS + 120) * 1000, env: { ...process.env, LD_LIBRARY_PATH: '/usr/lib/dovecot' } },
  );
  const out = `${r.stdout}\n${r.stderr}`;
  const errorLines = out.split('\n').filter((l) => /error|warning|panic/i.test(l));
  // imaptest ends in a panic (SIGABRT) on some of its own assertions: no totals then, and an error.
  if (r.status !== 0) errorLines.unshift(`imaptest exited with ${r.status ?? r.signal}`);
  const totals = out.slice(out.lastIndexOf('Totals:')).split('\n');
  // Totals: a row of names, one of percentages (and one of extras), then the counts.
  const counts = totals.find((l, i) => i > 2 && /^\s*\d+(\s+\d+)+\s*$/.test(l));
  const sum = counts
    ? counts
        .trim()
        .split(/\s+/)
        .reduce((n, v) => n + Number(v), 0)
    : 0;
  return { cps: sum / STRESS_SECS, errors: errorLines.length, sample: errorLines.slice(0, 3).join(' | ') };
}

/** Creates the stress folder on a server (imaptest selects it). */
function createFolder(port: number, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    let sent = false;
    sock.setEncoding('latin1');
    sock.on('error', reject);
    sock.on('data', (d: string) => {
      buf += d;
      if (!sent && buf.includes('* OK')) {
        sent = true;
        sock.write(`a LOGIN alice alice-lab\r\nb CREATE ${name}\r\nc LOGOUT\r\n`);
      }
      if (/^c OK/m.test(buf)) {
        sock.destroy();
        resolve();
      }
    });
  });
}

async function stressMix(dir: string, dovecotPort: number, labPort: number): Promise<void> {
  if (!existsSync(IMAPTEST)) {
    console.log(`  imaptest stress mix: skipped (no imaptest at ${IMAPTEST}; set IMAPTEST=path)`);
    return;
  }
  const mbox = join(dir, 'stress.mbox');
  stressMbox(mbox);
  await createFolder(dovecotPort, 'stress');
  await createFolder(labPort, 'stress');
  const d: number[] = [];
  const l: number[] = [];
  let dErr = 0;
  let lErr = 0;
  for (let round = 0; round < Number(process.env.IMAP_BENCH_STRESS_RUNS ?? 2); round++) {
    const dr = stressRun(dovecotPort, mbox);
    const lr = stressRun(labPort, mbox);
    d.push(dr.cps);
    l.push(lr.cps);
    dErr += dr.errors;
    lErr += lr.errors;
    if (lr.errors > 0) console.log(`  labnet stress errors: ${lr.sample}`);
    if (dr.errors > 0) console.log(`  dovecot stress errors: ${dr.sample}`);
  }
  const ratio = median(l) / median(d);
  console.log(
    `  imaptest stress mix${STRESS_ARGS.length > 0 ? ` (${STRESS_ARGS.join(' ')})` : ''}, ${STRESS_CLIENTS} clients x ${STRESS_SECS} s, ${d.length} alternating runs: dovecot ${median(d).toFixed(0)} cmd/s (${dErr} errors), labnet ${median(l).toFixed(0)} cmd/s (${lErr} errors), ratio ${ratio.toFixed(2)}x (target >= 1.0 at zero errors) ${ratio >= 1 && lErr === 0 ? 'ok' : 'MISSED'}`,
  );
}

// ---- QRESYNC (issue 19): a client comes back to a 10,000-message mailbox after 1 % changed ----

const QRESYNC_BOX = 'qresync';
/** Of the mailbox's messages: every 200th (from the 4th) flagged, every 200th (from the 104th) expunged: 1 % in all. */
const QRESYNC_STEP = 200;

let qTag = 0;
/** Sends a command on a raw connection (test/imap/raw-client.ts), returns the untagged lines of the answer; throws on NO/BAD. */
async function run(c: RawImap, command: string): Promise<string[]> {
  const tag = `q${++qTag}`;
  c.write(`${tag} ${command}\r\n`);
  // A deadline for a 10,000-message answer, not a wait.
  const lines = (await c.until(new RegExp(`^${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`, 'm'), 120_000)).split('\r\n');
  lines.pop();
  const last = lines.pop() ?? '';
  if (!last.startsWith(`${tag} OK`)) throw new Error(`${command.slice(0, 60)}: ${last}`);
  return lines;
}

/** Logs in with QRESYNC enabled and selects the mailbox; returns UIDVALIDITY and HIGHESTMODSEQ. */
async function qresyncState(port: number): Promise<{ uidValidity: string; modseq: string; maxUid: number }> {
  const c = await RawImap.open(port);
  await run(c, 'LOGIN alice alice-lab');
  await run(c, 'ENABLE QRESYNC');
  const lines = await run(c, `SELECT ${QRESYNC_BOX}`);
  const uidValidity = /\[UIDVALIDITY (\d+)\]/.exec(lines.join('\n'))![1];
  const modseq = /\[HIGHESTMODSEQ (\d+)\]/.exec(lines.join('\n'))![1];
  const uidNext = Number(/\[UIDNEXT (\d+)\]/.exec(lines.join('\n'))![1]);
  await run(c, 'LOGOUT').catch(() => undefined);
  c.close();
  return { uidValidity, modseq, maxUid: uidNext - 1 };
}

/** Another client changes 1 % of the mailbox: flags on half of them, the other half expunged. */
async function qresyncChange(port: number, total: number): Promise<void> {
  const c = await RawImap.open(port);
  await run(c, 'LOGIN alice alice-lab');
  await run(c, `SELECT ${QRESYNC_BOX}`);
  const flagged: number[] = [];
  const gone: number[] = [];
  for (let i = 3; i < total; i += QRESYNC_STEP) flagged.push(i + 1);
  for (let i = 103; i < total; i += QRESYNC_STEP) gone.push(i + 1);
  await run(c, `UID STORE ${flagged.join(',')} +FLAGS.SILENT (\\Flagged $Label1)`);
  await run(c, `UID STORE ${gone.join(',')} +FLAGS.SILENT (\\Deleted)`);
  await run(c, `UID EXPUNGE ${gone.join(',')}`);
  await run(c, 'LOGOUT').catch(() => undefined);
  c.close();
}

/**
 * Two timed QRESYNC SELECTs on one connection (login before the clock starts): the first is what a
 * client coming back pays (Dovecot's new imap process opens the mailbox index then), the second is
 * the same resync on a warm connection (the index already open in Dovecot's process), the fair
 * comparison of the resync itself. Seconds of each, and how many VANISHED UIDs and FETCHes came.
 */
async function qresyncSelect(
  port: number,
  st: { uidValidity: string; modseq: string; maxUid: number },
): Promise<{ secs: number; warmSecs: number; vanished: number; fetched: number }> {
  const c = await RawImap.open(port);
  await run(c, 'LOGIN alice alice-lab');
  await run(c, 'ENABLE QRESYNC');
  const command = `SELECT ${QRESYNC_BOX} (QRESYNC (${st.uidValidity} ${st.modseq} 1:${st.maxUid}))`;
  let t0 = process.hrtime.bigint();
  const lines = await run(c, command);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  const again = await run(c, command);
  const warmSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  await run(c, 'LOGOUT').catch(() => undefined);
  c.close();
  const count = (ls: string[]): { vanished: number; fetched: number } => {
    let vanished = 0;
    let fetched = 0;
    for (const l of ls) {
      if (l.startsWith('* VANISHED (EARLIER) ')) {
        for (const part of l.slice(21).split(',')) {
          const [a, b] = part.split(':').map(Number);
          vanished += b === undefined ? 1 : b - a + 1;
        }
      } else if (/^\* \d+ FETCH /.test(l)) fetched++;
    }
    return { vanished, fetched };
  };
  const first = count(lines);
  const second = count(again);
  if (first.vanished !== second.vanished || first.fetched !== second.fetched) throw new Error(`the second QRESYNC SELECT answered differently on port ${port}`);
  return { secs, warmSecs, ...first };
}

async function qresyncCase(dovecotPort: number, labPort: number): Promise<void> {
  const servers = [
    { name: 'dovecot', port: dovecotPort },
    { name: 'labnet', port: labPort },
  ];
  const states = [];
  // What each client knew before the change; the change; one untimed resync each (warm caches).
  for (const s of servers) states.push(await qresyncState(s.port));
  for (const s of servers) await qresyncChange(s.port, MESSAGES);
  for (let k = 0; k < servers.length; k++) await qresyncSelect(servers[k].port, states[k]);
  const times: number[][] = [[], []];
  const warm: number[][] = [[], []];
  const seen: Array<{ vanished: number; fetched: number }> = [];
  for (let round = 0; round < Math.max(RUNS, 5); round++) {
    for (let k = 0; k < servers.length; k++) {
      const r = await qresyncSelect(servers[k].port, states[k]);
      times[k].push(r.secs);
      warm[k].push(r.warmSecs);
      seen[k] = r;
    }
  }
  const same = seen[0].vanished === seen[1].vanished && seen[0].fetched === seen[1].fetched;
  const line = (what: string, t: number[][]): string => {
    const [dm, lm] = [median(t[0]), median(t[1])];
    const ratio = lm / dm;
    return `  qresync select, ${what}: dovecot ${dm.toFixed(4)} s, labnet ${lm.toFixed(4)} s, ratio ${ratio.toFixed(2)}x (target <= 1.0x) ${ratio <= 1 ? 'ok' : 'MISSED'}`;
  };
  console.log(
    `  qresync select (${MESSAGES} msgs, 1 % changed): dovecot ${seen[0].vanished} vanished, ${seen[0].fetched} fetch; labnet ${seen[1].vanished} vanished, ${seen[1].fetched} fetch${same ? '' : ' WARNING: answers differ'}`,
  );
  console.log(line('first on a new connection', times));
  console.log(line('again on the warm connection (index open on both)', warm));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('imap bench: Dovecot needs root to switch to its mail user; run as root (CI does).');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'labnet-imap-bench-'));
  // Dovecot's unprivileged processes (auth, mail user) must be able to reach their files.
  chmodSync(dir, 0o755);
  console.log(
    `imap bench: ${MESSAGES} messages, ${RUNS} runs per step, imaplib client, ${process.env.IMAP_BENCH_PAUSE ?? 0.25} s pause before each step, lab ${LAB_ON ? 'on' : 'off'}, QRESYNC folder ${QRESYNC ? 'yes' : 'no'}, work dir ${dir}`,
  );
  const msgs = Array.from({ length: MESSAGES }, (_, i) => makeMessage(i));
  console.log(`  average message size ${(msgs.reduce((n, m) => n + m.length, 0) / msgs.length / 1024).toFixed(2)} KB`);
  const labData = join(dir, 'labnet');
  fillMaildir(join(labData, 'mail', 'alice'), msgs);
  if (QRESYNC) fillMaildir(join(labData, 'mail', 'alice', `.${QRESYNC_BOX}`), msgs);
  let dovecot: Dovecot | undefined;
  let fresh: Awaited<ReturnType<typeof startLabProcess>> | undefined;
  const lab = await startLabProcess({
    dataDir: labData,
    only: LAB_ON ? ['imap', 'http'] : ['imap'],
    config: BENCH_LAB_CONFIG,
    timeoutMs: 120_000,
  });
  try {
    dovecot = await startDovecot(join(dir, 'dovecot'), msgs);
    console.log(`  dovecot on port ${dovecot.port}, labnet on port ${lab.port('imap')} (ready in ${Math.round(lab.readyMs)} ms)`);
    // IMAP_BENCH_ONLY=qresync: just the QRESYNC case (a quick check of it, minutes shorter).
    if (process.env.IMAP_BENCH_ONLY === 'qresync') {
      await qresyncCase(dovecot.port, lab.port('imap'));
      return;
    }
    // IMAP_BENCH_ONLY=stress: just imaptest's stress mix.
    if (process.env.IMAP_BENCH_ONLY === 'stress') {
      await stressMix(dir, dovecot.port, lab.port('imap'));
      return;
    }
    // Rounds alternate between the two servers so that load from elsewhere on the machine falls on
    // both alike; each round is one client run (log in, warm up, every step once).
    const merge = (into: Times | undefined, t: Times): Times => {
      if (!into) return t;
      for (const k of Object.keys(t)) if (Array.isArray(t[k])) into[k].push(...t[k]);
      return into;
    };
    let d: Times | undefined;
    let l: Times | undefined;
    const dCpu: number[] = [];
    const lCpu: number[] = [];
    const treeCpu = (pid: number): number => [pid, ...descendants(pid)].reduce((n, p) => n + cpuMs(p), 0);
    for (let round = 0; round < RUNS; round++) {
      let c0 = treeCpu(dovecot.masterPid);
      d = merge(d, measure(dovecot.port, 1));
      dCpu.push(treeCpu(dovecot.masterPid) - c0);
      c0 = cpuMs(lab.proc.pid!);
      l = merge(l, measure(lab.port('imap'), 1));
      lCpu.push(cpuMs(lab.proc.pid!) - c0);
    }
    if (!d || !l) throw new Error('no runs');
    console.log(`  measured ${RUNS} alternating rounds`);
    if (d._messages !== l._messages || d._search_hits !== l._search_hits || d._body_octets !== l._body_octets) {
      console.log(
        `  WARNING: answers differ: dovecot ${d._messages} msgs/${d._search_hits} hits/${d._body_octets} octets, labnet ${l._messages}/${l._search_hits}/${l._body_octets}`,
      );
    } else console.log(`  both: ${l._messages} messages, SEARCH TEXT ${WORD}: ${l._search_hits} hits, 100 bodies ${l._body_octets} octets`);
    const targets: Record<string, number> = { select: 1.5, uid_fetch_flags: 1.5, fetch_envelope: 1.5, uid_search_text: 1.0, fetch_100_bodies: 1.5 };
    console.log('  step                      dovecot s   labnet s    ratio   target');
    for (const step of Object.keys(targets)) {
      const dm = median(d[step]);
      const lm = median(l[step]);
      const ratio = lm / dm;
      console.log(
        `  ${step.padEnd(24)} ${dm.toFixed(4).padStart(9)} ${lm.toFixed(4).padStart(10)} ${ratio.toFixed(2).padStart(8)}x  <= ${targets[step]}x ${ratio <= targets[step] ? 'ok' : 'MISSED'}`,
      );
    }
    if (QRESYNC) await qresyncCase(dovecot.port, lab.port('imap'));
    await stressMix(dir, dovecot.port, lab.port('imap'));
    // The first round's cold fetches (fresh labnet process, before the 2,000-fetch warm-up): no target,
    // shown so the note can say what the first minute of a lab looks like.
    const dc = d.fetch_100_bodies_cold[0];
    const lc = l.fetch_100_bodies_cold[0];
    console.log(
      `  fetch_100_bodies, cold    ${dc.toFixed(4).padStart(9)} ${lc.toFixed(4).padStart(10)} ${(lc / dc).toFixed(2).padStart(8)}x  (first round, before the warm-up; no target)`,
    );
    // RSS in a fresh labnet process (the measured steps above leave a large heap behind that new
    // sessions would simply reuse): load INBOX with one SELECT, then add the IDLE sessions.
    await lab.stop();
    fresh = await startLabProcess({
      dataDir: labData,
      only: ['imap'],
      config: BENCH_LAB_CONFIG,
      timeoutMs: 120_000,
    });
    (await idleSession(fresh.port('imap'))).destroy();
    const freshLab = fresh;
    // Server CPU per round (warm-up + every step once): independent of how busy the machine is.
    console.log(
      `  server CPU per round (median): dovecot ${median(dCpu)} ms, labnet ${median(lCpu)} ms, ratio ${(median(lCpu) / Math.max(1, median(dCpu))).toFixed(2)}x`,
    );
    const lr = await idleRss(freshLab.port('imap'), () => [freshLab.proc.pid!]);
    const addedMb = (lr.after - lr.before) / 1024;
    console.log(
      `  labnet RSS: ${(lr.before / 1024).toFixed(1)} MB before, ${(lr.after / 1024).toFixed(1)} MB with ${IDLE_SESSIONS} IDLE sessions: +${addedMb.toFixed(1)} MB (target < 40 MB) ${addedMb < 40 ? 'ok' : 'MISSED'}`,
    );
    const dr = await idleRss(dovecot.port, () => descendants(dovecot!.masterPid).concat(dovecot!.masterPid));
    console.log(
      `  dovecot RSS (all its processes): ${(dr.before / 1024).toFixed(1)} MB before, ${(dr.after / 1024).toFixed(1)} MB with ${IDLE_SESSIONS} IDLE sessions: +${((dr.after - dr.before) / 1024).toFixed(1)} MB`,
    );
  } finally {
    dovecot?.stop();
    await lab.stop();
    await fresh?.stop();
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

// `make soak` (or `make bench BENCH=soak`): a class of N students (default 100) for D minutes (default
// 10) against the real `labnet start` process, each student from their own loopback address
// (127.0.1.x): an IMAP session in IDLE that wakes up every ~15 s (DONE, UID FETCH of flags, NOOP, IDLE
// again), SMTP bursts (AUTH, 3 messages to random classmates, QUIT) every ~30 s, a POP3 download every
// ~45 s that takes what is there and deletes it, as fetchmail does by default (STAT, UIDL, RETR and
// DELE of each message, at most 50 a visit, QUIT; --pop3-keep: RETR of the last 3, nothing deleted,
// so the mailboxes grow all run), an HTTP page load every ~10 s and an HTTPS one (new TLS connection,
// lab CA verified) every ~20 s. Printed: operations and errors per protocol, p50/p99 latency per
// command, every acknowledged message's Message-ID looked for in what its recipient downloaded whole by
// POP3 and in their Maildir afterwards (lost = acknowledged with 250 but in
// neither), the server's RSS sampled every 5 s with the slope after warm-up (MB per minute, least
// squares). The target (issue 14): zero errors, nothing lost, RSS flat after warm-up. Not part of
// `make test`.
// Warm-up: a server's steady state is when its bounded caches are full. The live lab's history is the
// big one (lab.history: 500 sessions, 2,000 lines per session, 64 MiB of transcripts, 20,000 replay
// events); the class's 100 IDLE sessions would need about an hour of their own traffic to reach 2,000
// lines each. So each IMAP student first fills its session's transcript with NOOPs (paced to stay
// below the lab's recording budget, topped up until the lab says the session recorded more lines than
// it keeps, since a burst of class traffic can still thin a few; not counted in the latencies), and the warm-up ends once
// /lab/api/stats says the history is at its bounds (sessions kept at the bound, replay window full,
// every student's IMAP session trimmed to its line bound or the byte budget reached) and the replay
// window no longer holds any of the fill's events (they are small: a window of NOOPs holds about 8 MB,
// one of the class's own traffic about 18 MB, so measuring while it turns over, a minute or two, counted
// that step as growth), and not before --warmup-seconds. With DHCP the lab's packet window (5,000) must be full too: a class renewing every
// 30 s fills it in about 12 minutes, so during the warm-up each bound student's laptop also joins the
// network again with a one-shot udhcpc, round by round, until it is. The slope is measured from there.
// --fill-history off skips both fills.
// DHCP (when run as root; --dhcp off skips it): the soak makes a server namespace with a bridge and a
// client namespace with one veth per student (test/dhcp/netns-fixture.ts: unique names, everything
// deleted at exit, no real interface touched) and runs itself again inside the server namespace, so
// the one labnet process serves the bridge (DHCP, lease 60 s) as well as loopback (the students' TCP
// traffic). Each student runs a real busybox udhcpc on their veth for the whole run: it binds, then
// renews at T1 (every ~30 s). Checked at the end: every client bound, kept the same address across
// every renewal (no NAK, no lease lost, no fallback to DISCOVER), and the server's lease journal, read
// after the process stopped, holds that address bound to that client's MAC.
// Memory: the labnet process runs with test/bench/soak-probe.ts preloaded, which logs
// process.memoryUsage() every second and the heap in use after every full collection (the live heap),
// so RSS is printed next to JS heap reserved and used, the live heap, external and arrayBuffers
// (start, end of warm-up, middle, end, and each one's slope after warm-up and over the second half of
// the measured part; oldFree: the free room inside old space's pages, its fragmentation). With
// --heap-snapshots DIR it also writes V8 heap snapshots into DIR at the end of the warm-up, in the
// middle of the steady part and at the end, to compare with test/bench/heap-diff.ts; they spoil the
// run's other figures: with a 100-student class each one blocked labnet for about 20 s (DHCP clients
// on a 60 s lease gave up: 95 errors), left RSS 400 MB higher (the snapshot writer's malloc) and let
// V8 grow its heap for the next 100 s. --v8-flags "..." sets V8 flags in the labnet process alone (e.g.
// "--trace-gc"), --labnet-log FILE keeps its output.
// Options: --students N, --minutes D (or --seconds S), --warmup-seconds W (the least warm-up; default:
// a fifth of the run), --fill-history on|off (default on), --pop3-keep, --dhcp on|off (default on as root), --heap-snapshots DIR, --memory-log FILE (keeps the probe's
// samples), --lab-history JSON (lab.history bounds, e.g. smaller ones that fill within the run).
import * as https from 'node:https';
import * as http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NetnsFixture, isRoot, lanDhcp, type ClientLink } from '../dhcp/netns-fixture.js';
import { readEvents } from '../dhcp/clients.js';
import { decodeRecord } from '../../services/dhcp/lease-journal.js';
import { intToIp } from '../../services/dhcp/ipv4.js';
import { LineClient } from '../support/line-client.js';
import { startLabProcess } from '../support/lab-process.js';
import { arg, median, percentile, rssKb } from '../support/bench-util.js';
import { studentAddress, studentName as name, studentPassword as password } from './class-roster.js';

const STUDENTS = Number(arg('students', '100'));
const SECONDS = Number(arg('seconds', String(Number(arg('minutes', '10')) * 60)));
const WARMUP_S = Number(arg('warmup-seconds', String(Math.max(10, Math.round(SECONDS / 5)))));
const TIMEOUT_MS = 30_000;
const DHCP = arg('dhcp', isRoot() ? 'on' : 'off') === 'on';
/** The lab LAN inside the soak's namespaces (nothing outside them sees it). */
const DHCP_PREFIX = '10.76.0';
const DHCP_LEASE_S = 60;
const HEAP_DIR = arg('heap-snapshots', '');
/** The instructor whose lab login reads /lab/api/stats (the lab history's fill) during the run. */
const TEACHER = { name: 'soakteacher', password: 'soak-Teacher-1' };
/**
 * lab.history overrides as JSON (e.g. '{"maxBytes":8388608,"linesPerSession":200}'): smaller bounds make
 * the lab's history fill within a short run, to see memory level off once it is full.
 */
const LAB_HISTORY = JSON.parse(arg('lab-history', '{}')) as Record<string, number>;
/** Where to keep the probe's samples (JSON lines, one a second), for a closer look afterwards. */
const MEMORY_LOG = arg('memory-log', '');
/** V8 flags set in the labnet process alone by the probe (e.g. "--trace-gc"), and where its output goes. */
const V8_FLAGS = arg('v8-flags', '');
const LABNET_LOG = arg('labnet-log', '');
/** Fill each IMAP session's transcript to the lab's line bound first (see the warm-up above). */
const FILL_HISTORY = arg('fill-history', 'on') === 'on';
/** POP3 students keep their mail on the server (the mailboxes then grow all run). */
const POP3_KEEP = process.argv.includes('--pop3-keep');
/** Messages a POP3 visit downloads at most (the rest waits for the next visit). */
const POP3_PER_VISIT = 50;

/** What the outer run made, handed to the run inside the server namespace. */
interface NetnsInfo {
  serverNs: string;
  clientNs: string;
  bridge: string;
  dir: string;
  links: ClientLink[];
}
const NETNS_ENV = 'LABNET_SOAK_NETNS';

type Proto = 'imap' | 'smtp' | 'pop3' | 'http' | 'https';
/** `steady`: the latencies of commands that started after the warm-up (the class has arrived). */
const stats: Record<Proto, { ops: number; errors: number; latencies: number[]; steady: number[]; firstErrors: string[] }> = {
  imap: { ops: 0, errors: 0, latencies: [], steady: [], firstErrors: [] },
  smtp: { ops: 0, errors: 0, latencies: [], steady: [], firstErrors: [] },
  pop3: { ops: 0, errors: 0, latencies: [], steady: [], firstErrors: [] },
  http: { ops: 0, errors: 0, latencies: [], steady: [], firstErrors: [] },
  https: { ops: 0, errors: 0, latencies: [], steady: [], firstErrors: [] },
};

/** Latencies per protocol and command word ("imap LOGIN"), for the breakdown printed at the end. */
const perCommand = new Map<string, number[]>();

function commandWord(p: Proto, line: string | undefined): string {
  if (line === undefined) return 'greeting';
  const words = line.split(' ');
  const w = p === 'imap' && words.length > 1 && words[0] !== 'DONE' ? (words[1] === 'UID' ? `UID ${words[2]}` : words[1]) : words[0];
  return /^[A-Za-z ]{1,12}$/.test(w) ? w.toUpperCase() : 'message data';
}

/** When the warm-up ends (performance.now() ms); set once the lab's history is at its bounds. */
let steadyFrom = Infinity;
/** The warm-up's length in seconds from the start of the run (WARMUP_S at least; set with steadyFrom). */
let warmupS = WARMUP_S;

function record(p: Proto, ms: number): void {
  stats[p].latencies.push(ms);
  if (performance.now() - ms >= steadyFrom) stats[p].steady.push(ms);
}

function error(p: Proto, what: string): void {
  stats[p].errors++;
  if (stats[p].firstErrors.length < 5) stats[p].firstErrors.push(what.slice(0, 200));
}

/** One command: send, wait for the reply that `done` accepts, record its latency; throws on a bad one. */
async function timed(p: Proto, c: LineClient, line: string | undefined, done: (l: string) => boolean, ok: (l: string) => boolean): Promise<string[]> {
  const t0 = performance.now();
  if (line !== undefined) c.write(`${line}\r\n`);
  const lines: string[] = [];
  for (;;) {
    const l = await c.line(TIMEOUT_MS);
    if (l === null) throw new Error(`${p}: connection closed after ${JSON.stringify(line)}`);
    lines.push(l);
    if (done(l)) break;
  }
  const ms = performance.now() - t0;
  record(p, ms);
  stats[p].ops++;
  const key = `${p} ${commandWord(p, line)}`;
  let list = perCommand.get(key);
  if (!list) perCommand.set(key, (list = []));
  list.push(ms);
  const last = lines[lines.length - 1];
  if (!ok(last)) throw new Error(`${p}: ${JSON.stringify(line?.slice(0, 40))} -> ${last}`);
  return lines;
}

/** A connection from student i's own address. */
function connectFrom(port: number, i: number): Promise<LineClient> {
  return LineClient.connect(port, '127.0.0.1', studentAddress(i));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const jitter = (ms: number): number => ms * (0.5 + Math.random());

async function main(): Promise<void> {
  const users = Array.from({ length: STUDENTS }, (_, i) => ({ name: name(i), password: password(i) }));
  const netns = process.env[NETNS_ENV] ? (JSON.parse(process.env[NETNS_ENV]) as NetnsInfo) : undefined;
  const dhcpConfig = netns
    ? {
        dhcp: lanDhcp(netns.bridge, DHCP_PREFIX, [10, 250], { port: 67, leaseSeconds: DHCP_LEASE_S, probeMs: 300 }),
      }
    : {};
  const probeDir = mkdtempSync(join(tmpdir(), 'labnet-soak-probe-'));
  const memoryLog = join(probeDir, 'memory.jsonl');
  const heapDir = HEAP_DIR ? resolve(HEAP_DIR) : '';
  if (heapDir) mkdirSync(heapDir, { recursive: true });
  const probe = pathToFileURL(join(import.meta.dirname, 'soak-probe.js')).href;
  const lab = await startLabProcess({
    only: ['smtp', 'pop3', 'imap', 'http', ...(netns ? ['dhcp'] : [])],
    config: { users: [...users, TEACHER], instructors: [TEACHER.name], limits: { maxConnections: 4000 }, services: dhcpConfig, lab: { history: LAB_HISTORY } },
    timeoutMs: 120_000,
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${probe}`.trim(),
      LABNET_SOAK_MEMORY_LOG: memoryLog,
      ...(V8_FLAGS ? { LABNET_SOAK_V8_FLAGS: V8_FLAGS } : {}),
      ...(heapDir ? { LABNET_SOAK_HEAP_DIR: heapDir } : {}),
    },
  });
  const pid = lab.proc.pid!;
  const ca = readFileSync(join(lab.dataDir, 'tls', 'ca.crt'), 'utf8');
  const ports = {
    smtp: lab.port('smtp', 'submission'),
    pop3: lab.port('pop3'),
    imap: lab.port('imap'),
    http: lab.port('http'),
    https: lab.port('http', 'https'),
  };
  console.log(
    `labnet pid ${pid}: ${STUDENTS} students for ${SECONDS} s (warm-up: until the lab's history is at its bounds, at least ${WARMUP_S} s), RSS at start ${(rssKb(pid) / 1024).toFixed(1)} MB`,
  );

  const t0 = Date.now();
  const end = t0 + SECONDS * 1000;
  const running = (): boolean => Date.now() < end;
  /**
   * A student's pause (think time: the load's shape, not a wait for a state), cut short at the end of
   * the run (so the run lasts what was asked).
   */
  const pause = (ms: number): Promise<void> => sleep(Math.max(0, Math.min(ms, end - Date.now())));
  const acknowledged: Array<{ tag: string; to: string }> = [];
  /** Message-IDs (tags) each student downloaded by POP3 and deleted (counted once QUIT said +OK). */
  const downloaded = new Map<string, Set<string>>();
  /** The fill's NOOPs (see the warm-up): sent, failed, and when the last student finished. */
  const fill = { sent: 0, errors: 0, doneAt: 0, students: 0, topUps: 0, lastSeq: 0 };
  let seq = 0;
  const rss: Array<[number, number]> = [];
  const sampler = setInterval(() => rss.push([(Date.now() - t0) / 1000, rssKb(pid) / 1024]), 5000);
  const labStats: Array<{ s: number } & LabStats> = [];
  // The lab's own counts, read as its instructor (a lab login, not one of the students).
  const cookie = await labLogin(ports.http, TEACHER.name, TEACHER.password);
  const first = cookie ? await readLabStats(ports.http, cookie) : undefined;
  if (!first) throw new Error('cannot read /lab/api/stats as the soak instructor');
  const bounds = first.bounds;
  /** Why the warm-up ended when it did. */
  let warmupWhy = '';
  /** The newest answer of /lab/api/stats. */
  let latest: LabStats = first;
  const labSampler = setInterval(() => {
    const s = (Date.now() - t0) / 1000;
    void readLabStats(ports.http, cookie!).then((x) => {
      if (!x) return;
      latest = x;
      labStats.push({ s, ...x });
      // The newest event number once every student's fill is done: the fill's events are all at or before it.
      if (FILL_HISTORY && fill.lastSeq === 0 && fill.students >= STUDENTS) fill.lastSeq = x.seq;
      if (steadyFrom !== Infinity || s < WARMUP_S) return;
      const turnedOver = !FILL_HISTORY || (fill.lastSeq > 0 && x.seq - x.historyItems >= fill.lastSeq);
      const full = historyFull(x, STUDENTS, netns !== undefined) && turnedOver;
      if (full || s >= SECONDS * 0.6) {
        // Not full by 60% of the run: the slope is still measured (over the rest), and flagged.
        steadyFrom = performance.now();
        warmupS = s;
        warmupWhy = full
          ? `the lab's history at its bounds and its replay window past the fill (${describeFill(x, fill.lastSeq)})`
          : `history NOT at its bounds${turnedOver ? '' : ' (or the replay window still holds the fill)'} by ${Math.round(s)} s (${describeFill(x, fill.lastSeq)})`;
        console.log(`warm-up ends at ${Math.round(s)} s: ${warmupWhy}`);
        warmedUp();
      }
    });
  }, 5000);
  const snapshots: string[] = [];
  let warmedUp: () => void = () => {};
  const warmupEnded = new Promise<void>((r) => (warmedUp = r));
  const snapshotsDone = heapDir ? heapSnapshots(pid, memoryLog, end, warmupEnded, snapshots) : Promise.resolve();

  const filled: boolean[] = [];
  /**
   * The warm-up's fill: NOOPs (a command line and a reply line each) until the session's transcript
   * holds more lines than the lab keeps of one session. One every 50 ms per student: 100 students make
   * 4,000 lines a second, below the lab's recording budget (5,000 by default), but with the class's own
   * traffic a burst can go past it and the lines it thins are not recorded. So after enough NOOPs for
   * the bound, the student asks the lab (as the instructor) how many lines its open session recorded
   * and tops up until it is past the bound (bounded in rounds). Untimed: these are not the class's
   * commands.
   */
  async function fillTranscript(c: LineClient, i: number, linesPerSession: number): Promise<void> {
    let k = 0;
    let want = Math.ceil(linesPerSession / 2) + 20;
    for (let round = 0; round < 8 && want > 0 && running(); round++) {
      for (let n = 0; n < want && running(); n++) {
        const tag = `w${k++}`;
        c.write(`${tag} NOOP\r\n`);
        fill.sent++;
        for (;;) {
          const l = await c.line(TIMEOUT_MS);
          if (l === null) throw new Error('imap: connection closed during the fill');
          if (l.startsWith(`${tag} `)) {
            if (!l.startsWith(`${tag} OK`)) {
              fill.errors++;
              throw new Error(`imap fill: ${l}`);
            }
            break;
          }
        }
        await pause(50);
      }
      const recorded = await openSessionLines(ports.http, cookie!, name(i));
      if (recorded === undefined) break; // not readable: the lab's stats will tell
      want = Math.ceil((linesPerSession + 40 - recorded) / 2);
      if (round > 0 && want > 0) fill.topUps++;
    }
  }

  /** A student's IMAP session: LOGIN, SELECT, then IDLE, waking every ~15 s for a few commands. */
  async function imapStudent(i: number): Promise<void> {
    let n = 0;
    while (running()) {
      let c: LineClient | undefined;
      try {
        c = await connectFrom(ports.imap, i);
        await timed(
          'imap',
          c,
          undefined,
          () => true,
          (l) => l.startsWith('* OK'),
        );
        const tagged = (tag: string) => (l: string) => l.startsWith(`${tag} `);
        const okTag = (tag: string) => (l: string) => l.startsWith(`${tag} OK`);
        await timed('imap', c, `a LOGIN ${name(i)} ${password(i)}`, tagged('a'), okTag('a'));
        await timed('imap', c, 'b SELECT INBOX', tagged('b'), okTag('b'));
        if (FILL_HISTORY && !filled[i]) {
          await fillTranscript(c, i, bounds.linesPerSession);
          filled[i] = true;
          fill.students++;
          fill.doneAt = (Date.now() - t0) / 1000;
        }
        while (running()) {
          const tag = `i${n++}`;
          await timed(
            'imap',
            c,
            `${tag} IDLE`,
            (l) => l.startsWith('+'),
            (l) => l.startsWith('+'),
          );
          await pause(jitter(15_000));
          await timed('imap', c, 'DONE', tagged(tag), okTag(tag));
          const f = `f${n}`;
          await timed('imap', c, `${f} UID FETCH 1:* (FLAGS)`, tagged(f), okTag(f));
          const o = `n${n}`;
          await timed('imap', c, `${o} NOOP`, tagged(o), okTag(o));
        }
        await timed('imap', c, 'z LOGOUT', tagged('z'), okTag('z'));
      } catch (err) {
        error('imap', String(err));
        await pause(1000);
      } finally {
        c?.end();
      }
    }
  }

  /**
   * A student's visits to one service, every ~`everyMs` (a random first one, then jittered): a new
   * connection from the student's address for `visit`; an error is counted and the next visit comes
   * as usual. The pauses are the load's shape (think time), not waits for a state.
   */
  async function visits(p: Proto, port: number, i: number, everyMs: number, visit: (c: LineClient) => Promise<void>): Promise<void> {
    await pause(Math.random() * everyMs);
    while (running()) {
      let c: LineClient | undefined;
      try {
        c = await connectFrom(port, i);
        await visit(c);
      } catch (err) {
        error(p, String(err));
      } finally {
        c?.end();
      }
      await pause(jitter(everyMs));
    }
  }

  /** SMTP bursts: AUTH, three messages to random classmates, QUIT; every ~30 s. */
  function smtpStudent(i: number): Promise<void> {
    return visits('smtp', ports.smtp, i, 30_000, async (c) => {
      const reply = (code: string) => (l: string) => /^\d{3} /.test(l) && l.startsWith(code);
      const last = (l: string) => /^\d{3} /.test(l);
      await timed('smtp', c, undefined, last, reply('220'));
      await timed('smtp', c, 'EHLO student', last, reply('250'));
      const plain = Buffer.from(`\0${name(i)}\0${password(i)}`).toString('base64');
      await timed('smtp', c, `AUTH PLAIN ${plain}`, last, reply('235'));
      for (let m = 0; m < 3; m++) {
        const to = name(Math.floor(Math.random() * STUDENTS));
        const tag = `${name(i)}-${++seq}-${Date.now()}`;
        await timed('smtp', c, `MAIL FROM:<${name(i)}@lab.test>`, last, reply('250'));
        await timed('smtp', c, `RCPT TO:<${to}@lab.test>`, last, reply('250'));
        await timed('smtp', c, 'DATA', last, reply('354'));
        const body = `From: ${name(i)}@lab.test\r\nTo: ${to}@lab.test\r\nSubject: soak ${tag}\r\nMessage-ID: <${tag}@soak.lab.test>\r\n\r\n${'The quick brown fox. '.repeat(40)}\r\n.`;
        await timed('smtp', c, body, last, reply('250'));
        acknowledged.push({ tag, to });
      }
      await timed('smtp', c, 'QUIT', last, reply('221'));
    });
  }

  /**
   * A POP3 download every ~45 s: STAT, UIDL, then RETR and DELE of each message (at most
   * POP3_PER_VISIT), QUIT; a message RETR gave whole counts as received. --pop3-keep: RETR of the last
   * three, nothing deleted.
   */
  function pop3Student(i: number): Promise<void> {
    return visits('pop3', ports.pop3, i, 45_000, async (c) => {
      const status = (l: string) => l.startsWith('+OK') || l.startsWith('-ERR');
      const ok = (l: string) => l.startsWith('+OK');
      const multi = (l: string) => l === '.' || l.startsWith('-ERR');
      const multiOk = (l: string) => l === '.';
      await timed('pop3', c, undefined, status, ok);
      await timed('pop3', c, `USER ${name(i)}`, status, ok);
      await timed('pop3', c, `PASS ${password(i)}`, status, ok);
      const stat = await timed('pop3', c, 'STAT', status, ok);
      const count = Number(stat[0].split(' ')[1]);
      await timed('pop3', c, 'UIDL', (l) => multi(l), multiOk);
      if (POP3_KEEP) {
        for (let k = Math.max(1, count - 2); k <= count; k++) await timed('pop3', c, `RETR ${k}`, multi, multiOk);
        await timed('pop3', c, 'QUIT', status, ok);
        return;
      }
      for (let k = 1; k <= Math.min(count, POP3_PER_VISIT); k++) {
        const lines = await timed('pop3', c, `RETR ${k}`, multi, multiOk);
        for (const l of lines) {
          const m = /^Message-ID: <(\S+)@soak\.lab\.test>/i.exec(l);
          if (m) {
            // Received whole (the terminating dot came): the student has it, whether or not QUIT's
            // answer then arrives (a QUIT that timed out may still have deleted it on the server).
            let mine = downloaded.get(name(i));
            if (!mine) downloaded.set(name(i), (mine = new Set()));
            mine.add(m[1]);
            break;
          }
        }
        await timed('pop3', c, `DELE ${k}`, status, ok);
      }
      await timed('pop3', c, 'QUIT', status, ok);
    });
  }

  /** A page load on a new connection (HTTP every ~10 s, HTTPS every ~20 s with the CA verified). */
  async function webStudent(i: number, secure: boolean): Promise<void> {
    const p: Proto = secure ? 'https' : 'http';
    await pause(Math.random() * (secure ? 20_000 : 10_000));
    while (running()) {
      const t = performance.now();
      try {
        await new Promise<void>((resolve, reject) => {
          const options = {
            host: '127.0.0.1',
            port: secure ? ports.https : ports.http,
            path: '/',
            localAddress: studentAddress(i),
            agent: false,
            timeout: TIMEOUT_MS,
          };
          const req = secure ? https.get({ ...options, ca, servername: 'localhost' }) : http.get(options);
          req.on('response', (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', reject);
        });
        record(p, performance.now() - t);
        stats[p].ops++;
      } catch (err) {
        stats[p].ops++;
        error(p, String(err));
      }
      await pause(jitter(secure ? 20_000 : 10_000));
    }
  }

  /** A student's laptop: busybox udhcpc on their veth in the client namespace, for the whole run. */
  const dhcpClients: Array<{ proc: ChildProcess; events: string; link: ClientLink; exited: Promise<void> }> = [];
  function dhcpStudent(i: number, info: NetnsInfo): void {
    const link = info.links[i];
    const events = join(info.dir, `soak-${link.name}.events`);
    const script = join(info.dir, `soak-${link.name}.sh`);
    // The address really goes on the interface (renewals are unicast from it, RFC 2131 4.4.5).
    writeFileSync(
      script,
      `#!/bin/sh\necho "event=$1|ip=$ip|lease=$lease|t=$(date +%s)" >> ${events}\n` +
        `case "$1" in\n  deconfig) ip -4 addr flush dev "$interface" ;;\n  bound|renew) ip -4 addr flush dev "$interface"; ip addr add "$ip/$subnet" dev "$interface" ;;\nesac\nexit 0\n`,
    );
    chmodSync(script, 0o755);
    const proc = spawn('ip', ['netns', 'exec', info.clientNs, 'busybox', 'udhcpc', '-i', link.name, '-s', script, '-f', '-t', '5', '-T', '2', '-A', '1'], {
      stdio: 'ignore',
    });
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    dhcpClients.push({ proc, events, link, exited });
  }

  /**
   * The warm-up's DHCP fill: the lab keeps the last lab.history.dhcpPackets packets, which a class
   * renewing every 30 s (lease 60 s) fills only after about 12 minutes. Until it is full, each bound
   * student's laptop also runs a one-shot client on its interface, round by round (a laptop that
   * joins the network again: DISCOVER, OFFER, REQUEST, ACK for the address it holds; `udhcpc -q -n`,
   * its script /bin/true, so the long-running client and its address are left alone). Signalling the
   * running udhcpc instead (SIGUSR1) is no good: with a 60 s lease busybox deconfigures and starts
   * over. Each round waits for every one-shot to exit; bounded in rounds, and each one-shot in time.
   */
  const dhcpFill = { rounds: 0, runs: 0, failed: 0, doneAt: 0 };
  async function fillDhcpPackets(info: NetnsInfo): Promise<void> {
    const maxRounds = Math.ceil(bounds.dhcpPackets / (4 * Math.max(1, STUDENTS))) + 20;
    while (running() && steadyFrom === Infinity && latest.dhcpPackets < bounds.dhcpPackets && dhcpFill.rounds < maxRounds) {
      const runs: Array<Promise<void>> = [];
      let started = 0;
      for (const c of dhcpClients) {
        let bound = false;
        try {
          bound = readFileSync(c.events, 'utf8').includes('event=bound');
        } catch {
          // not bound yet
        }
        if (!bound) continue;
        // Ten at a time: a hundred process starts at once stalled the soak's own clients (seconds of
        // latency that were the soak's, not labnet's).
        if (++started % 10 === 0) await Promise.all(runs);
        dhcpFill.runs++;
        runs.push(
          new Promise<void>((done) => {
            const p = spawn(
              'ip',
              ['netns', 'exec', info.clientNs, 'busybox', 'udhcpc', '-i', c.link.name, '-q', '-n', '-t', '2', '-T', '2', '-s', '/bin/true'],
              {
                stdio: 'ignore',
              },
            );
            const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
            p.once('exit', (code) => {
              clearTimeout(timer);
              if (code !== 0) dhcpFill.failed++;
              done();
            });
          }),
        );
      }
      await Promise.all(runs);
      dhcpFill.rounds++;
      await pause(1000); // within the server's per-MAC rate limit (2 a second): the load's shape, not a wait for a state
    }
    dhcpFill.doneAt = (Date.now() - t0) / 1000;
  }

  const work: Array<Promise<void>> = [];
  for (let i = 0; i < STUDENTS; i++) {
    work.push(imapStudent(i), smtpStudent(i), pop3Student(i), webStudent(i, false), webStudent(i, true));
    if (netns) dhcpStudent(i, netns);
    await sleep(20); // the load's shape, not a wait for a state: the class arrives over a couple of seconds
  }
  if (netns && FILL_HISTORY) work.push(fillDhcpPackets(netns));
  await Promise.all(work);
  clearInterval(sampler);
  clearInterval(labSampler);
  rss.push([(Date.now() - t0) / 1000, rssKb(pid) / 1024]);
  await snapshotsDone;
  if (heapDir) snapshots.push(await heapSnapshot(pid, memoryLog));
  const memory = readMemoryLog(memoryLog, t0);
  // Laptops switched off: no RELEASE (SIGKILL), so every lease must still be in the journal.
  // `ip netns exec` execs udhcpc, so the pid is the client's: its exit is the event to wait for.
  for (const c of dhcpClients) c.proc.kill('SIGKILL');
  // A deadline, not a wait: a client still running after it is an error, not a silent continue.
  await Promise.all(
    dhcpClients.map((c) => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`udhcpc on ${c.link.name} (pid ${c.proc.pid}) did not exit within 5 s of SIGKILL`)), 5000);
      });
      return Promise.race([c.exited, deadline]).finally(() => clearTimeout(timer));
    }),
  );

  // Every acknowledged message (its Message-ID) must be in its recipient's Maildir (new/ or cur/).
  const tagsByUser = new Map<string, Set<string>>();
  for (const u of new Set(acknowledged.map((a) => a.to))) {
    const found = new Set<string>();
    for (const d of ['new', 'cur']) {
      const dir = join(lab.dataDir, 'mail', u, d);
      let files: string[] = [];
      try {
        files = readdirSync(dir);
      } catch {
        // no mail yet
      }
      for (const f of files) {
        const head = readFileSync(join(dir, f), 'latin1').slice(0, 4096);
        const m = /^Message-ID: <(\S+)@soak\.lab\.test>/im.exec(head);
        if (m) found.add(m[1]);
      }
    }
    tagsByUser.set(u, found);
  }
  const lost = acknowledged.filter((a) => !tagsByUser.get(a.to)?.has(a.tag) && !downloaded.get(a.to)?.has(a.tag));
  const inMaildirs = acknowledged.filter((a) => tagsByUser.get(a.to)?.has(a.tag)).length;
  await lab.stop();
  const dhcpReport = netns ? checkDhcp(dhcpClients, join(lab.dataDir, 'dhcp', 'leases.journal')) : undefined;
  lab.cleanup();

  if (steadyFrom === Infinity) warmupWhy = 'the run ended first';
  console.log(`\nwarm-up: ${Math.round(warmupS)} s, ended by ${warmupWhy}`);
  if (FILL_HISTORY)
    console.log(
      `history fill: ${fill.sent} NOOPs (untimed), ${fill.errors} failed, ${fill.topUps} top-ups of sessions the recording budget thinned, ${fill.students} of ${STUDENTS} students done by ${Math.round(fill.doneAt)} s (lines per session kept: ${bounds.linesPerSession})`,
    );
  if (netns && FILL_HISTORY)
    console.log(
      `dhcp fill: ${dhcpFill.runs} one-shot clients (${dhcpFill.failed} without a lease) in ${dhcpFill.rounds} rounds, until ${Math.round(dhcpFill.doneAt)} s`,
    );
  console.log(`\nprotocol  operations  errors   p50 ms   p99 ms   max ms   p99 ms after the ${Math.round(warmupS)} s warm-up`);
  for (const [p, s] of Object.entries(stats)) {
    const cols = [
      percentile(s.latencies, 0.5).toFixed(1),
      percentile(s.latencies, 0.99).toFixed(1),
      Math.max(0, ...s.latencies).toFixed(0),
      percentile(s.steady, 0.99).toFixed(1),
    ];
    console.log(`${p.padEnd(8)}  ${String(s.ops).padStart(10)}  ${String(s.errors).padStart(6)}  ${cols.map((c) => c.padStart(7)).join('  ')}`);
    for (const e of s.firstErrors) console.log(`          ${e}`);
  }
  console.log('\ncommand            count   p50 ms   p99 ms');
  for (const [k, v] of [...perCommand].sort())
    console.log(
      `${k.padEnd(17)}  ${String(v.length).padStart(5)}  ${percentile(v, 0.5).toFixed(1).padStart(7)}  ${percentile(v, 0.99).toFixed(1).padStart(7)}`,
    );
  const after = rss.filter(([t]) => t >= warmupS);
  const slope = slopePerMinute(after);
  // V8 keeps enlarging its reserved heap for a minute or two after the caches fill, so the slope from
  // the end of the warm-up includes that step; the second half of the measured window shows the plateau.
  const mid = after.length > 0 ? (after[0][0] + after[after.length - 1][0]) / 2 : 0;
  const lateHalf = after.filter(([t]) => t >= mid);
  const lateSlope = slopePerMinute(lateHalf);
  const mb = rss.map(([, v]) => v);
  console.log(
    `\nmessages acknowledged ${acknowledged.length} (${acknowledged.length - inMaildirs} downloaded by POP3 and deleted, ${inMaildirs} in the Maildirs), lost ${lost.length}${
      lost.length
        ? ` (first: ${lost
            .slice(0, 3)
            .map((l) => `${l.tag} -> ${l.to}`)
            .join(', ')})`
        : ''
    }`,
  );
  console.log(
    `RSS MB: start ${mb[0]?.toFixed(1)}, min ${Math.min(...mb).toFixed(1)}, max ${Math.max(...mb).toFixed(1)}, end ${mb[mb.length - 1]?.toFixed(1)}; slope after the ${Math.round(warmupS)} s warm-up: ${slope.toFixed(2)} MB/min over ${after.length} samples; over the second half (from ${Math.round(mid)} s): ${lateSlope.toFixed(2)} MB/min`,
  );
  for (const line of memoryReport(memory, labStats)) console.log(line);
  for (const s of snapshots) console.log(`heap snapshot ${s}`);
  if (snapshots.length >= 2) console.log(`compare: node build/test/bench/heap-diff.js ${snapshots.join(' ')}`);
  if (MEMORY_LOG) copyFileSync(memoryLog, MEMORY_LOG);
  if (LABNET_LOG) writeFileSync(LABNET_LOG, lab.stdout() + lab.stderr());
  rmSync(probeDir, { recursive: true, force: true });
  if (dhcpReport) for (const line of dhcpReport.lines) console.log(line);
  else console.log('dhcp: not driven (needs root; --dhcp on)');
  const errors = Object.values(stats).reduce((a, s) => a + s.errors, 0) + (dhcpReport?.errors ?? 0);
  const leasesLost = dhcpReport?.lost ?? 0;
  const ok = errors === 0 && lost.length === 0 && leasesLost === 0;
  console.log(ok ? 'soak: zero errors, nothing lost' : `soak: ${errors} errors, ${lost.length} messages lost, ${leasesLost} leases lost`);
  if (!ok) process.exitCode = 1;
}

/** Least-squares slope of (seconds, MB) samples, in MB per minute (0 for fewer than two). */
function slopePerMinute(xy: ReadonlyArray<readonly [number, number]>): number {
  if (xy.length < 2) return 0;
  const mx = xy.reduce((a, [t]) => a + t, 0) / xy.length;
  const my = xy.reduce((a, [, v]) => a + v, 0) / xy.length;
  const num = xy.reduce((a, [t, v]) => a + (t - mx) * (v - my), 0);
  const den = xy.reduce((a, [t]) => a + (t - mx) ** 2, 0);
  return den > 0 ? (num / den) * 60 : 0;
}

type MemoryKey = 'rss' | 'heapTotal' | 'newSpace' | 'oldSpace' | 'oldFree' | 'heapUsed' | 'external' | 'arrayBuffers';
/** `outsideHeap`: RSS less the JS heap's reserved size (code, malloc: Buffers, TLS, libuv). */
type MemorySample = { s: number; outsideHeap: number } & Record<MemoryKey, number>;

/** After a full collection (the probe's GC observer): the heap in use then (the live heap) and old space reserved, MB. */
interface MajorGc {
  s: number;
  live: number;
  oldSpace: number;
}

/** The probe's samples (seconds since the run started, MB) and its full collections, snapshot markers left out. */
function readMemoryLog(path: string, t0: number): { samples: MemorySample[]; majors: MajorGc[] } {
  const out: MemorySample[] = [];
  const majors: MajorGc[] = [];
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"t":') || line.includes('"snapshot"')) continue;
    if (line.includes('"major"')) {
      const g = JSON.parse(line) as { t: number; major: number; oldSpace: number };
      majors.push({ s: (g.t - t0) / 1000, live: g.major / 1048576, oldSpace: g.oldSpace / 1048576 });
      continue;
    }
    const m = JSON.parse(line) as { t: number } & Record<MemoryKey, number>;
    const mb = (k: MemoryKey): number => (m[k] ?? 0) / 1048576;
    out.push({
      s: (m.t - t0) / 1000,
      rss: mb('rss'),
      heapTotal: mb('heapTotal'),
      newSpace: mb('newSpace'),
      oldSpace: mb('oldSpace'),
      oldFree: mb('oldFree'),
      heapUsed: mb('heapUsed'),
      external: mb('external'),
      arrayBuffers: mb('arrayBuffers'),
      outsideHeap: mb('rss') - mb('heapTotal'),
    });
  }
  return { samples: out, majors };
}

/** What the live lab keeps (GET /lab/api/stats as its instructor): its bounded history's fill. */
interface LabStats {
  sessions: number;
  bytesKept: number;
  historyItems: number;
  historyBytes: number;
  openSessions: number;
  openSessionsTrimmed: number;
  /** The newest event number (the replay window holds the last historyItems of them). */
  seq: number;
  bounds: { sessions: number; linesPerSession: number; maxBytes: number; replayEvents: number; replayBytes: number; dhcpPackets: number };
  dhcpPackets: number;
}

/**
 * Whether the lab's history is at its bounds: as many sessions kept as it keeps, the replay window full
 * (by count or octets), and the transcripts at their budget, or the class's long sessions (one IMAP
 * session per student) each trimmed to its line bound; with DHCP, its packet window full too.
 */
function historyFull(x: LabStats, students: number, dhcp: boolean): boolean {
  const b = x.bounds;
  const window = x.historyItems >= b.replayEvents || x.historyBytes >= b.replayBytes * 0.95;
  const transcripts = x.bytesKept >= b.maxBytes * 0.95 || x.openSessionsTrimmed >= students;
  return x.sessions >= b.sessions && window && transcripts && (!dhcp || x.dhcpPackets >= b.dhcpPackets);
}

function describeFill(x: LabStats, fillLastSeq: number): string {
  const b = x.bounds;
  const windowFrom = x.seq - x.historyItems + 1;
  return (
    `${x.sessions}/${b.sessions} sessions, ${x.openSessionsTrimmed}/${x.openSessions} open ones trimmed, ` +
    `${(x.bytesKept / 1048576).toFixed(1)}/${(b.maxBytes / 1048576).toFixed(0)} MiB of transcripts, ` +
    `${x.historyItems}/${b.replayEvents} replay events, ${(x.historyBytes / 1048576).toFixed(1)}/${(b.replayBytes / 1048576).toFixed(0)} MiB, ` +
    `${x.dhcpPackets}/${b.dhcpPackets} DHCP packets, replay window from event ${windowFrom} (${fillLastSeq ? `fill done by event ${fillLastSeq}` : 'fill not done'})`
  );
}

/** Logs in to the live lab (POST /lab/login); the session cookie, or undefined. */
function labLogin(port: number, user: string, pass: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const body = new URLSearchParams({ user, password: pass }).toString();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/lab/login',
        method: 'POST',
        agent: false,
        timeout: TIMEOUT_MS,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        res.resume();
        const set = res.headers['set-cookie']?.[0];
        resolve(res.statusCode === 303 && set ? set.split(';')[0] : undefined);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

function readLabStats(port: number, cookie: string): Promise<LabStats | undefined> {
  return getJson<LabStats>(port, cookie, '/lab/api/stats');
}

/** Lines the lab recorded of a student's open IMAP session (GET /lab/api/sessions as the instructor), or undefined. */
async function openSessionLines(port: number, cookie: string, user: string): Promise<number | undefined> {
  const x = await getJson<{ sessions: Array<{ closedAt?: number; lines: number }> }>(
    port,
    cookie,
    `/lab/api/sessions?service=imap&user=${encodeURIComponent(user)}`,
  );
  const open = x?.sessions.filter((s) => s.closedAt === undefined);
  return open && open.length > 0 ? Math.max(...open.map((s) => s.lines)) : undefined;
}

/** GET of a lab API path with the instructor's cookie: its JSON on 200, else undefined. */
function getJson<T>(port: number, cookie: string, path: string): Promise<T | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: TIMEOUT_MS, headers: { cookie } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as T) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * RSS beside the JS heap (reserved and used), external and arrayBuffers, and the lab's history
 * (sessions kept, their transcript octets, replay events and their octets, against lab.history's
 * bounds): at start, warm-up end, middle, end; slopes after warm-up.
 */
function memoryReport(
  { samples, majors }: { samples: readonly MemorySample[]; majors: readonly MajorGc[] },
  lab: ReadonlyArray<{ s: number } & LabStats>,
): string[] {
  if (samples.length === 0) return ['memory: no samples from the probe'];
  const at = (s: number): MemorySample => samples.reduce((best, x) => (Math.abs(x.s - s) < Math.abs(best.s - s) ? x : best));
  const points: Array<[string, MemorySample]> = [
    ['start', samples.find((x) => x.s >= 0) ?? samples[0]],
    [`${Math.round(warmupS)} s`, at(warmupS)],
    [`${Math.round((warmupS + SECONDS) / 2)} s`, at((warmupS + SECONDS) / 2)],
    ['end', at(SECONDS)],
  ];
  const keys: Array<MemoryKey | 'outsideHeap'> = ['rss', 'heapTotal', 'newSpace', 'oldSpace', 'oldFree', 'heapUsed', 'outsideHeap', 'external', 'arrayBuffers'];
  const half = (warmupS + SECONDS) / 2;
  const steady = samples.filter((x) => x.s >= warmupS && x.s <= SECONDS);
  const late = steady.filter((x) => x.s >= half);
  const slopes = (xy: Array<readonly [number, number]>, lateXy: Array<readonly [number, number]>): string =>
    `${slopePerMinute(xy).toFixed(2).padStart(10)}${slopePerMinute(lateXy).toFixed(2).padStart(13)}`;
  const lines = [`\nmemory MB       ${points.map(([l]) => l.padStart(9)).join('')}   MB/min: after warm-up, 2nd half (from ${Math.round(half)} s)`];
  for (const k of keys)
    lines.push(
      `  ${k.padEnd(13)}${points.map(([, x]) => x[k].toFixed(1).padStart(9)).join('')}   ${slopes(
        steady.map((x) => [x.s, x[k]] as const),
        late.map((x) => [x.s, x[k]] as const),
      )}`,
    );
  // The live heap: heap in use right after each full collection (nearest one to each point in time).
  if (majors.length > 0) {
    const majorAt = (s: number): MajorGc => majors.reduce((best, x) => (Math.abs(x.s - s) < Math.abs(best.s - s) ? x : best));
    const m = majors.filter((x) => x.s >= warmupS && x.s <= SECONDS);
    lines.push(
      `  ${'live heap'.padEnd(13)}${points.map(([, x]) => majorAt(x.s).live.toFixed(1).padStart(9)).join('')}   ${slopes(
        m.map((x) => [x.s, x.live] as const),
        m.filter((x) => x.s >= half).map((x) => [x.s, x.live] as const),
      )}   (after each of ${m.length} full GCs since the warm-up)`,
    );
  }
  // Minute by minute from the end of the warm-up (each full minute's mean; the live heap: its last full
  // GC's): whether the growth levels off reads better here than in one slope.
  const minutes = Math.floor((SECONDS - warmupS) / 60);
  if (minutes >= 2) {
    const inMinute = <T extends { s: number }>(xs: readonly T[], i: number): T[] => xs.filter((x) => x.s >= warmupS + 60 * i && x.s < warmupS + 60 * (i + 1));
    const mean = (xs: readonly MemorySample[], k: MemoryKey | 'outsideHeap'): string =>
      xs.length ? (xs.reduce((a, x) => a + x[k], 0) / xs.length).toFixed(1) : '-';
    const row = (label: string, f: (i: number) => string): string =>
      `  ${label.padEnd(13)}${Array.from({ length: minutes }, (_, i) => f(i).padStart(7)).join('')}`;
    lines.push(`
by minute after the warm-up (${Math.round(warmupS)} s), MB: minute${Array.from({ length: minutes }, (_, i) => String(i + 1).padStart(7)).join('')}`);
    for (const k of ['rss', 'heapTotal', 'oldSpace', 'oldFree', 'outsideHeap', 'arrayBuffers'] as const)
      lines.push(row(k, (i) => mean(inMinute(samples, i), k)));
    lines.push(
      row('live heap', (i) => {
        const m = inMinute(majors, i);
        return m.length ? m[m.length - 1].live.toFixed(1) : '-';
      }),
    );
  }
  if (lab.length === 0) return [...lines, 'lab history: no samples'];
  const labAt = (s: number): LabStats => lab.reduce((best, x) => (Math.abs(x.s - s) < Math.abs(best.s - s) ? x : best));
  const labRows: Array<[string, (x: LabStats) => number]> = [
    ['lab sessions', (x) => x.sessions],
    ['open trimmed', (x) => x.openSessionsTrimmed],
    ['lab text MB', (x) => x.bytesKept / 1048576],
    ['replay events', (x) => x.historyItems],
    ['replay MB', (x) => x.historyBytes / 1048576],
    ['dhcp packets', (x) => x.dhcpPackets],
  ];
  for (const [label, f] of labRows)
    lines.push(
      `  ${label.padEnd(13)}${points.map(([, x]) => (Number.isInteger(f(labAt(x.s))) ? String(f(labAt(x.s))) : f(labAt(x.s)).toFixed(1)).padStart(9)).join('')}`,
    );
  return lines;
}

/** Asks the probe for a heap snapshot (SIGUSR2) and waits for its line in the log; the snapshot's path. */
async function heapSnapshot(pid: number, memoryLog: string): Promise<string> {
  const count = (): string[] =>
    existsSync(memoryLog)
      ? readFileSync(memoryLog, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"snapshot"'))
      : [];
  const before = count().length;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  for (;;) {
    const lines = count();
    if (lines.length > before) return (JSON.parse(lines[lines.length - 1]) as { snapshot: string }).snapshot;
    if (Date.now() > deadline) throw new Error('no heap snapshot within 120 s');
    await sleep(250); // polling the probe's log for its line: the state waited for
  }
}

/**
 * Snapshots at the end of the warm-up (when the lab's history is at its bounds, or the run is nearly
 * over) and in the middle of the measured part; the last one comes after the run.
 */
async function heapSnapshots(pid: number, memoryLog: string, end: number, warmupEnded: Promise<void>, out: string[]): Promise<void> {
  await Promise.race([warmupEnded, sleep(Math.max(0, end - SECONDS * 250 - Date.now()))]); // or with a quarter of the run left
  const from = Date.now();
  out.push(await heapSnapshot(pid, memoryLog));
  await sleep(Math.max(0, (from + end) / 2 - Date.now())); // a point in time, not a state: the middle of the measured part
  out.push(await heapSnapshot(pid, memoryLog));
}

/**
 * The DHCP verdict: every client bound once and then only renewed the same address (a NAK, a lease
 * failure or a deconfig after binding is an error; another address is a lost lease), and the lease
 * journal's last record for its MAC is that address, bound.
 */
function checkDhcp(clients: ReadonlyArray<{ events: string; link: ClientLink }>, journal: string): { lines: string[]; errors: number; lost: number } {
  const last = new Map<string, { ip: string; state: string }>();
  if (existsSync(journal))
    for (const line of readFileSync(journal, 'utf8').split('\n')) {
      const r = line ? decodeRecord(line) : undefined;
      if (r) last.set(r.mac.toLowerCase(), { ip: intToIp(r.ip), state: r.state });
    }
  let bound = 0;
  let renewals = 0;
  let errors = 0;
  let lost = 0;
  let minRenewals = Infinity;
  const problems: string[] = [];
  const addresses = new Set<string>();
  const gaps: number[] = [];
  const leases = new Set<string>();
  for (const c of clients) {
    const ev = readEvents(c.events);
    const first = ev.findIndex((e) => e.event === 'bound');
    const problem = (what: string): void => void (problems.length < 5 && problems.push(`${c.link.name} (${c.link.mac}): ${what}`));
    if (first < 0) {
      errors++;
      problem(`never bound (${ev.map((e) => e.event).join(',') || 'no events'})`);
      continue;
    }
    bound++;
    const ip = ev[first].ip;
    addresses.add(ip);
    const after = ev.slice(first + 1);
    const renewed = after.filter((e) => e.event === 'renew');
    renewals += renewed.length;
    const times = [ev[first], ...renewed].map((e) => Number(e.t));
    for (let k = 1; k < times.length; k++) gaps.push(times[k] - times[k - 1]);
    if (ev[first].lease) leases.add(ev[first].lease);
    minRenewals = Math.min(minRenewals, renewed.length);
    const bad = after.filter((e) => e.event !== 'renew');
    if (bad.length > 0) {
      errors++;
      problem(`after binding ${ip}: ${bad.map((e) => `${e.event}${e.ip ? ` ${e.ip}` : ''}`).join(', ')}`);
    }
    const moved = after.filter((e) => e.ip && e.ip !== ip);
    const rec = last.get(c.link.mac.toLowerCase());
    if (moved.length > 0 || !rec || rec.ip !== ip || rec.state !== 'bound') {
      lost++;
      problem(`holds ${ip}; renewals gave ${moved.map((e) => e.ip).join(',') || 'the same'}; journal: ${rec ? `${rec.ip} ${rec.state}` : 'nothing'}`);
    }
  }
  // A run long enough for a renewal (T1 = half the lease) must see every client renew.
  if (SECONDS >= DHCP_LEASE_S + 30 && minRenewals === 0) {
    errors++;
    problems.push('a client never renewed');
  }
  if (addresses.size !== bound) {
    errors++;
    problems.push(`${bound} clients bound but only ${addresses.size} distinct addresses`);
  }
  const lines = [
    `dhcp: ${clients.length} udhcpc clients, ${bound} bound (${addresses.size} distinct addresses), ${renewals} renewals acknowledged (at least ${Number.isFinite(minRenewals) ? minRenewals : 0} per client), ` +
      `leases lost ${lost}, errors ${errors}; lease journal: ${last.size} clients`,
    `dhcp: lease ${[...leases].join('/')} s, median ${median(gaps).toFixed(0)} s between a client's bind and renewals`,
    ...problems.map((p) => `          ${p}`),
  ];
  return { lines, errors, lost };
}

/** As root: the namespaces, then this script again inside the server namespace; cleaned up at exit. */
async function outer(): Promise<void> {
  const fx = new NetnsFixture(DHCP_PREFIX);
  const stop = (): void => {
    fx.destroySync();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const links = Array.from({ length: STUDENTS }, () => fx.addLink());
    const info: NetnsInfo = { serverNs: fx.serverNs, clientNs: fx.clientNs, bridge: fx.bridge, dir: fx.dir, links };
    console.log(`namespaces ${fx.serverNs} (bridge ${fx.bridge}) and ${fx.clientNs} (${links.length} veths); the soak runs inside ${fx.serverNs}`);
    const child = spawn('ip', ['netns', 'exec', fx.serverNs, process.execPath, process.argv[1], ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [NETNS_ENV]: JSON.stringify(info) },
    });
    process.exitCode = await new Promise<number>((r) => child.once('exit', (code) => r(code ?? 1)));
  } finally {
    await fx.destroy();
  }
}

if (DHCP && !process.env[NETNS_ENV]) await outer();
else await main();

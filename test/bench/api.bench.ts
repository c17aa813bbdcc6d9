// `make bench BENCH=api`: the test-suite workflow end to end. nodemailer (a pool of 5 connections,
// plain SMTP) sends N messages; the clock stops when the receiving side has them all, read back parsed:
//   labnet       startLabnet in process, durable Maildir delivery (fsync before 250), lab.mail.waitFor
//                ({ count: N }) started with the first send and resolving with N parsed messages
//   smtp-server  the usual hand-made test double: nodemailer's smtp-server in process, each message
//                parsed with mailparser into an array in memory, a promise resolving at N
//   mailpit      only if a package registry here provides it (it is a Go binary): said so otherwise
// Rounds interleave the peers; medians of the rounds and labnet's ratio to the double are printed
// (target: labnet at most 1.5x the in-memory double).
// Options: --runs R (default 5), --messages N (default 1000), --connections C (default 5), --data-root DIR
// (labnet's data directories' parent, default .bench/api-data: see DATA_ROOT), --peers labnet,smtp-server,disk-floor (the default; run only these,
// e.g. one peer under --cpu-prof; the ratio needs both). Extra labnet columns, interleaved with the
// others so they see the same load: `labnet-inline` (mailStore.deliveryWriter: inline), `labnet-shm`
// (its data in /dev/shm: no disk wait, so the difference to `labnet` is what the fsyncs cost), e.g.
// --peers labnet,labnet-inline,labnet-shm,smtp-server. `disk-floor` (a column of its own, not a peer):
// the durable file work alone, no SMTP: C chains (one per connection) each write MESSAGES/C files
// as a delivery does (write, fdatasync, rename into new/, fsync new/), so labnet's wall time can be
// read against what this disk needs at that moment (each connection waits for its 250, so a
// connection's deliveries are that far apart at least). `smtp-server-durable` (a peer): the double
// made durable the plainest way, each message written as a Maildir file and synced before its 250
// while mailparser parses it (runDouble): what a durable store needs on this disk at this load even
// with the double's own SMTP and parsing, so labnet's ratio can be read against it. `journal-floor` (also a column, not in the
// default set): the same with the delivery-journal design's durable work instead (files unsynced, one
// journal fdatasync per group of deliveries: runJournalFloor).
// Each round also records this process's CPU time (user + system, every thread: the sender, the
// receiver and the thread pool's file work) from the first send to the last message: on a busy
// machine wall times swing by 2x between rounds while CPU times stay comparable, so the CPU ratio is
// the figure to compare commits by there (it leaves out waiting for the disk: see the wall ratio).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, promises as fsp, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { startLabnet } from '../../app/labnet.js';
import { arg, median } from '../support/bench-util.js';

const RUNS = Number(arg('runs', '5'));
const MESSAGES = Number(arg('messages', '1000'));
const CONNECTIONS = Number(arg('connections', '5'));
// Where labnet's data dirs go (one per round; --data-root /dev/shm shows what the fsyncs cost on this
// machine's disk). The default is a directory of the checkout's own (.bench/api-data, git-ignored), not
// the temp dir: `make test` creates and deletes hundreds of thousands of files under /tmp, and on an
// ext4 file system without a journal (this VM's root, /proc/fs/ext4/<dev>/options: no journal_task)
// the inode allocator skips every inode freed in the last seconds to minutes (fs/ext4/ialloc.c,
// recently_deleted(): 5 s, 305 s while its inode-table block is dirty), one buffer lookup each, so right
// after such a run each file created there cost 0.2-0.4 ms of CPU instead of 0.02 (probed: 1,000
// creates). The probe below prints what a create costs in DATA_ROOT when the bench starts.
const DATA_ROOT = arg('data-root', join(process.cwd(), '.bench', 'api-data'));
mkdirSync(DATA_ROOT, { recursive: true });
// Every round's directories are removed once the last round is done, not between rounds: deleting a
// round's thousands of files right before the next round would make that round's file creates pay
// for them (above), a cost of the harness and not of the mail server.
const toRemove: string[] = [];

interface Sample {
  /** Send start to the receiver having every message (parsed). */
  lastMs: number;
  /** Send start to the last 250 the sender saw. */
  acceptedMs: number;
  /** CPU time of this process (all threads) from send start to the last message. */
  cpuMs: number;
  /** CPU time of the main thread alone (the event loop: what bounds the rate on an idle machine). */
  loopCpuMs: number;
}

/** User + system CPU time of the calling thread in ms (/proc/thread-self/stat; 0 where there is none). */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime) are the 12th and 13th after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** The 1-minute load average (/proc/loadavg), printed with every figure: this machine is shared. */
function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  } catch {
    return '?';
  }
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Sends MESSAGES messages over a pool; resolves when every one was accepted. */
async function sendAll(port: number, tag: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: CONNECTIONS,
    maxMessages: Infinity,
  });
  try {
    await Promise.all(
      Array.from({ length: MESSAGES }, (_, i) =>
        transport.sendMail({ from: 'app@bench.example', to: 'alice@lab.test', subject: `bench ${tag} #${i}`, text: `message ${i} of ${MESSAGES}\n`.repeat(8) }),
      ),
    );
  } finally {
    transport.close();
  }
}

async function timed(send: () => Promise<void>, received: Promise<number>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const l0 = threadCpuMs();
  const t0 = performance.now();
  let acceptedMs = 0;
  const sending = send().then(() => {
    acceptedMs = performance.now() - t0;
  });
  const count = await received;
  const lastMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const loopCpuMs = threadCpuMs() - l0;
  await sending;
  if (count < MESSAGES) throw new Error(`only ${count} of ${MESSAGES} messages arrived`);
  return { lastMs, acceptedMs, cpuMs: (cpu.user + cpu.system) / 1000, loopCpuMs };
}

async function runLabnet(round: number, variant: { writer?: 'worker' | 'inline'; dataRoot?: string } = {}): Promise<Sample> {
  const dataDir = mkdtempSync(join(variant.dataRoot ?? DATA_ROOT, 'labnet-api-bench-'));
  const lab = await startLabnet({
    defaults: false,
    logLevel: 'silent',
    config: {
      listen: '127.0.0.1',
      dataDir,
      users: [{ name: 'alice', password: 'pw' }],
      services: { smtp: { port: 0, submissionPort: 0, smtpsPort: 0 } },
      ...(variant.writer ? { mailStore: { deliveryWriter: variant.writer } } : {}),
    },
  });
  try {
    const tag = `labnet-${round}`;
    const port = lab.ports.smtp;
    // waitFor is called before the first send, as a test would; it resolves with every message parsed.
    return await timed(
      () => sendAll(port, tag),
      lab.mail.waitFor({ to: 'alice@lab.test', subject: tag, count: MESSAGES, timeoutMs: 300_000 }).then((m) => m.length),
    );
  } finally {
    await lab.stop();
    toRemove.push(dataDir);
  }
}

/**
 * The double. `durable` (the `smtp-server-durable` column, a ceiling for any durable design on this
 * disk): the same double made durable the plainest way, each message read whole, then written as a
 * Maildir delivery (tmp/, fdatasync, rename into new/, fsync new/) while mailparser parses it, and
 * its 250 sent once both are done.
 */
async function runDouble(round: number, durable = false): Promise<Sample> {
  const inbox: ParsedMail[] = [];
  let arrived: (n: number) => void = () => {};
  const all = new Promise<number>((r) => (arrived = r));
  const dir = durable ? scratchMaildir('labnet-api-bench-ddouble-') : '';
  let seq = 0;
  const receive = async (stream: NodeJS.ReadableStream): Promise<ParsedMail> => {
    if (!durable) return simpleParser(stream as Readable);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const [mail] = await Promise.all([simpleParser(raw), deliverDurably(dir, `m${seq++}`, raw)]);
    return mail;
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      receive(stream).then(
        (mail) => {
          inbox.push(mail);
          if (inbox.length >= MESSAGES) arrived(inbox.length);
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as { port: number }).port;
  try {
    return await timed(() => sendAll(port, `double-${round}`), all);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** MESSAGES deliveries in CONNECTIONS chains (delivery i in chain i % CONNECTIONS), timed: a floor's sample. */
async function timedChains(deliver: (i: number) => Promise<void>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      for (let i = c; i < MESSAGES; i += CONNECTIONS) await deliver(i);
    }),
  );
  const lastMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { lastMs, acceptedMs: lastMs, cpuMs: (cpu.user + cpu.system) / 1000, loopCpuMs: 0 };
}

/** A Maildir delivery's file: written whole in tmp/ (fdatasync'ed when `datasync`), then renamed into new/. */
async function writeNew(dir: string, name: string, body: Buffer, datasync: boolean): Promise<void> {
  const tmp = join(dir, 'tmp', name);
  const fh = await fsp.open(tmp, 'wx');
  try {
    const { bytesWritten } = await fh.write(body, 0, body.length, 0);
    if (bytesWritten !== body.length) throw new Error('short write');
    if (datasync) await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, join(dir, 'new', name));
}

/** A Maildir delivery made durable: its file (writeNew, fdatasync'ed), then new/ fsynced. */
async function deliverDurably(dir: string, name: string, body: Buffer): Promise<void> {
  await writeNew(dir, name, body, true);
  const d = await fsp.open(join(dir, 'new'), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** A scratch Maildir (tmp/ and new/) in DATA_ROOT, removed after the last round. */
function scratchMaildir(prefix: string): string {
  const dir = mkdtempSync(join(DATA_ROOT, prefix));
  for (const sub of ['tmp', 'new']) mkdirSync(join(dir, sub));
  toRemove.push(dir);
  return dir;
}

/** The disk's own cost of MESSAGES durable deliveries, CONNECTIONS at a time (see `disk-floor` above). */
async function runDiskFloor(): Promise<Sample> {
  const dir = scratchMaildir('labnet-api-bench-floor-');
  const body = Buffer.alloc(900, 'x');
  return timedChains((i) => deliverDurably(dir, `m${i}`, body));
}

/**
 * `journal-floor`: the durable work of the delivery journal design (issue 17; not built yet), no SMTP:
 * C chains as in disk-floor, each delivery writing its file (tmp/, rename into new/) with no fsync,
 * and its octets appended to one journal file (zero-filled and fdatasync'ed before the clock starts,
 * so an append changes no file metadata) by a group commit: the entries queued while a commit is in
 * flight go in the next one, one write and one fdatasync per group. No checksum, no checkpoint (their
 * cost is per many deliveries), so this is what such a design can reach on this disk at best.
 */
async function runJournalFloor(): Promise<Sample> {
  const dir = scratchMaildir('labnet-api-bench-jfloor-');
  const body = Buffer.alloc(900, 'x');
  const entrySize = body.length + 64;
  const journal = await fsp.open(join(dir, 'journal'), 'w+');
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < MESSAGES * entrySize; at += zeros.length) await journal.write(zeros, 0, zeros.length, at);
  await journal.sync();
  let offset = 0;
  let queued: Array<{ entry: Buffer; done: () => void; fail: (err: unknown) => void }> = [];
  let committing = false;
  const commit = async (): Promise<void> => {
    committing = true;
    while (queued.length > 0) {
      const group = queued;
      queued = [];
      try {
        const { bytesWritten } = await journal.writev(
          group.map((g) => g.entry),
          offset,
        );
        if (bytesWritten !== group.length * entrySize) throw new Error('short write');
        offset += bytesWritten;
        await journal.datasync();
        for (const g of group) g.done();
      } catch (err) {
        for (const g of group) g.fail(err);
      }
    }
    committing = false;
  };
  const journaled = (entry: Buffer): Promise<void> =>
    new Promise<void>((done, fail) => {
      queued.push({ entry, done, fail });
      if (!committing) void commit();
    });
  try {
    return await timedChains(async (i) => {
      await writeNew(dir, `m${i}`, body, false);
      const entry = Buffer.alloc(entrySize);
      body.copy(entry, 64);
      await journaled(entry);
    });
  } finally {
    await journal.close();
  }
}

function mailpitAvailable(): string | undefined {
  try {
    execFileSync('which', ['mailpit'], { stdio: 'ignore' });
    return 'mailpit';
  } catch {
    return undefined;
  }
}

const PEERS = arg('peers', 'labnet,smtp-server,disk-floor').split(',');
const peers: Array<{ name: string; run: (round: number) => Promise<Sample> }> = [
  { name: 'labnet', run: (round: number) => runLabnet(round) },
  { name: 'labnet-inline', run: (round: number) => runLabnet(round, { writer: 'inline' }) },
  { name: 'labnet-shm', run: (round: number) => runLabnet(round, { dataRoot: '/dev/shm' }) },
  { name: 'smtp-server', run: (round: number) => runDouble(round) },
  { name: 'smtp-server-durable', run: (round: number) => runDouble(round, true) },
  { name: 'disk-floor', run: () => runDiskFloor() },
  { name: 'journal-floor', run: () => runJournalFloor() },
].filter((p) => PEERS.includes(p.name));
const samples = new Map<string, Sample[]>(peers.map((p) => [p.name, []]));
console.log(`api bench: nodemailer sends ${MESSAGES} messages over ${CONNECTIONS} connections; time until the receiver has them all, parsed; ${RUNS} rounds`);
if (!mailpitAvailable())
  console.log(
    'mailpit: not run. No package registry reachable here provides it: Debian has no mailpit package (apt-cache search mailpit finds nothing) and npm has only API clients (mailpit-api, cypress-mailpit); it is a Go binary.',
  );
console.log(`data root ${DATA_ROOT}: creating a file there costs ${createCostUs().toFixed(0)} µs of CPU now (500 creates; about 20 on a quiet ext4)`);
// One warm-up round each (JIT, page cache), not counted.
for (const p of peers) await p.run(-1);
for (let round = 0; round < RUNS; round++) {
  for (const p of peers) {
    const s = await p.run(round);
    samples.get(p.name)!.push(s);
    console.log(
      `  round ${round + 1} ${p.name.padEnd(19)} last message ${s.lastMs.toFixed(0).padStart(6)} ms (last 250 at ${s.acceptedMs.toFixed(0)} ms), cpu ${s.cpuMs.toFixed(0)} ms (event loop ${s.loopCpuMs.toFixed(0)} ms), load ${loadAverage()}`,
    );
  }
}
const med = (name: string, key: keyof Sample): number => median((samples.get(name) ?? []).map((s) => s[key]));
const base = med('smtp-server', 'lastMs');
console.log('\nmedians (time from the first send to the last message read back):');
for (const p of peers) {
  const last = med(p.name, 'lastMs');
  console.log(
    `  ${p.name.padEnd(19)} ${last.toFixed(0).padStart(6)} ms  ${((MESSAGES / last) * 1000).toFixed(0).padStart(5)} msg/s  last 250 at ${med(p.name, 'acceptedMs').toFixed(0)} ms  ${(last / base).toFixed(2)}x the in-memory double  cpu ${med(p.name, 'cpuMs').toFixed(0)} ms (${(med(p.name, 'cpuMs') / med('smtp-server', 'cpuMs')).toFixed(2)}x), event loop ${med(p.name, 'loopCpuMs').toFixed(0)} ms (${(med(p.name, 'loopCpuMs') / med('smtp-server', 'loopCpuMs')).toFixed(2)}x)`,
  );
}
const ratio = med('labnet', 'lastMs') / base;
/** The median of a's time over b's, round by round (the two ran seconds apart): steadier when the load changes between rounds. */
const pairedRatio = (a: string, b: string): number => {
  const bs = samples.get(b)!;
  return median(samples.get(a)!.map((s, i) => s.lastMs / bs[i].lastMs));
};
if (PEERS.includes('labnet') && PEERS.includes('smtp-server')) {
  const paired = pairedRatio('labnet', 'smtp-server');
  console.log(
    `\nlabnet (durable delivery) / smtp-server in memory: ${ratio.toFixed(2)}x (target at most 1.5x): ${ratio <= 1.5 ? 'met' : 'NOT met'}; median of the per-round ratios ${paired.toFixed(2)}x`,
  );
}
if (PEERS.includes('labnet') && PEERS.includes('smtp-server-durable')) {
  const paired = pairedRatio('labnet', 'smtp-server-durable');
  console.log(
    `labnet / the double made durable (smtp-server-durable): ${(med('labnet', 'lastMs') / med('smtp-server-durable', 'lastMs')).toFixed(2)}x; median of the per-round ratios ${paired.toFixed(2)}x; the durable double itself is ${(med('smtp-server-durable', 'lastMs') / base).toFixed(2)}x the in-memory one`,
  );
}
// Each connection waits for its message's durability before sending the next, so no design that
// makes a delivery durable with a file fsync and then a directory fsync can beat this column.
if (PEERS.includes('disk-floor') && PEERS.includes('smtp-server'))
  console.log(
    `the durable file work alone (disk-floor): ${(med('disk-floor', 'lastMs') / base).toFixed(2)}x the in-memory double's whole run, the least any such design needs on this disk at this load`,
  );
for (const dir of toRemove) rmSync(dir, { recursive: true, force: true });

/** CPU µs per file created in DATA_ROOT (open O_CREAT|O_EXCL and close; the files are removed at the end). */
function createCostUs(): number {
  const dir = mkdtempSync(join(DATA_ROOT, 'labnet-api-bench-probe-'));
  toRemove.push(dir);
  const n = 500;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) closeSync(openSync(join(dir, `f${i}`), 'wx'));
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

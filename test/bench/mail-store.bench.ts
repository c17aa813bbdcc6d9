// Mail store benchmark (issue 14, "long synchronous work"): a 10,000-message folder, driven through
// the store API in this process. For each step it prints the wall time and the longest time the event
// loop was blocked while the step ran (what every other session in the lab would wait), plus the heap
// a restart costs for 300 messages with a 200 KB Subject (the memory attack).
//   node build/test/bench/mail-store.bench.js [--messages 10000] [--runs 3]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailStore } from '../../core/mail-store/index.js';
import { arg, median } from '../support/bench-util.js';

const MESSAGES = Number(arg('messages', '10000'));
const RUNS = Number(arg('runs', '3'));

function message(i: number, subject = `benchmark message ${i}`): Buffer {
  const head =
    `Return-Path: <bob@lab.test>\r\nFrom: Bob <bob@lab.test>\r\nTo: Alice <alice@lab.test>\r\nSubject: ${subject}\r\n` +
    `Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <bench.${i}@lab.test>\r\n\r\n`;
  return Buffer.from(head + 'line of text, the quick brown fox jumps over the lazy dog\r\n'.repeat(70), 'latin1');
}

/** Writes a Maildir directly (as if delivered earlier): new/ files with Dovecot-style names. */
function makeMaildir(root: string, n: number, make: (i: number) => Buffer = message): void {
  const dir = join(root, 'alice');
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  const t = 1_700_000_000;
  for (let i = 1; i <= n; i++) {
    const data = make(i);
    writeFileSync(join(dir, 'new', `${t + i}.M${i}P1Q${i}.bench,S=${data.length}`), data);
  }
}

/**
 * Runs `fn`, measuring wall time, this process's CPU time (steadier than wall time on a busy machine)
 * and the longest event-loop stall (a 1 ms timer probe).
 */
async function measure(fn: () => Promise<unknown>): Promise<Sample> {
  let last = performance.now();
  let stall = 0;
  let running = true;
  const probe = (): void => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
    if (running) setTimeout(probe, 1);
  };
  setTimeout(probe, 1);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  running = false;
  stall = Math.max(stall, performance.now() - last);
  await new Promise((r) => setTimeout(r, 5));
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, stallMs: stall };
}

interface Sample {
  ms: number;
  cpuMs: number;
  stallMs: number;
}
type Row = Record<string, Sample[]>;

async function oneRun(rows: Row): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'labnet-bench-store-'));
  const add = (name: string, r: Sample): void => {
    (rows[name] ??= []).push(r);
  };
  try {
    makeMaildir(root, MESSAGES);
    // Speed, not quotas: the folder is copied whole, which takes 20,000 messages.
    const options = { root, quota: { maxBytes: 0, maxMessages: 0 } };
    let store = new MailStore(options);
    add('start, no index (scan every message)', await measure(() => store.start()));
    add('index write at stop', await measure(() => store.stop()));
    store = new MailStore(options);
    add('start with index', await measure(() => store.start()));
    const all = (await store.open('alice', 'INBOX')).messages.map((m) => m.uid);
    add('STORE +FLAGS \\Seen on all', await measure(() => store.updateFlags('alice', 'INBOX', all, 'add', ['\\Seen'])));
    add('STORE +FLAGS $label1 on all (new keyword)', await measure(() => store.updateFlags('alice', 'INBOX', all, 'add', ['$label1'])));
    await store.createFolder('alice', 'Archive');
    add('COPY all to Archive', await measure(() => store.copy('alice', 'INBOX', all, 'Archive')));
    add('APPEND one (10,000 in folder)', await measure(() => store.append('alice', 'INBOX', message(0))));
    const hundred = all.slice(0, 100);
    add(
      'EXPUNGE one uid, 100 calls in a row',
      await measure(async () => {
        for (const u of hundred) await store.expunge('alice', 'INBOX', [u]);
      }),
    );
    add(
      'deliver 500 (20 at a time)',
      await measure(async () => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 20 }, async () => {
            while (next < 500) await store.deliver(message(100_000 + next++), [{ user: 'alice' }]);
          }),
        );
      }),
    );
    const rest = (await store.open('alice', 'INBOX')).messages.map((m) => m.uid);
    await store.updateFlags('alice', 'INBOX', rest, 'add', ['\\Deleted']);
    add('EXPUNGE all (\\Deleted)', await measure(() => store.expunge('alice', 'INBOX')));
    add('stop', await measure(() => store.stop()));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function heapAttack(): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'labnet-bench-store-heap-'));
  try {
    makeMaildir(root, 300, (i) => message(i, `${'x'.repeat(200 * 1024)} ${i}`));
    // The first start writes the index; only the second (a restart) is measured.
    await (async () => {
      const first = new MailStore({ root });
      await first.start();
      await first.stop();
    })();
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    const store = new MailStore({ root });
    await store.start();
    global.gc?.();
    const after = process.memoryUsage().heapUsed;
    await store.stop();
    return (after - before) / 1024 / 1024;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `mail store bench: ${MESSAGES} messages of ${message(1).length} octets, ${RUNS} runs (medians: wall ms, CPU ms of this process, longest event-loop stall ms)`,
  );
  const rows: Row = {};
  for (let r = 0; r < RUNS; r++) await oneRun(rows);
  for (const [name, rs] of Object.entries(rows)) {
    const ms = median(rs.map((r) => r.ms));
    const cpu = median(rs.map((r) => r.cpuMs));
    const stall = median(rs.map((r) => r.stallMs));
    console.log(`  ${name.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms   cpu ${cpu.toFixed(0).padStart(6)} ms   stall ${stall.toFixed(0).padStart(5)} ms`);
  }
  const heap = await heapAttack();
  console.log(
    `  heap after a restart, 300 messages with a 200 KB Subject: ${heap.toFixed(1)} MB${global.gc ? '' : ' (run with --expose-gc for a steadier figure)'}`,
  );
}

await main();

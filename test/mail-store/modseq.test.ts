// Mod-sequences (RFC 7162) in the mail store: bumped by every change, kept in the index, never
// smaller after a restart or a crash, expunges remembered (bounded) for QRESYNC's VANISHED (EARLIER).
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailStore, type MailStoreOptions } from '../../core/mail-store/index.js';

function freshRoot(): string {
  return mkdtempSync(join(tmpdir(), 'labnet-modseq-'));
}

async function started(root: string, options: Partial<MailStoreOptions> = {}): Promise<MailStore> {
  const s = new MailStore({ root, quota: { maxBytes: 0, maxMessages: 0 }, ...options });
  await s.start();
  return s;
}

const msg = (n: number): Buffer => Buffer.from(`From: a@x.test\r\nSubject: message ${n}\r\n\r\nbody ${n}\r\n`);

test('every change gets a new mod-sequence: append, flag change, expunge; one per operation', async (t) => {
  const s = await started(freshRoot());
  const f = await s.openFolder('alice', 'INBOX');
  const start = f.highestModseq;
  t.true(start >= 1);
  for (let i = 1; i <= 5; i++) await s.append('alice', 'INBOX', msg(i));
  let snap = await s.open('alice', 'INBOX');
  t.deepEqual(
    snap.messages.map((m) => m.modseq),
    [1, 2, 3, 4, 5].map((i) => start + i),
  );
  t.is(f.highestModseq, start + 5);
  // One STORE of several messages: one mod-sequence shared by the changed ones.
  await s.updateFlags('alice', 'INBOX', [2, 3], 'add', ['\\Seen']);
  snap = await s.open('alice', 'INBOX');
  t.deepEqual(
    snap.messages.map((m) => m.modseq),
    [start + 1, start + 6, start + 6, start + 4, start + 5],
  );
  // A STORE that changes nothing leaves everything as it was.
  await s.updateFlags('alice', 'INBOX', [2], 'add', ['\\Seen']);
  t.is(f.highestModseq, start + 6);
  await s.expunge('alice', 'INBOX', [4, 1]);
  t.is(f.highestModseq, start + 7);
  t.deepEqual(f.expungedSince(start + 6), { uids: [1, 4], complete: true });
  t.deepEqual(f.expungedSince(start + 7), { uids: [], complete: true });
  t.is((await s.status('alice', 'INBOX')).highestModseq, start + 7);
  await s.stop();
});

test('a clean restart keeps every mod-sequence and HIGHESTMODSEQ; the expunge history survives it', async (t) => {
  const root = freshRoot();
  let s = await started(root);
  for (let i = 1; i <= 4; i++) await s.append('alice', 'INBOX', msg(i));
  await s.updateFlags('alice', 'INBOX', [3], 'add', ['$Work']);
  await s.expunge('alice', 'INBOX', [2]);
  const before = await s.open('alice', 'INBOX');
  const highest = (await s.openFolder('alice', 'INBOX')).highestModseq;
  await s.stop();
  s = await started(root);
  t.deepEqual(await s.open('alice', 'INBOX'), before);
  const f = await s.openFolder('alice', 'INBOX');
  t.is(f.highestModseq, highest);
  t.deepEqual(f.expungedSince(highest - 1), { uids: [2], complete: true });
  await s.updateFlags('alice', 'INBOX', [1], 'add', ['\\Flagged']);
  t.is(f.highestModseq, highest + 1);
  await s.stop();
});

test('after a crash (no stop, index saves lost) nothing a client saw comes back smaller, and what changed is found', async (t) => {
  const root = freshRoot();
  // Index saves happen (delay 0) for the first part only.
  let s = await started(root, { indexSaveDelayMs: 0 });
  for (let i = 1; i <= 6; i++) await s.append('alice', 'INBOX', msg(i));
  await s.stop();
  // The "crashing" process: its index save never comes (1 h delay), and it is never stopped.
  s = await started(root, { indexSaveDelayMs: 3_600_000 });
  const f = await s.openFolder('alice', 'INBOX');
  await s.updateFlags('alice', 'INBOX', [2], 'add', ['\\Seen']);
  await s.expunge('alice', 'INBOX', [5]);
  await s.append('alice', 'INBOX', msg(7));
  await s.expunge('alice', 'INBOX', [7]); // appended and expunged after the last index save
  const seen = f.highestModseq;
  const t2 = await started(root);
  const g = await t2.openFolder('alice', 'INBOX');
  t.true(g.highestModseq > seen, `HIGHESTMODSEQ ${g.highestModseq} > ${seen}`);
  const snap = await t2.open('alice', 'INBOX');
  t.deepEqual(
    snap.messages.map((m) => m.uid),
    [1, 2, 3, 4, 6],
  );
  // The flag change the lost index missed is reported as a change after anything the client saw.
  t.true(snap.messages.find((m) => m.uid === 2)!.modseq > seen);
  t.true(snap.messages.filter((m) => m.uid !== 2).every((m) => m.modseq <= seen));
  // The expunges the lost index missed are in the history, after anything the client saw.
  t.deepEqual(g.expungedSince(seen), { uids: [5, 7], complete: true });
  await t2.stop();
});

test('an index of version 2 (before mod-sequences) loads: every message starts at mod-sequence 1', async (t) => {
  const root = freshRoot();
  let s = await started(root);
  for (let i = 1; i <= 3; i++) await s.append('alice', 'INBOX', msg(i));
  await s.stop();
  const path = join(root, 'alice', 'labnet-index.json');
  const [head, ...rows] = readFileSync(path, 'utf8').trimEnd().split('\n');
  const h = JSON.parse(head) as { uidValidity: number; count: number };
  const v2 = [
    JSON.stringify({ v: 2, uidValidity: h.uidValidity, count: h.count }),
    ...rows.map((r) => JSON.stringify((JSON.parse(r) as unknown[]).slice(0, 7))),
  ];
  writeFileSync(path, v2.join('\n') + '\n');
  writeFileSync(join(root, 'alice', 'labnet-modseq'), ''); // as before mod-sequences: no reservation
  s = await started(root);
  const snap = await s.open('alice', 'INBOX');
  t.deepEqual(
    snap.messages.map((m) => [m.uid, m.modseq]),
    [
      [1, 1],
      [2, 1],
      [3, 1],
    ],
  );
  const f = await s.openFolder('alice', 'INBOX');
  t.is(f.highestModseq, 1);
  await s.updateFlags('alice', 'INBOX', [1], 'add', ['\\Seen']);
  t.is((await s.open('alice', 'INBOX')).messages[0].modseq, 2);
  await s.stop();
  t.like(JSON.parse(readFileSync(path, 'utf8').split('\n')[0]), { v: 3, highestModseq: 2 });
});

test('the expunge history is bounded; beyond it the store says the answer is incomplete', async (t) => {
  const s = await started(freshRoot(), { expungeHistory: 4 });
  for (let i = 1; i <= 10; i++) await s.append('alice', 'INBOX', msg(i));
  const f = await s.openFolder('alice', 'INBOX');
  const base = f.highestModseq;
  for (let uid = 1; uid <= 6; uid++) await s.expunge('alice', 'INBOX', [uid]);
  // Six expunges, four remembered: those of UIDs 3-6.
  t.deepEqual(f.expungedSince(base + 2), { uids: [3, 4, 5, 6], complete: true });
  t.is(f.expungedSince(base + 1).complete, false);
  t.is(f.expungedSince(0).complete, false);
  t.deepEqual(f.expungedSince(base + 5), { uids: [6], complete: true });
  await s.stop();
});
